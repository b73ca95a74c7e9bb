/* Compute usage: estimated hours per month, stacked by workflow, with the plan as a line. */
(function () {
  "use strict";
  var AC = window.ArtifactCharts;
  var data = AC.readData();
  if (!data || !data.months.length) { return; }
  var labels = data.months.map(function (month) { return month.slice(0, 7); });
  var datasets = data.workflows.map(function (workflow, index) {
    return {
      type: "bar",
      label: workflow.name,
      data: workflow.hours,
      backgroundColor: AC.lineColour(index),
      stack: "usage"
    };
  });
  datasets.push({
    type: "line",
    label: "Plan (" + data.plan_hours + " h)",
    data: labels.map(function () { return data.plan_hours; }),
    borderColor: "#c0392b",
    borderDash: [6, 4],
    pointRadius: 0
  });
  var options = AC.baseOptions();
  options.scales = {
    x: { stacked: true },
    y: { stacked: true, beginAtZero: true, title: { display: true, text: "hours" } }
  };
  AC.create("chart-usage", { data: { labels: labels, datasets: datasets }, options: options });
})();
