// The card page: every minute, a new QR code and a new short code for the counter (card_live, as JSON).
// A failed refresh keeps what is shown; the next one tries again.
(function () {
  var box = document.getElementById("live-qr");
  if (!box) return;
  var code = document.getElementById("card-code");
  function refresh() {
    fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (live) {
        box.innerHTML = live.qr;  // our own SVG
        if (code && live.code) code.textContent = live.code;
      })
      .catch(function () {});
  }
  setInterval(refresh, box.dataset.refresh * 1000);
})();
