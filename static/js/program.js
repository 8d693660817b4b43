// The live example of the program form, by the database's rules as rules.js copies them (loyalty_points_for,
// loyalty_sale_points, loyalty_redemption_discount, loyalty_redemption_limit): what the example purchase
// earns, at each of the program's tiers, and when points pay part of it.
(function () {
  var form = document.getElementById("program-form");
  if (!form) return;
  var rules = window.LoyaltyRules;
  var amountInput = document.getElementById("example-amount");
  var tiers = JSON.parse(form.dataset.tiers || "[]");
  function text(name) { var el = form.elements[name]; return el ? el.value.trim() : ""; }
  function decimal(name) { var value = text(name); return rules.isDecimal(value) ? value : null; }
  function plain(value) { return rules.toFixed(value, 2).replace(/\.?0+$/, ""); }  // "50.00" -> "50"
  function plural(points) { return points + " point" + (points === 1 ? "" : "s"); }
  function points(program, amount, discount, multiplier) {
    try { return plural(rules.salePoints(program, amount, discount, multiplier)); }
    catch (error) { return "more points than an account can hold"; }
  }
  function update() {
    var amount = amountInput.value.trim(), rate = decimal("points_per_dollar");
    var earn = document.getElementById("example-earn"), redeem = document.getElementById("example-redeem");
    var atTiers = document.getElementById("example-tiers"), sale = document.getElementById("example-sale");
    if (!rules.isDecimal(amount) || rate === null || rules.compare(amount, "0") < 0 || rules.compare(rate, "0") < 0) {
      earn.textContent = "Enter an amount and points per unit.";
      if (atTiers) atTiers.textContent = "";
      if (sale) sale.textContent = "";
      return;
    }
    var cap = text("max_points_per_transaction"), earnOnTotal = form.elements.earn_on_total;
    var program = {
      points_per_dollar: rate,
      min_spend_amount: decimal("min_spend_amount") || "0",
      rounding: text("rounding"),
      max_points_per_transaction: /^\d+$/.test(cap) && parseInt(cap, 10) > 0 ? cap : null,
      earn_on_total: earnOnTotal ? earnOnTotal.checked : false,
      point_value: decimal("point_value"),
      max_redemption_percent: decimal("max_redemption_percent"),
    };
    var below = rules.compare(amount, program.min_spend_amount) < 0;
    earn.textContent = "A purchase of " + rules.toFixed(amount, 2) + " earns " + points(program, amount, "0", 1) +
      (below ? " (below the minimum spend of " + rules.toFixed(program.min_spend_amount, 2) + ")." : ".");
    if (atTiers) {
      atTiers.textContent = tiers.length ? "At each tier: " + tiers.map(function (tier) {
        return tier.name + " (×" + rules.toFixed(tier.multiplier, 2) + ") " + points(program, amount, "0", tier.multiplier);
      }).join(", ") + "." : "";
    }
    var need = text("min_redemption_points"), share = program.max_redemption_percent;
    if (program.point_value !== null && /^\d+$/.test(need) && share !== null) {
      var worth = rules.redemptionDiscount(program, need);
      redeem.textContent = "Redeeming needs at least " + need + " points; " + need + " points are worth " +
        worth + " " + form.dataset.currency + "; points pay at most " + plain(share) + "% of a bill.";
      // the example purchase with the fewest points a redemption takes: what it earns, on the total or on the rest
      var allowed = parseInt(need, 10) > 0 && rules.compare(worth, rules.redemptionLimit(program, amount)) <= 0;
      if (sale) {
        sale.textContent = allowed ? "If " + need + " points pay " + worth + " of it, it earns " +
          points(program, amount, worth, 1) + (program.earn_on_total ? " (on the whole bill)." :
          " (on the " + rules.toFixed(rules.subtract(amount, worth), 2) + " paid).") : "";
      }
    }
  }
  form.addEventListener("input", update);
  amountInput.addEventListener("input", update);
  update();
})();
