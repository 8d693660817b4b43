// The counter page: read a QR code from the camera (jsQR) or the keyboard, ask the server who it is,
// then show the checkout form. Works without any network beyond our own server.
(function () {
  var counter = document.getElementById("counter");
  if (!counter) return;
  var video = document.getElementById("camera"), canvas = document.getElementById("frame");
  var status = document.getElementById("camera-status"), scanError = document.getElementById("scan-error");
  var form = document.getElementById("checkout-form");
  var rules = JSON.parse(document.getElementById("rules").textContent || "null");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var scanning = false, busy = false, stream = null, rejected = null;

  function say(message) { status.textContent = message; }
  function fail(message) { scanError.textContent = message; scanError.hidden = false; }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("No camera here: type the customer's code below."); return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (s) {
        stream = s; video.srcObject = s; video.play();
        scanning = true; say("Point the camera at the customer's QR code.");
        requestAnimationFrame(tick);
      })
      .catch(function () { say("The camera is not available: type the customer's code below."); document.getElementById("manual-code").focus(); });
  }

  var lastFrame = 0;
  function tick(now) {
    if (!scanning) return;
    if (now - lastFrame > 120 && video.readyState === video.HAVE_ENOUGH_DATA && !busy) {
      lastFrame = now;
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      var context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (code && code.data && code.data !== rejected) resolve(code.data);  // a refused code is not sent again
    }
    requestAnimationFrame(tick);
  }

  // a scanned or typed code, or a phone number (the member it finds is confirmed by name before the sale)
  function resolve(text) { lookup(counter.dataset.resolveUrl, { code: text }, text); }

  function lookup(url, params, text) {
    busy = true; scanError.hidden = true; say("Looking up " + text.slice(0, 20) + "…");
    fetch(url, { method: "POST", body: new URLSearchParams(params), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (result.ok) { show(result.customer, result.scan, result.confirm); return; }
        fail(result.message);
        rejected = text;
        if (result.result === "rate_limited") { stopCamera(); say("Scanning is paused."); return; }
        say("Point the camera at the customer's QR code.");
        busy = false;
      })
      .catch(function () { fail("The server did not answer: try again."); busy = false; });
  }

  function stopCamera() {
    scanning = false;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
  }

  function show(customer, scan, confirm) {
    stopCamera();
    var ask = document.getElementById("confirm-customer");
    ask.hidden = !confirm;
    document.getElementById("checkout-fields").disabled = !!confirm;
    document.getElementById("confirm-name").textContent = customer.name;
    form.elements.scan.value = scan;
    document.getElementById("scanner").hidden = true;
    document.getElementById("checkout").hidden = false;
    form.elements.customer.value = customer.id;
    document.getElementById("customer-name").textContent = customer.name;
    document.getElementById("customer-code").textContent = customer.code;
    document.getElementById("customer-points").textContent = customer.points;
    document.getElementById("customer-status").textContent = customer.status;
    const tier = document.getElementById("customer-tier");
    tier.textContent = customer.tier;
    tier.hidden = !customer.tier;
    document.getElementById("customer-last-visit").textContent = customer.last_visit;
    form.dataset.points = customer.points;
    if (confirm) document.getElementById("confirm-yes").focus(); else form.elements.amount.focus();
    preview();
  }

  document.getElementById("confirm-yes").addEventListener("click", function () {
    document.getElementById("confirm-customer").hidden = true;
    document.getElementById("checkout-fields").disabled = false;
    form.elements.amount.focus();
  });

  document.getElementById("manual").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = document.getElementById("manual-code").value.trim();
    if (code) { rejected = null; resolve(code); }
  });

  document.getElementById("phone-lookup").addEventListener("submit", function (event) {
    event.preventDefault();
    var phone = document.getElementById("phone").value.trim();
    if (phone) { rejected = null; lookup(this.dataset.url, { phone: phone }, phone); }
  });

  // line items: the amount is their total when there are any
  var rows = document.getElementById("item-rows"), total = form.elements["items-TOTAL_FORMS"];
  function itemsTotal() {
    var sum = 0, any = false;
    rows.querySelectorAll(".item-row").forEach(function (row) {
      var qty = parseInt(row.querySelector(".item-qty").value, 10), price = parseFloat(row.querySelector(".item-price").value);
      if (!isNaN(qty) && !isNaN(price)) { sum += Math.round(qty * price * 100); any = true; }
    });
    if (any) { form.elements.amount.value = (sum / 100).toFixed(2); }
    else if (form.elements.amount.readOnly) { form.elements.amount.value = ""; }  // the last item went
    form.elements.amount.readOnly = rows.children.length > 0;
    preview();
  }
  function renumber() {
    rows.querySelectorAll(".item-row").forEach(function (row, index) {
      row.querySelectorAll("input").forEach(function (input) { input.name = input.name.replace(/items-(\d+|__prefix__)-/, "items-" + index + "-"); });
    });
    total.value = rows.children.length;
  }
  document.getElementById("add-item").addEventListener("click", function () {
    rows.appendChild(document.getElementById("item-template").content.firstElementChild.cloneNode(true));
    renumber(); itemsTotal();
    rows.lastElementChild.querySelector("input").focus();
  });
  rows.addEventListener("click", function (event) {
    if (event.target.closest(".remove-item")) { event.target.closest(".item-row").remove(); renumber(); itemsTotal(); }
  });
  rows.addEventListener("input", itemsTotal);

  // what the points to redeem pay, by the program's rules as rules.js copies them from the database's
  // loyalty_redemption_discount and loyalty_redemption_limit (the database checks them again)
  function preview() {
    var box = document.getElementById("redeem-preview");
    if (!box || !rules) return;
    var points = parseInt(form.elements.points_to_redeem.value || "0", 10), amount = form.elements.amount.value.trim();
    var balance = parseInt(form.dataset.points || "0", 10);
    if (!points) { box.textContent = balance >= rules.min_points ? "Up to " + balance + " points can pay part of the bill." : ""; box.className = "col-6 small pt-4 text-secondary"; return; }
    // exact decimals, as the database counts: a discount of points x value, at most a share of the bill
    var program = { point_value: rules.point_value, max_redemption_percent: rules.max_percent };
    var known = LoyaltyRules.isDecimal(amount), discount = LoyaltyRules.redemptionDiscount(program, points);
    var most = known ? LoyaltyRules.redemptionLimit(program, amount) : "0.00";
    var problem = points > balance ? "The customer has " + balance + " points." :
      points < rules.min_points ? "At least " + rules.min_points + " points." :
      (known && LoyaltyRules.compare(discount, most) > 0) ? "Points pay at most " + rules.max_percent + "% of the bill (" + most + ")." : "";
    box.className = "col-6 small pt-4 " + (problem ? "text-danger" : "text-success");
    box.textContent = problem || (discount + " " + rules.currency + " off: the customer pays " + (known ? LoyaltyRules.toFixed(LoyaltyRules.subtract(amount, discount), 2) : "—") + ".");
  }
  form.addEventListener("input", preview);

  form.addEventListener("submit", function () {
    var button = document.getElementById("complete");
    setTimeout(function () { button.disabled = true; button.textContent = "Completing…"; }, 0);
  });

  if (!form.elements.customer.value) startCamera(); else { form.dataset.points = document.getElementById("customer-points").textContent; preview(); }
})();
