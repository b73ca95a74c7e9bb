/* The dashboard's charts by file type: bytes and artifacts per period, share of bytes. */
(function () {
  "use strict";
  var AC = window.ArtifactCharts;

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
      var colour = AC.typeColour(fileType, i);
      return {
        label: (data.type_labels && data.type_labels[fileType]) || fileType || "(none)",
        data: values,
        // A partial period is drawn faded: its lower total is not a dip.
        backgroundColor: data.periods.map(function (period) {
          return AC.isPartial(data, period) ? colour + "59" : colour;
        }),
        stack: "types"
      };
    });
  }

  function draw(data) {
    var bytesOptions = AC.baseOptions();
    bytesOptions.scales = { x: AC.periodAxis(data, true), y: AC.bytesAxis(true) };
    bytesOptions.plugins = { tooltip: AC.bytesTooltip(data) };
    AC.create("chart-bytes", {
      type: "bar",
      data: { labels: data.periods, datasets: byType(data, "bytes") },
      options: bytesOptions
    });

    var countOptions = AC.baseOptions();
    countOptions.scales = { x: AC.periodAxis(data, true), y: { stacked: true, beginAtZero: true } };
    countOptions.plugins = { tooltip: { callbacks: { title: AC.periodTitle(data) } } };
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
  }

  var data = AC.readData();
  if (data && data.series) { draw(data); }
})();
