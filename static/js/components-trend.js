/* A workflow's page: the size of its app's largest components, run after run. */
(function () {
  "use strict";
  var node = document.getElementById("components-trend-data");
  if (!node) { return; }
  var trend = JSON.parse(node.textContent);
  var charts = window.ArtifactCharts;
  charts.create("chart-components", {
    type: "line",
    data: {
      labels: trend.runs.map(function (number) { return "#" + number; }),
      datasets: trend.series.map(function (series, index) {
        return {
          label: series.name,
          data: series.bytes,
          borderColor: charts.lineColour(index),
          backgroundColor: charts.lineColour(index),
          pointRadius: 2,
          tension: 0
        };
      })
    },
    options: Object.assign(charts.baseOptions(), {
      scales: { y: charts.bytesAxis(false) },
      plugins: {
        tooltip: {
          callbacks: {
            label: function (item) { return item.dataset.label + ": " + charts.formatBytes(item.raw); }
          }
        }
      }
    })
  });
})();
