// Draw every <div data-chart="ID"> from the Plotly figure JSON in <script type="application/json" id="ID">.
document.querySelectorAll("[data-chart]").forEach(function (element) {
  var source = document.getElementById(element.dataset.chart);
  if (!source) return;
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displayModeBar: false });
});
// A column can change width after drawing without the window resizing (the admin's sidebar opens): fit again.
window.addEventListener("load", function () {
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    if (element.data) Plotly.Plots.resize(element);
  });
});
