// Candor audit report renderer. Reads the JSON embedded in #report-data (a ReportModel) and draws every section
// as inline SVG built from escaped markup strings. No libraries and no network: the file must open from disk.
// Contract with the tests: each chart lives in <div class="chart" data-chart="...">; when every section has
// rendered, <body data-rendered="ok">; a section that throws is reported with console.error and marks "error".
(function () {
  "use strict";
  // Okabe-Ito: distinguishable under the common colour-vision deficiencies.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
  var PUOR = ["#542788", "#998ec3", "#f7f7f7", "#f1a340", "#b35806"]; // diverging, colour-blind safe
  var GREY = "#9a9a9a";
  var data, colourOf = {};

  // ---- small helpers ---------------------------------------------------------------------------------------
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function tag(name, attrs, body) {
    var s = "<" + name;
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== undefined && attrs[k] !== null) s += " " + k + "=\"" + esc(attrs[k]) + "\"";
    });
    return s + ">" + (body || "") + "</" + name + ">";
  }
  function tip(text) { return tag("title", {}, esc(text)); }
  function num(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v, digits) { return num(v) ? v.toFixed(digits === undefined ? 3 : digits) : "n/a"; }
  function r1(v) { return Math.round(v * 10) / 10; }
  function unique(xs) { return xs.filter(function (x, i) { return xs.indexOf(x) === i; }); }
  function short(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function empty(what) { return tag("p", { "class": "empty" }, "No data yet: " + esc(what)); }
  function chart(name, body) { return tag("div", { "class": "chart", "data-chart": name }, body); }
  function legend(text) { return tag("p", { "class": "legend" }, esc(text)); }
  function bytes(n) {
    if (!num(n) || n <= 0) return "n/a";
    var units = ["B", "KiB", "MiB", "GiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }
  function table(head, rows, cls) {
    return tag("table", { "class": cls }, tag("thead", {}, head) + tag("tbody", {}, rows.join("")));
  }
  function tr(cells, cls) { return tag("tr", { "class": cls }, cells.join("")); }
  function td(text, cls) { return tag("td", { "class": cls }, esc(text)); }
  function th(text, attrs) { return tag("th", attrs, esc(text)); }
  // FNV-1a: a deterministic jitter, so the same model always draws the same picture.
  function hash01(s) {
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return h / 4294967296;
  }
  function mix(c1, c2, t) {
    var a = parseInt(c1.slice(1), 16), b = parseInt(c2.slice(1), 16), out = 0;
    for (var shift = 16; shift >= 0; shift -= 8) {
      var x = (a >> shift) & 255, y = (b >> shift) & 255;
      out = out * 256 + Math.round(x + (y - x) * t);
    }
    return "#" + (0x1000000 + out).toString(16).slice(1);
  }
  function ramp(stops, t) {
    t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    var i = Math.min(Math.floor(t), stops.length - 2);
    return mix(stops[i], stops[i + 1], t - i);
  }
  function scale(d0, d1, r0, r1_) { return function (v) { return r0 + (v - d0) / (d1 - d0 || 1) * (r1_ - r0); }; }
  function primaryMetric(names) {
    var preferred = data.task === "classification" ? "accuracy" : "r2";
    return names.indexOf(preferred) >= 0 ? preferred : names[0];
  }
  function panels(items) { return tag("div", { "class": "panels" }, items.join("")); }
  function panel(variant, svg) {
    return tag("figure", { "class": "panel" }, tag("figcaption", {}, swatch(variant) + esc(variant)) + svg);
  }
  function swatch(variant) { return tag("span", { "class": "swatch", style: "background:" + colourOf[variant] }, ""); }
  function svg(w, h, body, label) {
    // Natural size as the upper bound; CSS shrinks it to narrow screens.
    return tag("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, role: "img", "aria-label": label }, body);
  }
  // Features in the reference variant's order (the first variant with rows), then any others as they appear.
  function featureOrder(rows, key) {
    var ref = data.variants.filter(function (v) { return rows.some(function (r) { return r.variant === v; }); })[0];
    var own = rows.filter(function (r) { return r.variant === ref; }).sort(key).map(function (r) { return r.feature; });
    return unique(own.concat(rows.map(function (r) { return r.feature; })));
  }

  // ---- sections --------------------------------------------------------------------------------------------
  function header() {
    var b = data.breaches, banner;
    if (!b.length) {
      banner = tag("div", { "class": "banner pass" }, tag("strong", {}, "PASS") + " \u2014 no threshold breached");
    } else {
      banner = tag("div", { "class": "banner fail" }, tag("strong", {}, "FAIL") + " \u2014 " + b.length
        + " threshold" + (b.length > 1 ? "s" : "") + " breached" + tag("ul", {}, b.map(function (x) {
          return tag("li", {}, tag("strong", {}, esc(x.threshold)) + " on " + tag("em", {}, esc(x.subject))
            + ": " + fmt(x.value, 4) + " vs limit " + fmt(x.limit, 4) + " \u2014 " + esc(x.message));
        }).join("")));
    }
    var meta = [["Audit date", data.auditDate], ["Run", data.runId], ["Task", data.task], ["Generated", data.generatedAt]];
    return tag("h1", {}, "Candor audit \u00b7 " + esc(data.model)) + tag("p", { "class": "meta" }, meta.map(function (m) {
      return tag("span", {}, esc(m[0]) + ": " + tag("strong", {}, esc(m[1])));
    }).join(" ")) + banner;
  }

  function metrics() {
    var rows = data.metrics;
    if (!rows.length) return empty("no metrics were recorded for this audit.");
    var splits = unique(rows.map(function (r) { return r.split; })).sort(function (a, b) {
      return (b === "test") - (a === "test"); // test first, the rest as recorded
    });
    var names = unique(rows.map(function (r) { return r.metric; }));
    var first = function (v) { return rows.filter(function (r) { return r.variant === v; })[0]; };
    var ref = first(data.variants[0]);
    var breached = data.breaches.map(function (b) { return b.subject; });
    var head = tr([th("Variant", { rowspan: 2 }), th("Bits", { rowspan: 2 }), th("Parameters", { rowspan: 2 }),
      th("Size", { rowspan: 2 }), th("Compression", { rowspan: 2, title: "size of " + data.variants[0] + " / size" })]
      .concat(splits.map(function (s) {
        return th(s, { colspan: names.length, "class": s === "test" ? "primary" : "secondary" });
      }))) + tr([].concat.apply([], splits.map(function (s) {
      return names.map(function (n) { return th(n, { "class": s === "test" ? "primary" : "secondary" }); });
    })));
    var body = data.variants.map(function (v) {
      var f = first(v) || {};
      var ratio = ref && num(ref.sizeBytes) && f.sizeBytes > 0 ? (ref.sizeBytes / f.sizeBytes).toFixed(1) + "\u00d7" : "n/a";
      var cells = [tag("td", {}, swatch(v) + esc(v) + (breached.indexOf(v) >= 0 ? " \u26a0" : "")),
        td(f.bits === undefined ? "n/a" : f.bits), td(num(f.parameterCount) ? f.parameterCount.toLocaleString("en-US") : "n/a"),
        tag("td", { title: num(f.sizeBytes) ? f.sizeBytes + " bytes" : null }, bytes(f.sizeBytes)), td(ratio)];
      splits.forEach(function (s) {
        names.forEach(function (n) {
          var m = rows.filter(function (r) { return r.variant === v && r.split === s && r.metric === n; })[0];
          cells.push(td(m ? fmt(m.value, 4) : "n/a", s === "test" ? "primary num" : "secondary num"));
        });
      });
      return tr(cells, breached.indexOf(v) >= 0 ? "breached" : null);
    });
    return legend("One row per variant; the test split is in bold. Compression is the size of " + data.variants[0]
      + " divided by the variant's size. \u26a0 marks a variant named in a breach.") + table(head, body, "metrics");
  }

  // Horizontal bars with error bars, one panel per variant, same feature order and x scale in every panel.
  function bars(name, rows, order, label) {
    var lows = rows.map(function (r) { return num(r.low) ? r.low : r.value; }).filter(num);
    var highs = rows.map(function (r) { return num(r.high) ? r.high : r.value; }).filter(num);
    var lo = Math.min.apply(null, [0].concat(lows)), hi = Math.max.apply(null, [0].concat(highs));
    var W = 380, L = 130, R = 14, ROW = 18, T = 8, H = T + order.length * ROW + 24;
    var x = scale(lo, hi, L, W - R);
    return chart(name, panels(data.variants.filter(function (v) {
      return rows.some(function (r) { return r.variant === v; });
    }).map(function (v) {
      var body = tag("line", { "class": "axis", x1: r1(x(0)), x2: r1(x(0)), y1: T, y2: H - 20 });
      order.forEach(function (f, i) {
        var r = rows.filter(function (q) { return q.variant === v && q.feature === f; })[0], y = T + i * ROW + ROW / 2;
        body += tag("text", { x: L - 6, y: y + 4, "class": "label" }, tip(f) + esc(short(f, 20)));
        if (!r || !num(r.value)) { body += tag("text", { x: L + 4, y: y + 4, "class": "na" }, "n/a"); return; }
        var x0 = x(Math.min(0, r.value)), w = Math.max(0.5, Math.abs(x(r.value) - x(0)));
        body += tag("rect", { "class": "bar", x: r1(x0), y: y - 6, width: r1(w), height: 12, fill: colourOf[v] },
          tip(v + " \u00b7 " + f + ": " + label + " " + fmt(r.value, 4) + " [" + fmt(r.low, 4) + ", " + fmt(r.high, 4) + "]"));
        if (num(r.low) && num(r.high)) {
          var a = r1(x(r.low)), b = r1(x(r.high));
          body += tag("path", { "class": "err", d: "M" + a + " " + y + "H" + b + "M" + a + " " + (y - 4) + "V" + (y + 4)
            + "M" + b + " " + (y - 4) + "V" + (y + 4) });
        }
      });
      body += tag("text", { x: L, y: H - 6, "class": "tick" }, fmt(lo, 3))
        + tag("text", { x: W - R, y: H - 6, "class": "tick end" }, fmt(hi, 3));
      return panel(v, svg(W, H, body, label + " for " + v));
    })));
  }

  function importance() {
    var all = data.importance;
    if (!all.length) return chart("importance", empty("no permutation importance was computed."));
    var metric = primaryMetric(unique(all.map(function (r) { return r.metric; })));
    var rows = all.filter(function (r) { return r.metric === metric; }).map(function (r) {
      return { variant: r.variant, feature: r.feature, value: r.mean, low: r.ciLow, high: r.ciHigh, rank: r.rank };
    });
    var order = featureOrder(rows, function (a, b) { return a.rank - b.rank; });
    return legend("Drop in " + metric + " when a feature's values are permuted (bar: mean; whiskers: confidence "
      + "interval). Features in " + data.variants[0] + "'s rank order; one x scale for all panels.")
      + bars("importance", rows, order, "drop in " + metric);
  }

  function sage() {
    var all = data.globalShapley.filter(function (r) { return r.method === "sage"; });
    if (!all.length) return chart("sage", empty("no SAGE values were computed."));
    var output = Math.min.apply(null, all.map(function (r) { return r.output; }));
    var rows = all.filter(function (r) { return r.output === output; }).map(function (r) {
      var e = num(r.stdError) ? 1.96 * r.stdError : NaN;
      return { variant: r.variant, feature: r.feature, value: r.value, low: r.value - e, high: r.value + e };
    });
    var order = featureOrder(rows, function (a, b) { return b.value - a.value; });
    return legend("SAGE: each feature's share of the explained loss (output " + output + "); whiskers \u00b11.96 "
      + "standard errors. Same feature order and x scale in every panel.") + bars("sage", rows, order, "SAGE");
  }

  function beeswarm() {
    var pts = data.shap;
    if (!pts.length) return chart("beeswarm", empty("no SHAP values were computed."));
    var ref = data.variants.filter(function (v) { return pts.some(function (p) { return p.variant === v; }); })[0];
    var meanAbs = {}, range = {};
    pts.forEach(function (p) {
      if (p.variant === ref) meanAbs[p.feature] = (meanAbs[p.feature] || 0) + Math.abs(p.phi || 0);
      if (num(p.featureValue)) {
        var r = range[p.feature] || (range[p.feature] = [Infinity, -Infinity]);
        r[0] = Math.min(r[0], p.featureValue); r[1] = Math.max(r[1], p.featureValue);
      }
    });
    var order = unique(Object.keys(meanAbs).sort(function (a, b) { return meanAbs[b] - meanAbs[a]; })
      .concat(pts.map(function (p) { return p.feature; })));
    var m = Math.max.apply(null, [1e-12].concat(pts.map(function (p) { return Math.abs(p.phi); }).filter(num)));
    var W = 420, L = 130, R = 12, ROW = 24, T = 6, H = T + order.length * ROW + 22;
    var x = scale(-m, m, L, W - R);
    var out = data.variants.filter(function (v) { return pts.some(function (p) { return p.variant === v; }); })
      .map(function (v) {
        var body = tag("line", { "class": "axis", x1: r1(x(0)), x2: r1(x(0)), y1: T, y2: H - 20 });
        order.forEach(function (f, i) {
          body += tag("text", { x: L - 6, y: T + i * ROW + ROW / 2 + 4, "class": "label" }, tip(f) + esc(short(f, 20)));
        });
        pts.forEach(function (p) {
          if (p.variant !== v || !num(p.phi)) return;
          var i = order.indexOf(p.feature), rg = range[p.feature];
          var jitter = (hash01(p.variant + "|" + p.feature + "|" + p.rowId) - 0.5) * (ROW - 8);
          var colour = num(p.featureValue) ? ramp(VIRIDIS, rg[1] > rg[0] ? (p.featureValue - rg[0]) / (rg[1] - rg[0]) : 0.5) : GREY;
          body += tag("circle", { cx: r1(x(p.phi)), cy: r1(T + i * ROW + ROW / 2 + jitter), r: 2.4, fill: colour },
            tip(p.feature + " = " + fmt(p.featureValue, 3) + ", SHAP " + fmt(p.phi, 4) + " (row " + p.rowId + ")"));
        });
        body += tag("text", { x: L, y: H - 6, "class": "tick" }, fmt(-m, 3))
          + tag("text", { x: W - R, y: H - 6, "class": "tick end" }, fmt(m, 3));
        return panel(v, svg(W, H, body, "SHAP values for " + v));
      });
    return legend("KernelSHAP values, one dot per row and feature (x: effect on the output; colour: the feature's "
      + "value, low to high; grey: not numeric). Features by mean |SHAP| in " + ref + ".")
      + tag("p", { "class": "legend" }, "low " + tag("span", { "class": "scale-viridis" }, "") + " high"
      + tag("span", { "class": "swatch", style: "background:" + GREY }, "") + "n/a") + chart("beeswarm", panels(out));
  }

  function heatmap(measure, label) {
    var vs = data.variants, n = vs.length, C = 58, L = 120, T = 80, W = L + n * C + 90, H = T + n * C + 4, body = "";
    var value = function (a, b) {
      if (a === b) return 1;
      var c = data.comparisons.filter(function (q) {
        return (q.variantA === a && q.variantB === b) || (q.variantA === b && q.variantB === a);
      })[0];
      return c ? c[measure] : NaN;
    };
    vs.forEach(function (a, i) {
      body += tag("text", { x: L - 6, y: T + i * C + C / 2 + 4, "class": "label" }, esc(short(a, 16)));
      body += tag("text", { "class": "collabel", transform: "translate(" + (L + i * C + C / 2 - 4) + "," + (T - 8) + ") rotate(-40)" },
        esc(short(a, 16)));
      vs.forEach(function (b, j) {
        var v = value(a, b), fill = num(v) ? ramp(PUOR, (v + 1) / 2) : "#e0e0e0";
        body += tag("rect", { "class": "cell", x: L + j * C, y: T + i * C, width: C - 2, height: C - 2, fill: fill },
          tip(label + " " + a + " vs " + b + ": " + fmt(v, 3)));
        body += tag("text", { x: L + j * C + C / 2 - 1, y: T + i * C + C / 2 + 4,
          "class": "cellval" + (num(v) && Math.abs(v) >= 0.85 ? " light" : "") }, fmt(v, 2));
      });
    });
    return tag("figure", { "class": "panel" }, tag("figcaption", {}, esc(label)) + svg(W, H, body, label + " heatmap"));
  }

  function agreement() {
    if (data.variants.length < 2 || !data.comparisons.length) {
      return chart("rank-agreement", empty("fewer than two variants were compared."));
    }
    var rows = data.comparisons.map(function (c) {
      return tr([td(c.variantA), td(c.variantB), td(fmt(c.predictionAgreement, 4), "num"), td(fmt(c.metricDelta, 4), "num"),
        td(fmt(c.spearman, 3), "num"), td(fmt(c.kendall, 3), "num"), td(fmt(c.topKOverlap, 3), "num"),
        td(fmt(c.shapCosine, 3), "num"), td(c.importanceSource)]);
    });
    var head = tr(["A", "B", "Prediction agreement", "Metric delta (B \u2212 A)", "Spearman", "Kendall", "Top-k overlap",
      "SHAP cosine", "Importance source"].map(function (h) { return th(h); }));
    return legend("How far variants agree on which features matter: rank correlation of their feature importance "
      + "(1 = same order, 0 = unrelated, \u22121 = reversed). The table adds prediction agreement and metric deltas.")
      + chart("rank-agreement", panels([heatmap("spearman", "Spearman \u03c1"), heatmap("kendall", "Kendall \u03c4")]))
      + table(head, rows, "comparisons");
  }

  function history() {
    var all = data.history;
    if (!all.length) return chart("history", empty("no earlier audit dates; the trend appears from the second night."));
    var metric = primaryMetric(unique(all.map(function (h) { return h.metric; })));
    var rows = all.filter(function (h) { return h.metric === metric && num(h.value); });
    var dates = unique(rows.map(function (h) { return h.auditDate; })).sort();
    var vals = rows.map(function (h) { return h.value; });
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals), pad = (hi - lo) * 0.1 || 0.01;
    var W = 760, L = 56, R = 40, T = 12, H = 260, B = 40;
    var x = dates.length > 1 ? scale(0, dates.length - 1, L, W - R) : function () { return (L + W - R) / 2; };
    var y = scale(lo - pad, hi + pad, H - B, T);
    var body = tag("line", { "class": "axis", x1: L, x2: W - R, y1: H - B, y2: H - B })
      + tag("line", { "class": "axis", x1: L, x2: L, y1: T, y2: H - B });
    [lo - pad, (lo + hi) / 2, hi + pad].forEach(function (t) {
      body += tag("text", { x: L - 6, y: r1(y(t)) + 4, "class": "label" }, fmt(t, 3));
    });
    dates.forEach(function (d, i) { body += tag("text", { x: r1(x(i)), y: H - B + 18, "class": "tick mid" }, esc(d)); });
    data.variants.forEach(function (v) {
      var pts = rows.filter(function (h) { return h.variant === v; })
        .sort(function (a, b) { return a.auditDate < b.auditDate ? -1 : 1; });
      if (!pts.length) return;
      body += tag("path", { "class": "line", stroke: colourOf[v], d: pts.map(function (p, k) {
        return (k ? "L" : "M") + r1(x(dates.indexOf(p.auditDate))) + " " + r1(y(p.value));
      }).join("") });
      pts.forEach(function (p) {
        body += tag("circle", { cx: r1(x(dates.indexOf(p.auditDate))), cy: r1(y(p.value)), r: 3.5, fill: colourOf[v] },
          tip(v + " on " + p.auditDate + ": " + metric + " " + fmt(p.value, 4)));
      });
    });
    var key = tag("p", { "class": "legend" }, data.variants.map(function (v) { return swatch(v) + esc(v); }).join(" "));
    return legend("Test " + metric + " of each variant over the last " + dates.length + " audit night(s).")
      + chart("history", svg(W, H, body, metric + " over time") + key);
  }

  function drift() {
    if (!data.drift.length) return empty("first night, there is no previous audit date to compare with.");
    var head = tr(["Variant", "Previous date", "Metric", "Previous", "Current", "Delta", "Rank correlation",
      "Entered top-k", "Left top-k"].map(function (h) { return th(h); }));
    var rows = data.drift.map(function (d) {
      return tr([tag("td", {}, swatch(d.variant) + esc(d.variant)), td(d.previousDate), td(d.metric),
        td(fmt(d.previous, 4), "num"), td(fmt(d.current, 4), "num"), td(fmt(d.delta, 4), "num"),
        td(fmt(d.rankCorrelation, 3), "num"), td(d.enteredTopK.join(", ") || "\u2014"), td(d.leftTopK.join(", ") || "\u2014")]);
    });
    return legend("Change against the previous audit date: metric delta, Spearman correlation of importance ranks, "
      + "and features that entered or left the top k.") + table(head, rows, "drift");
  }

  // ---- driver ----------------------------------------------------------------------------------------------
  var SECTIONS = [["summary", null, header], ["metrics", "Metrics", metrics],
    ["importance", "Permutation importance", importance], ["sage", "SAGE", sage],
    ["beeswarm", "SHAP summary", beeswarm], ["rank-agreement", "Variant agreement", agreement],
    ["history", "Trend over the last nights", history], ["drift", "Drift since the previous night", drift]];

  function render() {
    var root = document.getElementById("report"), failed = false;
    try {
      data = JSON.parse(document.getElementById("report-data").textContent);
    } catch (e) {
      console.error("candor report: the embedded data is not valid JSON: " + e);
      document.body.dataset.rendered = "error";
      return;
    }
    unique(data.variants.concat(data.metrics.map(function (m) { return m.variant; }))).forEach(function (v, i) {
      colourOf[v] = PALETTE[i % PALETTE.length];
    });
    document.title = "Candor audit \u00b7 " + data.model + " \u00b7 " + data.auditDate;
    root.innerHTML = SECTIONS.map(function (s) {
      var html;
      try {
        html = s[2]();
      } catch (e) {
        failed = true;
        console.error("candor report: section '" + s[0] + "' failed: " + (e && e.stack || e));
        html = tag("p", { "class": "error" }, "This section could not be drawn: " + esc(e));
      }
      return tag(s[1] ? "section" : "header", { id: s[0] }, (s[1] ? tag("h2", {}, esc(s[1])) : "") + html);
    }).join("");
    document.body.dataset.rendered = failed ? "error" : "ok";
  }

  render();
})();
