/* Shared chart helpers: sizes in human units, one colour per file type, common options. */
(function () {
  "use strict";

  var UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];
  var TYPE_COLOURS = {
    ARCHIVE: "#0a5fd3",
    ARCHIVE_EXPORT: "#2e9d5b",
    LOG_BUNDLE: "#8a8f98",
    RESULT_BUNDLE: "#e08a00",
    TEST_PRODUCTS: "#8e44ad",
    XCODEBUILD_PRODUCTS: "#c0392b",
    STAPLED_NOTARIZED_ARCHIVE: "#16a2b8"
  };
  var EXTRA = ["#6c5ce7", "#d35400", "#27ae60", "#7f8c8d", "#e84393", "#2d3436"];

  // Decimal multiples, like the tables beside the charts (and Finder, and App Store Connect).
  function formatBytes(value) {
    if (value === null || value === undefined) { return "—"; }
    var size = Math.abs(value);
    var unit = 0;
    while (size >= 1000 && unit < UNITS.length - 1) { size /= 1000; unit += 1; }
    var text = unit === 0 ? String(Math.round(size)) + " B" : size.toFixed(1) + " " + UNITS[unit];
    return (value < 0 ? "−" : "") + text;
  }

  function typeColour(fileType, index) {
    return TYPE_COLOURS[fileType] || EXTRA[index % EXTRA.length];
  }

  function lineColour(index) {
    var palette = ["#0a5fd3", "#2e9d5b", "#e08a00", "#8e44ad", "#c0392b", "#16a2b8",
      "#6c5ce7", "#d35400", "#7f8c8d", "#e84393"];
    return palette[index % palette.length];
  }

  function readData() {
    var node = document.getElementById("chart-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function bytesAxis(stacked) {
    return {
      stacked: stacked,
      beginAtZero: true,
      ticks: { callback: function (value) { return formatBytes(value); } }
    };
  }

  function baseOptions() {
    return {
      responsive: true,
      maintainAspectRatio: false,
      // Drawn at once: no motion for people who asked for less, and a stable picture.
      animation: false,
      interaction: { mode: "index", intersect: false }
    };
  }

  function create(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || typeof Chart === "undefined") { return null; }
    return new Chart(canvas, config);
  }

  window.ArtifactCharts = {
    formatBytes: formatBytes,
    typeColour: typeColour,
    lineColour: lineColour,
    readData: readData,
    bytesAxis: bytesAxis,
    baseOptions: baseOptions,
    create: create
  };
})();
