// The points rules of the database (loyalty/sql/loyalty_points_for.sql, loyalty_sale_points.sql,
// loyalty_redemption_discount.sql, loyalty_redemption_limit.sql), for the pages' previews. The database
// decides; this copy only shows what it will decide, and loyalty/tests/test_rules_js.py checks that the two
// agree. Numbers are exact decimals, as PostgreSQL's numeric: a BigInt of units and a scale
// (12.50 is 1250n at scale 2), never floats, so 0.1 x 3 is 0.3 and a half rounds away from zero.
// Money and rates are given as decimal strings ("12.50", "0.0125") or numbers; points as integers.
// In the browser: window.LoyaltyRules; under node: require("static/js/rules.js").
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.LoyaltyRules = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var INT_MAX = BigInt(2147483647), INT_MIN = BigInt(-2147483648);
  var DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

  function pow10(n) { return BigInt("1" + "0".repeat(n)); }

  // "12.50" -> {units: 1250n, scale: 2}; null for anything that is not a decimal number
  function parse(value) {
    if (typeof value === "bigint") return { units: value, scale: 0 };
    if (typeof value === "number") { if (!isFinite(value)) return null; value = String(value); }
    if (typeof value !== "string") return null;
    var match = DECIMAL.exec(value);
    if (!match || !(match[2] || match[3])) return null;
    var fraction = match[3] || "", units = BigInt((match[2] || "0") + fraction), scale = fraction.length;
    var exponent = match[4] ? parseInt(match[4], 10) : 0;
    if (exponent > 0) { if (exponent > scale) { units *= pow10(exponent - scale); scale = 0; } else scale -= exponent; }
    else scale -= exponent;
    return { units: match[1] === "-" ? -units : units, scale: scale };
  }
  function required(value, name) {
    var number = parse(value);
    if (number === null) throw new TypeError(name + " is not a decimal number: " + value);
    return number;
  }
  function optional(value, name) { return value === null || value === undefined || value === "" ? null : required(value, name); }
  function integer(value, name) {
    var number = required(value, name);
    if (number.scale > 0 && number.units % pow10(number.scale) !== BigInt(0)) throw new TypeError(name + " is not a whole number: " + value);
    return atScale(number, 0).units;
  }

  function atScale(number, scale) {  // the same number with more digits after the point (or fewer, exactly)
    if (scale >= number.scale) return { units: number.units * pow10(scale - number.scale), scale: scale };
    return { units: number.units / pow10(number.scale - scale), scale: scale };
  }
  function times(a, b) { return { units: a.units * b.units, scale: a.scale + b.scale }; }
  function minus(a, b) {
    var scale = Math.max(a.scale, b.scale);
    return { units: atScale(a, scale).units - atScale(b, scale).units, scale: scale };
  }
  function cmp(a, b) {
    var scale = Math.max(a.scale, b.scale), x = atScale(a, scale).units, y = atScale(b, scale).units;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function floor(number) {  // floor(x) as a BigInt
    if (number.scale <= 0) return atScale(number, 0).units;
    var unit = pow10(number.scale), whole = number.units / unit;  // BigInt division truncates toward zero
    return number.units < BigInt(0) && whole * unit !== number.units ? whole - BigInt(1) : whole;
  }
  function round(number, places) {  // numeric round(x, places): half away from zero
    if (number.scale <= places) return atScale(number, places);
    var unit = pow10(number.scale - places), negative = number.units < BigInt(0);
    var size = negative ? -number.units : number.units, whole = size / unit;
    if ((size % unit) * BigInt(2) >= unit) whole += BigInt(1);
    return { units: negative ? -whole : whole, scale: places };
  }
  function text(number) {  // as PostgreSQL prints a numeric: every digit of the scale
    var negative = number.units < BigInt(0), digits = (negative ? -number.units : number.units).toString();
    if (number.scale > 0) {
      digits = digits.padStart(number.scale + 1, "0");
      digits = digits.slice(0, -number.scale) + "." + digits.slice(-number.scale);
    }
    return (negative ? "-" : "") + digits;
  }

  // loyalty_points_for(program, amount, multiplier): the points a purchase of `amount` earns at a tier's
  // `multiplier` (1 when null); 0 without a program, with an inactive one, or below the minimum spend.
  // Like the database, it refuses (RangeError) a purchase earning more points than an integer holds.
  function pointsFor(program, amount, multiplier) {
    if (!program || program.is_active === false) return 0;
    var paid = required(amount, "amount"), minimum = optional(program.min_spend_amount, "min_spend_amount");
    if (minimum !== null && cmp(paid, minimum) < 0) return 0;
    var exact = times(times(paid, required(program.points_per_dollar, "points_per_dollar")),
      multiplier === null || multiplier === undefined ? { units: BigInt(1), scale: 0 } : required(multiplier, "multiplier"));
    var points = program.rounding === "nearest" ? round(exact, 0).units : floor(exact);
    var cap = optional(program.max_points_per_transaction, "max_points_per_transaction");
    if (cap !== null) { cap = floor(cap); if (cap < points) points = cap; }
    if (points > INT_MAX) throw new RangeError("a purchase of " + text(paid) + " earns more points than an account can hold");
    if (points < INT_MIN) throw new RangeError("integer out of range");
    return Number(points);
  }

  // loyalty_sale_points(program, amount, discount, multiplier): the points of a sale of `amount` of which
  // points paid `discount`: earned on the whole bill if the program earns on the total, else on the rest.
  function salePoints(program, amount, discount, multiplier) {
    if (!program) return 0;
    var base = program.earn_on_total ? amount : text(minus(required(amount, "amount"), required(discount, "discount")));
    return pointsFor(program, base, multiplier);
  }

  // loyalty_redemption_discount(program, points): what `points` pay, points x point_value rounded to the cent,
  // as a decimal string ("1.50").
  function redemptionDiscount(program, points) {
    var worth = times({ units: integer(points, "points"), scale: 0 }, required(program.point_value, "point_value"));
    return text(round(worth, 2));
  }

  // loyalty_redemption_limit(program, amount): the most points may pay of a bill of `amount`, its
  // max_redemption_percent rounded down to the cent, as a decimal string ("11.75").
  function redemptionLimit(program, amount) {
    var cents = floor(times(required(amount, "amount"), required(program.max_redemption_percent, "max_redemption_percent")));
    return text({ units: cents, scale: 2 });
  }

  return {
    pointsFor: pointsFor,
    salePoints: salePoints,
    redemptionDiscount: redemptionDiscount,
    redemptionLimit: redemptionLimit,
    // exact decimal helpers for the pages, on decimal strings
    isDecimal: function (value) { return parse(value) !== null; },
    compare: function (a, b) { return cmp(required(a, "a"), required(b, "b")); },
    subtract: function (a, b) { return text(minus(required(a, "a"), required(b, "b"))); },
    toFixed: function (value, places) { return text(round(required(value, "value"), places)); },
  };
});
