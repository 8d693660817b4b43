// The live example of the program form: the same rule as the database's loyalty_points_for().
(function () {
  var form = document.getElementById("program-form");
  if (!form) return;
  var amountInput = document.getElementById("example-amount");
  function value(name) { var el = form.elements[name]; return el ? parseFloat(el.value) : NaN; }
  function update() {
    var amount = parseFloat(amountInput.value), rate = value("points_per_dollar"), minimum = value("min_spend_amount") || 0;
    var earn = document.getElementById("example-earn"), redeem = document.getElementById("example-redeem");
    if (isNaN(amount) || isNaN(rate) || amount < 0 || rate < 0) { earn.textContent = "Enter an amount and points per unit."; return; }
    var exact = Math.round(amount * rate * 1e6) / 1e6;  // decimal arithmetic as in the database
    var points = amount < minimum ? 0 : (form.elements.rounding.value === "nearest" ? Math.round(exact) : Math.floor(exact));
    var cap = value("max_points_per_transaction");
    if (!isNaN(cap) && cap > 0) points = Math.min(points, cap);
    earn.textContent = "A purchase of " + amount.toFixed(2) + " earns " + points + " point" + (points === 1 ? "" : "s") +
      (amount < minimum ? " (below the minimum spend of " + minimum.toFixed(2) + ")." : ".");
    var worth = value("point_value"), need = value("min_redemption_points"), share = value("max_redemption_percent");
    if (!isNaN(worth) && !isNaN(need) && !isNaN(share)) {
      redeem.textContent = "Redeeming needs at least " + need + " points; " + need + " points are worth " +
        (need * worth).toFixed(2) + " " + form.dataset.currency + "; points pay at most " + share + "% of a bill.";
    }
  }
  form.addEventListener("input", update);
  amountInput.addEventListener("input", update);
  update();
})();
