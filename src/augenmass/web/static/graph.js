// Performance-data graphs with uPlot. Data comes as JSON from /ui/graph/...; every label is
// set by uPlot through textContent, so check-derived text can never become markup.
(function () {
  "use strict";

  var COLOURS = { avg: "#2563eb", band: "#93c5fd", warn: "#d97706", crit: "#dc2626" };
  var current = { range: "1d" };

  function params(fig, extra) {
    var p = new URLSearchParams({ label: fig.dataset.label || "" });
    Object.keys(extra).forEach(function (k) { p.set(k, String(extra[k])); });
    return fig.dataset.url + "?" + p.toString();
  }

  function load(fig, extra) {
    fig.classList.add("loading");
    fetch(params(fig, extra), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) { draw(fig, d); })
      .catch(function (e) { showError(fig, String(e)); })
      .finally(function () { fig.classList.remove("loading"); });
  }

  function showError(fig, text) {
    var plot = fig.querySelector(".plot");
    plot.textContent = text;
  }

  function constant(xs, v) { return xs.map(function () { return v; }); }

  function draw(fig, d) {
    var plot = fig.querySelector(".plot");
    if (fig._uplot) { fig._uplot.destroy(); fig._uplot = null; }
    plot.textContent = "";
    var unit = d.uom ? " " + d.uom : "";
    // The window's ends are x values of their own, so threshold lines span the whole graph
    // even when the data covers only part of it (the data series are null there).
    var xs = [d.since].concat(d.x, [d.until]);
    function padded(col) { return [null].concat(col, [null]); }
    var series = [{}, { label: d.label + unit, stroke: COLOURS.avg, width: 2 }];
    var data = [xs, padded(d.avg)];
    if (d.resolution !== "raw") {
      series.push({ label: "min", stroke: COLOURS.band, width: 1 });
      series.push({ label: "max", stroke: COLOURS.band, width: 1 });
      data.push(padded(d.min), padded(d.max));
    }
    d.warn.forEach(function (v) {
      series.push({ label: (fig.dataset.warnText || "warning") + " " + v, stroke: COLOURS.warn, width: 1, dash: [6, 4], points: { show: false } });
      data.push(constant(xs, v));
    });
    d.crit.forEach(function (v) {
      series.push({ label: (fig.dataset.critText || "critical") + " " + v, stroke: COLOURS.crit, width: 1, dash: [6, 4], points: { show: false } });
      data.push(constant(xs, v));
    });
    var opts = {
      width: Math.max(280, plot.clientWidth || fig.clientWidth || 600),
      height: 220,
      series: series,
      scales: { x: { time: true, min: d.since, max: d.until } },
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 5) { return; }
          var from = u.posToVal(u.select.left, "x");
          var to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          load(fig, { from: from, to: to });
        }]
      }
    };
    fig._uplot = new uPlot(opts, data, plot);
    fig.dataset.points = String(d.x.length);
    fig.dataset.resolution = d.resolution;
    fig._uplot.over.addEventListener("dblclick", function () { load(fig, { range: current.range }); });
  }

  function loadAll() {
    document.querySelectorAll("figure.graph").forEach(function (fig) { load(fig, { range: current.range }); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof uPlot === "undefined") { return; }
    document.querySelectorAll("button.range").forEach(function (btn) {
      btn.addEventListener("click", function () {
        current.range = btn.dataset.range;
        document.querySelectorAll("button.range").forEach(function (b) { b.classList.toggle("active", b === btn); });
        loadAll();
      });
    });
    loadAll();
  });
})();
