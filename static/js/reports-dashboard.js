/* Manager dashboard: draws the figures the page embedded (json_script) with ECharts.
   The numbers come from the same server function as the quarterly report. */
(function () {
  "use strict";
  var dataEl = document.getElementById("dashboard-data");
  var textEl = document.getElementById("dashboard-text");
  if (!dataEl || !textEl || typeof echarts === "undefined") { return; }
  var data = JSON.parse(dataEl.textContent);
  var text = JSON.parse(textEl.textContent);
  var charts = [];

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el);
    c.setOption(option);
    charts.push(c);
  }

  var units = data.units.slice().reverse();
  chart("chart-units", {
    title: { text: text.units, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    grid: { left: 8, right: 24, bottom: 8, top: 40, containLabel: true },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: units.map(function (u) { return u.name; }) },
    series: [{ name: text.avg, type: "bar", data: units.map(function (u) { return u.avg_points; }),
               label: { show: true, position: "right" } }]
  });
  chart("chart-sources", {
    title: { text: text.sources, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { bottom: 0, type: "scroll" },
    series: [{ type: "pie", radius: ["35%", "65%"],
               data: data.sources.map(function (s) { return { name: s.name, value: s.points }; }) }]
  });
  chart("chart-months", {
    title: { text: text.months, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: 8, right: 8, bottom: 32, top: 40, containLabel: true },
    xAxis: { type: "category", data: data.months.map(function (m) { return m.month; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: text.held, type: "bar", data: data.months.map(function (m) { return m.held; }), label: { show: true, position: "top" } },
      { name: text.target, type: "line", data: data.months.map(function (m) { return m.target; }) }
    ]
  });
  chart("chart-track", {
    title: { text: text.track, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { bottom: 0 },
    series: [{ type: "pie", radius: ["40%", "65%"], data: [
      { name: text.on_track, value: data.on_track.on_track },
      { name: text.behind, value: data.on_track.behind }
    ] }]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());
