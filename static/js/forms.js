// Behaviours declared in data-* attributes, so that pages need no inline script or on* attribute (the
// Content-Security-Policy refuses both).
//   <form data-confirm="Adjust {points_change} points?">  asks before submitting; {name} is the value of the
//     form's field `name`; data-confirm-blank is asked instead when one of those fields is empty.
//   <select data-autosubmit>  submits its form when changed.
//   <button data-print>  prints the page.
(function () {
  function question(form) {
    var blank = false;
    var text = form.dataset.confirm.replace(/\{(\w+)\}/g, function (_, name) {
      var field = form.elements[name];
      var value = field ? field.value.trim() : "";
      if (!value) blank = true;
      return value;
    });
    return blank && form.dataset.confirmBlank ? form.dataset.confirmBlank : text;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm !== undefined && !window.confirm(question(form))) event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.dataset && field.dataset.autosubmit !== undefined && field.form) field.form.requestSubmit();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
})();
