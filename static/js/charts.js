/* Shared chart helpers: sizes in human units, one palette, common options and tooltips. */
(function () {
  "use strict";

  var UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];
  var PALETTE = ["#0a5fd3", "#2e9d5b", "#e08a00", "#8e44ad", "#c0392b", "#16a2b8",
    "#6c5ce7", "#d35400", "#7f8c8d", "#e84393"];
  // Apple's file types keep their colour whatever else is on the chart; logs stay grey.
  var TYPE_COLOURS = {
    ARCHIVE: PALETTE[0],
    ARCHIVE_EXPORT: PALETTE[1],
    LOG_BUNDLE: "#8a8f98",
    RESULT_BUNDLE: PALETTE[2],
    TEST_PRODUCTS: PALETTE[3],
    XCODEBUILD_PRODUCTS: PALETTE[4],
    STAPLED_NOTARIZED_ARCHIVE: PALETTE[5]
  };
  var SPARE = PALETTE.slice(6); // for file types Apple adds later

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
    return TYPE_COLOURS[fileType] || SPARE[index % SPARE.length];
  }

  function lineColour(index) {
    return PALETTE[index % PALETTE.length];
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

  // "Archive: 250.0 MB" for a point of any chart whose y axis is bytes.
  function bytesTooltip() {
    return { callbacks: { label: function (ctx) {
      return ctx.dataset.label + ": " + formatBytes(ctx.parsed.y);
    } } };
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
    bytesTooltip: bytesTooltip,
    baseOptions: baseOptions,
    create: create
  };
})();
