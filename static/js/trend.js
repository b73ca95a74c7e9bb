/* The per-workflow size trend: median (and, with data-show-max, largest) per period, with
   regressions marked; drawn on the page's #chart-trend canvas from its chart data. */
(function () {
  "use strict";
  var AC = window.ArtifactCharts;

  function draw(canvasId, data, showMax) {
    var trend = data.trend;
    if (!trend || !trend.workflows.length) { return null; }
    var datasets = [];
    trend.workflows.forEach(function (workflow, i) {
      var colour = AC.lineColour(i);
      datasets.push({
        type: "line",
        label: workflow.name + " (median)",
        data: workflow.median,
        borderColor: colour,
        backgroundColor: colour,
        spanGaps: true,
        pointRadius: 2,
        tension: 0.2
      });
      datasets.push({
        type: "line",
        label: workflow.name + " (largest)",
        data: workflow.max,
        borderColor: colour,
        backgroundColor: colour,
        borderDash: [4, 4],
        borderWidth: 1,
        pointRadius: 0,
        spanGaps: true,
        hidden: !showMax
      });
    });
    if (trend.regressions.length) {
      // A shape and colours no workflow line uses (a yellow triangle outlined in black), so
      // a regression stands out without telling colours apart.
      datasets.push({
        type: "line",
        label: "▲ Regression",
        data: trend.regressions.map(function (r) { return { x: r.period, y: r.bytes }; }),
        showLine: false,
        pointStyle: "triangle",
        pointRadius: 8,
        pointHoverRadius: 10,
        borderWidth: 2,
        borderColor: "#1d1f23",
        backgroundColor: "#ffd21f"
      });
    }
    var options = AC.baseOptions();
    options.scales = { x: AC.periodAxis(data, false), y: AC.bytesAxis(false) };
    options.plugins = {
      // The dashed "largest" lines are toggled from the workflow page only.
      legend: { labels: { filter: function (item) {
        return showMax || !/ \(largest\)$/.test(item.text);
      } } },
      tooltip: AC.bytesTooltip(data)
    };
    return AC.create(canvasId, {
      type: "line",
      data: { labels: trend.periods, datasets: datasets },
      options: options
    });
  }

  var canvas = document.getElementById("chart-trend");
  var data = AC.readData();
  if (canvas && data) { draw(canvas.id, data, canvas.hasAttribute("data-show-max")); }
})();
