/* A workflow's page: its size trend with the largest artifact per period shown too. */
(function () {
  "use strict";
  var data = window.ArtifactCharts.readData();
  if (data) { window.ArtifactTrend.draw("chart-trend", data.trend, true); }
})();
