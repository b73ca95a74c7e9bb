/* The dashboard: filter bar that keeps the view in the URL, and its four charts. */
(function () {
  "use strict";
  var AC = window.ArtifactCharts;

  function setUpFilters() {
    var form = document.getElementById("filters");
    if (!form) { return; }
    var preset = form.querySelector("[data-preset]");
    var start = form.querySelector("[name=start]");
    var end = form.querySelector("[name=end]");
    if (preset) {
      preset.addEventListener("change", function () {
        var option = preset.options[preset.selectedIndex];
        if (preset.value === "custom") { start.focus(); return; }
        start.value = option.getAttribute("data-start");
        end.value = option.getAttribute("data-end");
      });
    }
    [start, end].forEach(function (input) {
      input.addEventListener("change", function () {
        if (preset) { preset.value = "custom"; }
      });
    });
    // Nothing reloads until Apply: arrowing through a select with the keyboard must not
    // fetch a new page at every step.
    // Leave empty fields out of the URL so shared links stay short.
    form.addEventListener("formdata", function (event) {
      var empty = [];
      event.formData.forEach(function (value, key) { if (value === "") { empty.push(key); } });
      empty.forEach(function (key) {
        var kept = event.formData.getAll(key).filter(function (v) { return v !== ""; });
        event.formData.delete(key);
        kept.forEach(function (v) { event.formData.append(key, v); });
      });
    });
  }

  function byType(data, field) {
    var types = [];
    data.series.forEach(function (row) {
      if (types.indexOf(row.file_type) === -1) { types.push(row.file_type); }
    });
    types.sort();
    var index = {};
    data.periods.forEach(function (period, i) { index[period] = i; });
    return types.map(function (fileType, i) {
      var values = data.periods.map(function () { return 0; });
      data.series.forEach(function (row) {
        if (row.file_type === fileType && index[row.period] !== undefined) {
          values[index[row.period]] = row[field];
        }
      });
      return {
        label: (data.type_labels && data.type_labels[fileType]) || fileType || "(none)",
        data: values,
        backgroundColor: AC.typeColour(fileType, i),
        stack: "types"
      };
    });
  }

  function drawCharts(data) {
    var bytesOptions = AC.baseOptions();
    bytesOptions.scales = { x: { stacked: true }, y: AC.bytesAxis(true) };
    bytesOptions.plugins = { tooltip: { callbacks: { label: function (ctx) {
      return ctx.dataset.label + ": " + AC.formatBytes(ctx.parsed.y);
    } } } };
    AC.create("chart-bytes", {
      type: "bar",
      data: { labels: data.periods, datasets: byType(data, "bytes") },
      options: bytesOptions
    });

    var countOptions = AC.baseOptions();
    countOptions.scales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true } };
    AC.create("chart-count", {
      type: "bar",
      data: { labels: data.periods, datasets: byType(data, "count") },
      options: countOptions
    });

    var shareOptions = AC.baseOptions();
    delete shareOptions.interaction;
    shareOptions.plugins = { tooltip: { callbacks: { label: function (ctx) {
      var row = data.share[ctx.dataIndex];
      return row.label + ": " + AC.formatBytes(row.bytes) + " (" + (row.share * 100).toFixed(1) + "%)";
    } } } };
    AC.create("chart-share", {
      type: "doughnut",
      data: {
        labels: data.share.map(function (row) { return row.label; }),
        datasets: [{
          data: data.share.map(function (row) { return row.bytes; }),
          backgroundColor: data.share.map(function (row, i) { return AC.typeColour(row.file_type, i); })
        }]
      },
      options: shareOptions
    });

    window.ArtifactTrend.draw("chart-trend", data.trend, false);
  }

  setUpFilters();
  var data = AC.readData();
  if (data) { drawCharts(data); }
})();
