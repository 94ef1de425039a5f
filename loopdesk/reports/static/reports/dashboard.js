// Dashboard charts (ECharts from npm, served as a static file). Every bar, point and slice opens its tickets.
(function () {
  "use strict";
  function init() {
    var node = document.getElementById("report-charts");
    if (!node || typeof echarts === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    // urls: one list per series (a rate's points open its numerator's list, not the bars' volume).
    function chart(id, option, urls) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var c = echarts.init(el);
      c.setOption(option);
      c.on("click", function (p) {
        var list = urls ? urls[p.seriesIndex] : null;
        var url = p.data && p.data.url ? p.data.url : (list ? list[p.dataIndex] : null);
        if (url) { window.location.href = url; }
      });
      window.addEventListener("resize", function () { c.resize(); });
    }
    var t = data.trend;
    chart("chart-trend", {
      tooltip: { trigger: "axis" }, legend: {},
      xAxis: { type: "category", data: t.days },
      yAxis: [{ type: "value" }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [{ name: t.labels.volume, type: "bar", data: t.volume },
               { name: t.labels.timeliness, type: "line", yAxisIndex: 1, data: t.timeliness }]
    }, [t.urls.volume, t.urls.timeliness]);
    chart("chart-categories", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "70%"], data: data.categories }]
    });
    var d = data.departments;
    chart("chart-departments", {
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 120 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: d.names },
      series: [{ name: d.labels.timeliness, type: "bar", data: d.timeliness },
               { name: d.labels.satisfaction, type: "bar", data: d.satisfaction }]
    }, [d.urls.timeliness, d.urls.satisfaction]);
    var b = data.branches;
    chart("chart-branches", {
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 120 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: b.names },
      series: [{ name: b.labels.timeliness, type: "bar", data: b.timeliness }]
    }, [b.urls.timeliness]);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
