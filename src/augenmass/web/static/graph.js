// Performance-data graphs with uPlot. Data comes as JSON from /ui/graph/...; every label is
// set by uPlot through textContent, so check-derived text can never become markup.
(function () {
  "use strict";

  var COLOURS = { avg: "#2563eb", band: "#93c5fd", warn: "#d97706", crit: "#dc2626" };
  var current = { range: "1d" };
  var root = document.documentElement;
  var LANG = root.lang === "de" ? "de" : "en";
  var TZ = root.dataset.tz || "UTC";

  // --- numbers in the unit a reader expects ----------------------------------------------
  // Plugin units are turned into a base unit and shown with a prefix chosen for the whole axis,
  // so 0.003 s reads "3 ms" (not "0"), 80e9 B reads "74.5 GiB" (not "0,000").
  var TIME = { s: 1, ms: 1e-3, us: 1e-6, "µs": 1e-6 };
  var BYTES = { B: 1, KB: 1024, MB: Math.pow(1024, 2), GB: Math.pow(1024, 3), TB: Math.pow(1024, 4) };

  function base(uom) {
    if (uom in TIME) { return { kind: "time", factor: TIME[uom] }; }
    if (uom in BYTES) { return { kind: "bytes", factor: BYTES[uom] }; }
    if (uom === "%") { return { kind: "percent", factor: 1 }; }
    return { kind: "plain", factor: 1, uom: uom === "c" ? "" : uom };
  }

  // The prefix for numbers around `mag` (the largest absolute value shown).
  function prefix(kind, mag) {
    if (kind === "time") {
      if (mag >= 1 || mag === 0) { return ["s", 1]; }
      if (mag >= 1e-3) { return ["ms", 1e-3]; }
      return ["µs", 1e-6];
    }
    if (kind === "bytes") {
      var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
      var i = 0;
      while (i < units.length - 1 && mag >= Math.pow(1024, i + 1)) { i++; }
      return [units[i], Math.pow(1024, i)];
    }
    if (kind === "percent") { return ["%", 1]; }
    var si = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"]];
    for (var j = 0; j < si.length; j++) {
      if (mag >= si[j][0]) { return [si[j][1], si[j][0]]; }
    }
    return [mag === 0 ? "" : "µ", mag === 0 ? 1 : 1e-6];
  }

  // Decimals that tell neighbouring ticks apart (step in the shown unit), at most 3.
  function decimals(step) {
    if (!(step > 0) || !isFinite(step)) { return 0; }
    return Math.min(3, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  }

  // Axis ticks keep their decimals (1.0, 1.5, 2.0); a single value drops trailing zeros (5 s).
  function number(v, digits, fixed) {
    return new Intl.NumberFormat(LANG, { minimumFractionDigits: fixed ? digits : 0, maximumFractionDigits: digits }).format(v);
  }

  // Format values that share one axis (or one value alone when step is null).
  function formatter(uom, values, step) {
    var b = base(uom || "");
    var mag = 0;
    values.forEach(function (v) { if (v != null && isFinite(v)) { mag = Math.max(mag, Math.abs(v * b.factor)); } });
    var p = prefix(b.kind, mag);
    var shownStep = step == null ? null : step * b.factor / p[1];
    var digits = shownStep == null ? (mag / p[1] >= 100 ? 0 : mag / p[1] >= 10 ? 1 : 2) : decimals(shownStep);
    var unit = b.kind === "plain" ? (p[0] + (b.uom || "")) : p[0];
    return function (v) {
      if (v == null || !isFinite(v)) { return "–"; }
      var text = number(v * b.factor / p[1], digits, shownStep != null);
      return unit ? text + " " + unit : text;
    };
  }

  // --- times in the server's zone, 24-hour ------------------------------------------------
  function timeText(ts, opts) {
    var o = { timeZone: TZ, hourCycle: "h23" };
    Object.keys(opts).forEach(function (k) { o[k] = opts[k]; });
    return new Intl.DateTimeFormat(LANG, o).format(new Date(ts * 1000));
  }

  function dayOf(ts) { return timeText(ts, { year: "numeric", month: "2-digit", day: "2-digit" }); }

  function xTicks(fig) {
    return function (u, splits, axisIdx, space, incr) {
      var labels = splits.map(function (ts, i) {
        if (incr >= 86400) { return timeText(ts, { day: "numeric", month: "short" }); }
        var clock = incr < 60
          ? timeText(ts, { hour: "2-digit", minute: "2-digit", second: "2-digit" })
          : timeText(ts, { hour: "2-digit", minute: "2-digit" });
        var newDay = i === 0 || dayOf(ts) !== dayOf(splits[i - 1]);
        return newDay ? timeText(ts, { day: "numeric", month: "short" }) + "\n" + clock : clock;
      });
      fig.dataset.xticks = labels.join("|");
      return labels;
    };
  }

  function yTicks(fig, uom) {
    return function (u, splits) {
      var step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : null;
      var fmt = formatter(uom, splits, step);
      var labels = splits.map(fmt);
      fig.dataset.yticks = labels.join("|");
      return labels;
    };
  }

  // Byte axes step in binary units (16 GiB, not 46.6 GiB); others in uPlot's 1-2-5 steps.
  function yAxis(fig, uom) {
    var axis = { values: yTicks(fig, uom), size: 70 };
    var b = base(uom || "");
    if (b.kind === "bytes") {
      var incrs = [];
      for (var e = 0; e <= 5; e++) {
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].forEach(function (m) {
          incrs.push(m * Math.pow(1024, e) / b.factor);
        });
      }
      axis.incrs = incrs;
    }
    return axis;
  }

  // --- loading and drawing ------------------------------------------------------------------
  function params(fig, extra) {
    var p = new URLSearchParams({ label: fig.dataset.label || "" });
    Object.keys(extra).forEach(function (k) { p.set(k, String(extra[k])); });
    return fig.dataset.url + "?" + p.toString();
  }

  function load(fig, extra) {
    fig.classList.add("loading");
    fetch(params(fig, extra), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) { (fig.classList.contains("phases") ? drawPhases : draw)(fig, d, extra); })
      .catch(function (e) { showError(fig, String(e)); })
      .finally(function () { fig.classList.remove("loading"); });
  }

  function showError(fig, text) {
    var plot = fig.querySelector(".plot");
    plot.textContent = text;
  }

  function constant(xs, v) { return xs.map(function () { return v; }); }

  function finite(cols) {
    var out = [];
    cols.forEach(function (col) { col.forEach(function (v) { if (v != null && isFinite(v)) { out.push(v); } }); });
    return out;
  }

  // A threshold is drawn when it is near the data; one far away would squash the data flat
  // against an edge (a 5 s critical line under 3 ms response times). It is then named below.
  function nearData(v, lo, hi) {
    var span = Math.max(hi - lo, Math.abs(hi) * 0.5, Math.abs(lo) * 0.5, 1e-12);
    return v >= lo - span && v <= hi + span;
  }

  function note(fig, text) {
    var el = fig.querySelector(".graph-note");
    if (!el) {
      el = document.createElement("p");
      el.className = "graph-note muted";
      fig.appendChild(el);
    }
    el.textContent = text;
    el.hidden = !text;
  }

  // One uPlot for a figure: the time axis in the server's zone, the y axis in `uom`, drag to
  // zoom (reloads the range), double-click to reset, and the newest values in the legend away
  // from the plot (`last`: the newest point's index; 0 = none).
  function plotInto(fig, plot, series, data, since, until, uom, last) {
    var opts = {
      width: Math.max(280, plot.clientWidth || fig.clientWidth || 600),
      height: 220,
      series: series,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), TZ); },
      scales: { x: { time: true, min: since, max: until } },
      axes: [{ values: xTicks(fig), space: 60 }, yAxis(fig, uom)],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 5) { return; }
          var from = u.posToVal(u.select.left, "x");
          var to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          load(fig, { from: from, to: to });
        }],
        setCursor: [function (u) {
          if (u.cursor.idx == null && last > 0) { u.setLegend({ idx: last }, false); }
        }]
      }
    };
    fig._uplot = new uPlot(opts, data, plot);
    if (last > 0) { fig._uplot.setLegend({ idx: last }, false); }
    fig._uplot.over.addEventListener("dblclick", function () { load(fig, { range: current.range }); });
  }

  function draw(fig, d, extra) {
    var plot = fig.querySelector(".plot");
    if (fig._uplot) { fig._uplot.destroy(); fig._uplot = null; }
    plot.textContent = "";
    var uom = d.uom || "";
    var cols = d.resolution !== "raw" ? [d.avg, d.min, d.max] : [d.avg];
    var seen = finite(cols);
    var lo = seen.length ? Math.min.apply(null, seen) : 0;
    var hi = seen.length ? Math.max.apply(null, seen) : 0;
    var valueText = formatter(uom, seen.length ? seen : [0], null);

    // The default range starts where the data does, so a new check is not a sliver at the
    // right edge; a range the reader picked (drag, buttons with data) is kept.
    var since = d.since;
    if (!extra.from && d.x.length && d.x[0] > d.since + (d.until - d.since) * 0.1) {
      since = Math.max(d.since, d.x[0] - Math.max(60, (d.until - d.x[0]) * 0.05));
    }
    // The window's ends are x values of their own, so threshold lines span the whole graph
    // even when the data covers only part of it (the data series are null there).
    var xs = [since].concat(d.x, [d.until]);
    function padded(col) { return [null].concat(col, [null]); }
    var value = function (u, v) { return valueText(v); };
    var series = [
      { label: fig.dataset.timeText || "Time", value: function (u, ts) { return ts == null ? "–" : timeText(ts, { dateStyle: "medium", timeStyle: "medium" }); } },
      { label: d.label, stroke: COLOURS.avg, width: 2, value: value }
    ];
    var data = [xs, padded(d.avg)];
    if (d.resolution !== "raw") {
      series.push({ label: "min", stroke: COLOURS.band, width: 1, value: value });
      series.push({ label: "max", stroke: COLOURS.band, width: 1, value: value });
      data.push(padded(d.min), padded(d.max));
    }
    var off = [];
    [["warn", d.warn, fig.dataset.warnText || "warning"], ["crit", d.crit, fig.dataset.critText || "critical"]].forEach(function (t) {
      t[1].forEach(function (v) {
        var name = t[2] + " " + formatter(uom, [v], null)(v);
        if (seen.length && !nearData(v, lo, hi)) { off.push(name); return; }
        series.push({ label: name, stroke: COLOURS[t[0]], width: 1, dash: [6, 4], points: { show: false }, value: value });
        data.push(constant(xs, v));
      });
    });
    note(fig, off.length ? off.join(", ") + ": " + (fig.dataset.offText || "off the graph") : "");

    var last = d.x.length; // the newest point's index (index 0 is the window's start)
    plotInto(fig, plot, series, data, since, d.until, uom, last);
    fig.dataset.points = String(d.x.length);
    fig.dataset.resolution = d.resolution;
  }

  // An http check's response time by phase, stacked: the band of each phase is its share of
  // the whole, so the thickest band is where to look for "how to get faster".
  var PHASE_COLOURS = { time_dns: "#a78bfa", time_connect: "#60a5fa", time_tls: "#34d399", time_firstbyte: "#f59e0b" };

  function drawPhases(fig, d, extra) {
    var plot = fig.querySelector(".plot");
    if (fig._uplot) { fig._uplot.destroy(); fig._uplot = null; }
    plot.textContent = "";
    var names = (fig.dataset.phaseNames || "").split("|");
    var order = ["time_dns", "time_connect", "time_tls", "time_firstbyte"];
    var since = d.since;
    if (!extra.from && d.x.length && d.x[0] > d.since + (d.until - d.since) * 0.1) {
      since = Math.max(d.since, d.x[0] - Math.max(60, (d.until - d.x[0]) * 0.05));
    }
    var xs = [since].concat(d.x, [d.until]);
    var running = d.x.map(function () { return 0; });
    var stacked = d.phases.map(function (p) {
      running = running.map(function (sum, i) { return sum + (p.values[i] || 0); });
      return { phase: p, top: running.slice() };
    });
    var all = [];
    stacked.forEach(function (s) { all = all.concat(s.top); });
    var valueText = formatter("s", all.length ? all : [0], null);
    var series = [{ label: fig.dataset.timeText || "Time", value: function (u, ts) { return ts == null ? "–" : timeText(ts, { dateStyle: "medium", timeStyle: "medium" }); } }];
    var data = [xs];
    // largest (the whole) first, so each smaller stack is painted over it
    stacked.slice().reverse().forEach(function (s) {
      var idx = order.indexOf(s.phase.label);
      var raw = s.phase.values;
      series.push({
        label: names[idx] || s.phase.name,
        stroke: PHASE_COLOURS[s.phase.label] || "#888",
        fill: PHASE_COLOURS[s.phase.label] || "#888",
        width: 1,
        value: function (u, v, sidx, i) { return i == null || i < 1 || i > raw.length ? "–" : valueText(raw[i - 1]); }
      });
      data.push([null].concat(s.top, [null]));
    });
    var last = d.x.length;
    plotInto(fig, plot, series, data, since, d.until, "s", last);
    fig.dataset.points = String(d.x.length);
    fig.dataset.phases = d.phases.map(function (p) { return p.label; }).join("|");
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
