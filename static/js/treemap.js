/* A run's page: its app's components as a treemap, grouped by kind (chartjs-chart-treemap). */
(function () {
  "use strict";
  var node = document.getElementById("treemap-data");
  if (!node || typeof Chart === "undefined") { return; }
  var components = JSON.parse(node.textContent).components;
  var charts = window.ArtifactCharts;
  var KINDS = ["framework", "executable", "assets", "plugin", "dsym", "watch", "app_clip",
    "localization", "other"];

  function kindOf(raw) {
    var data = raw && raw._data;
    return (data && (data.kind || (data.children && data.children[0] && data.children[0].kind))) || "other";
  }

  function colour(context) {
    var kind = kindOf(context.raw);
    var index = KINDS.indexOf(kind);
    return charts.lineColour(index < 0 ? KINDS.length : index) + (context.raw && context.raw.l === 0 ? "55" : "cc");
  }

  charts.create("chart-treemap", {
    type: "treemap",
    data: {
      datasets: [{
        label: "Components",
        tree: components,
        key: "uncompressed_bytes",
        groups: ["kind", "name"],
        spacing: 1,
        borderWidth: 1,
        borderColor: "#ffffff",
        backgroundColor: colour,
        captions: { display: true, color: "#1b1f24", font: { weight: "600" } },
        labels: {
          display: true,
          color: "#ffffff",
          overflow: "hidden",
          formatter: function (context) {
            var name = String(context.raw.g || "").split("/").pop();
            return [name, charts.formatBytes(context.raw.v)];
          }
        }
      }]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: function (items) { return items.length ? items[0].raw.g : ""; },
            label: function (item) { return charts.formatBytes(item.raw.v) + " uncompressed"; }
          }
        }
      }
    }
  });
})();
