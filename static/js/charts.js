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

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    "Dec"];

  // A bucket's first day as people name the bucket: "Dec 2025" for a month, else the date;
  // a bucket the range covers only in part (or still under way) says so.
  function periodName(iso, data) {
    var name = iso;
    if (data.granularity === "month") {
      name = MONTHS[Number(iso.slice(5, 7)) - 1] + " " + iso.slice(0, 4);
    } else if (data.granularity === "week") {
      name = "week of " + iso;
    }
    return (data.partial || []).indexOf(iso) === -1 ? name : name + " (partial)";
  }

  // The x axis and tooltip titles of a chart over the data's periods.
  function periodAxis(data, stacked) {
    return {
      stacked: stacked,
      ticks: { callback: function (value) { return periodName(this.getLabelForValue(value), data); } }
    };
  }

  function periodTitle(data) {
    return function (items) { return items.length ? periodName(items[0].label, data) : ""; };
  }

  function isPartial(data, iso) {
    return (data.partial || []).indexOf(iso) !== -1;
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

  // "Archive: 250.0 MB" for a point of any chart whose y axis is bytes, under its period.
  function bytesTooltip(data) {
    return { callbacks: {
      title: periodTitle(data),
      label: function (ctx) { return ctx.dataset.label + ": " + formatBytes(ctx.parsed.y); }
    } };
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
    periodName: periodName,
    periodAxis: periodAxis,
    periodTitle: periodTitle,
    isPartial: isPartial,
    bytesAxis: bytesAxis,
    bytesTooltip: bytesTooltip,
    baseOptions: baseOptions,
    create: create
  };
})();
