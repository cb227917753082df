// The dashboard's chart (Chart.js, when the server has it) and its live updates: every 10 seconds
// while the page is visible, the totals, the chart and the import banner are fetched again.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var query = root.getAttribute("data-query");
  var colours = { sent: "#1e6b30", bounced: "#a4161a", deferred: "#c98a00", expired: "#6f1d8c", rejected: "#4d5661", returned: "#0b5cad" };
  var chart = null;

  function get(path) {
    return window.lightmeter.api(path, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(path + ": " + r.status); }
      return r.json();
    });
  }

  function draw(data) {
    var canvas = document.getElementById("chart-over-time");
    if (!canvas || typeof window.Chart === "undefined") { return; }
    var byStatus = {};
    data.series.forEach(function (s) {
      if (s.status === "returned") { return; }
      var key = s.status;
      if (!byStatus[key]) { byStatus[key] = data.labels.map(function () { return 0; }); }
      s.values.forEach(function (v, i) { byStatus[key][i] += v; });
    });
    var datasets = Object.keys(byStatus).map(function (status) {
      var label = document.querySelector("#card-" + status + " .label");
      return { label: label ? label.textContent : status, data: byStatus[status], backgroundColor: colours[status] || "#888", stack: "all" };
    });
    if (chart) {
      chart.data.labels = data.labels;
      chart.data.datasets = datasets;
      chart.update("none");
      return;
    }
    chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
  }

  function refresh() {
    get("/api/v0/countByStatus?" + query).then(function (counts) {
      var format = new Intl.NumberFormat(document.documentElement.lang || undefined);
      document.querySelectorAll(".card.stat .value").forEach(function (el) {
        var s = el.getAttribute("data-status");
        if (s in counts) { el.textContent = format.format(counts[s]); }
      });
    }).catch(function () {});
    get("/api/v0/deliveriesOverTime?" + query).then(draw).catch(function () {});
    get("/api/v0/importProgress").then(function (p) {
      var banner = document.getElementById("import-progress");
      if (!banner) { return; }
      if (p.active) {
        banner.hidden = false;
        banner.textContent = banner.textContent.replace(/\d+%/, p.value + "%");
      } else {
        banner.hidden = true;
      }
    }).catch(function () {});
  }

  refresh();
  window.setInterval(function () {
    if (document.visibilityState === "visible") { refresh(); }
  }, 10000);
})();
