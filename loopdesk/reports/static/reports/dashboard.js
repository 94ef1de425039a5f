// Dashboard charts (ECharts from npm, served as a static file). Every bar, point and slice opens its tickets.
(function () {
  "use strict";
  function init() {
    var node = document.getElementById("report-charts");
    if (!node || typeof echarts === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    // Rates are percentages: the axis says so, and so does the tooltip (it showed a bare 60 for 60 %).
    function percent(v) { return v === null || v === undefined || v === "-" ? "—" : v + "%"; }
    var pctTip = { valueFormatter: percent };
    // A chart with nothing to draw says so, as the tables do, instead of empty axes or a grey ring.
    function hasData(lists) {
      return lists.some(function (list) {
        return (list || []).some(function (v) { return v !== null && v !== undefined && v !== 0; });
      });
    }
    // A rate of 0 % is a figure to draw; only a missing rate (null) is none.
    function present(list) { return (list || []).map(function (v) { return v === null ? null : 1; }); }
    function empty(option, lists) {
      if (!hasData(lists)) {
        option.title = { text: data.empty, left: "center", top: "middle",
                         textStyle: { color: "#6b7280", fontSize: 14, fontWeight: "normal" } };
      }
      return option;
    }
    // A bar chart by unit names every bar (ECharts hid every other name once they crowded the axis) and grows to
    // give each its line.
    function fit(id, names) {
      var el = document.getElementById(id);
      if (el) { el.style.height = Math.max(el.clientHeight, names.length * 24 + 80) + "px"; }
      return { type: "category", data: names, axisLabel: { interval: 0 } };
    }
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
    chart("chart-trend", empty({
      tooltip: { trigger: "axis" }, legend: {},
      xAxis: { type: "category", data: t.days },
      // Work orders are whole numbers (an empty period's axis read 0.2, 0.4 ... work orders).
      yAxis: [{ type: "value", minInterval: 1 },
              { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [{ name: t.labels.volume, type: "bar", data: t.volume },
               { name: t.labels.timeliness, type: "line", yAxisIndex: 1, data: t.timeliness, tooltip: pctTip }]
    }, [t.volume, present(t.timeliness)]), [t.urls.volume, t.urls.timeliness]);
    chart("chart-categories", empty({
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "70%"], data: data.categories }]
    }, [data.categories.map(function (c) { return c.value; })]));
    var d = data.departments;
    chart("chart-departments", empty({
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 120 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: fit("chart-departments", d.names),
      series: [{ name: d.labels.timeliness, type: "bar", data: d.timeliness, tooltip: pctTip },
               { name: d.labels.satisfaction, type: "bar", data: d.satisfaction, tooltip: pctTip }]
    }, [present(d.timeliness), present(d.satisfaction)]), [d.urls.timeliness, d.urls.satisfaction]);
    var b = data.branches;
    chart("chart-branches", empty({
      tooltip: { trigger: "axis" }, legend: {}, grid: { left: 120 },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: fit("chart-branches", b.names),
      series: [{ name: b.labels.timeliness, type: "bar", data: b.timeliness, tooltip: pctTip }]
    }, [present(b.timeliness)]), [b.urls.timeliness]);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
