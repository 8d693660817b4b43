// Draw every <div data-chart="ID"> from the Plotly figure JSON in <script id="ID">.
document.querySelectorAll("[data-chart]").forEach(function (element) {
  var source = document.getElementById(element.dataset.chart);
  if (!source) return;
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displayModeBar: false });
});
