/* The dashboard's comparison of App Store Connect accounts: bytes per period by account. */
(function () {
  "use strict";
  var AC = window.ArtifactCharts;

  function byAccount(data) {
    var names = data.accounts.share.map(function (row) { return row.account; });
    names.sort();
    var index = {};
    data.periods.forEach(function (period, i) { index[period] = i; });
    return names.map(function (name, i) {
      var values = data.periods.map(function () { return 0; });
      data.accounts.series.forEach(function (row) {
        if (row.account === name && index[row.period] !== undefined) {
          values[index[row.period]] = row.bytes;
        }
      });
      var colour = AC.lineColour(i);
      return {
        label: name,
        data: values,
        // A partial period is drawn faded, as in the chart by file type.
        backgroundColor: data.periods.map(function (period) {
          return AC.isPartial(data, period) ? colour + "59" : colour;
        }),
        stack: "accounts"
      };
    });
  }

  var data = AC.readData();
  if (!data || !data.accounts) { return; }
  var options = AC.baseOptions();
  options.scales = { x: AC.periodAxis(data, true), y: AC.bytesAxis(true) };
  options.plugins = { tooltip: AC.bytesTooltip(data) };
  AC.create("chart-accounts", {
    type: "bar",
    data: { labels: data.periods, datasets: byAccount(data) },
    options: options
  });
})();
