// Portico console: polls live.json every second and redraws the per-route
// SVG charts and the recent requests table. No dependencies.
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var W = 190, H = 90, PAD = 4;
  var updates = 0;

  function el(tag, attrs, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function max(arrs) {
    var m = 0;
    arrs.forEach(function (a) { a.forEach(function (v) { if (v > m) m = v; }); });
    return m;
  }
  // path turns values into an SVG path in a panel at x0 with scale top.
  function path(vals, x0, top) {
    var n = vals.length, d = "";
    for (var i = 0; i < n; i++) {
      var x = x0 + PAD + (W - 2 * PAD) * (n === 1 ? 1 : i / (n - 1));
      var y = H - PAD - (H - 2 * PAD - 10) * (top > 0 ? vals[i] / top : 0);
      d += (i ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
    }
    return d;
  }
  function fmt(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
  function panel(svg, x0, title, top, series) {
    svg.appendChild(el("svg:line", { x1: x0 + PAD, x2: x0 + W - PAD, y1: H - PAD, y2: H - PAD }));
    svg.appendChild(el("svg:line", { x1: x0 + PAD, x2: x0 + W - PAD, y1: PAD + 10, y2: PAD + 10 }));
    svg.appendChild(el("svg:text", { x: x0 + PAD, y: PAD + 7 }, title + " (max " + fmt(top) + ")"));
    series.forEach(function (s) {
      svg.appendChild(el("svg:path", { "class": s[0], d: path(s[1], x0, top) }));
    });
  }
  function last(a) { return a.length ? a[a.length - 1] : 0; }
  function sum(a, n) { var s = 0; for (var i = Math.max(0, a.length - n); i < a.length; i++) s += a[i]; return s; }

  function drawCharts(routes) {
    var box = document.getElementById("charts");
    box.textContent = "";
    if (!routes.length) { box.appendChild(el("p", { "class": "muted" }, "No traffic yet.")); return; }
    routes.forEach(function (r) {
      var card = el("div", { "class": "chart", "data-route": r.route });
      card.appendChild(el("h3", {}, r.route + "  ·  " + r.api + " / " + r.stage));
      var svg = el("svg:svg", { viewBox: "0 0 " + (2 * W) + " " + H, role: "img" });
      panel(svg, 0, "requests/s", Math.max(1, max([r.requests])), [["rate", r.requests], ["err", r.errors]]);
      panel(svg, W, "latency ms", Math.max(1, max([r.p99, r.p90, r.p50])), [["p99", r.p99], ["p90", r.p90], ["p50", r.p50]]);
      card.appendChild(svg);
      // The rates of the last complete 5 seconds (the current second is partial).
      var reqs = r.requests.slice(0, -1), errs = r.errors.slice(0, -1);
      var p = r.p50.slice(0, -1), p9 = r.p99.slice(0, -1);
      card.appendChild(el("div", { "class": "now" }, (sum(reqs, 5) / 5).toFixed(1) + " req/s · " +
        (sum(errs, 5) / 5).toFixed(1) + " errors/s · p50 " + fmt(last(p)) + " ms · p99 " + fmt(last(p9)) + " ms"));
      box.appendChild(card);
    });
  }

  function drawRequests(reqs) {
    var tb = document.getElementById("requests");
    tb.textContent = "";
    reqs.forEach(function (q) {
      var tr = el("tr", { "data-request-id": q.id });
      tr.appendChild(el("td", { "class": "mono" }, q.time));
      tr.appendChild(el("td", { "class": "mono" }, q.id));
      tr.appendChild(el("td", {}, q.api + " / " + q.stage));
      tr.appendChild(el("td", { "class": "mono" }, q.route));
      tr.appendChild(el("td", { "class": "mono" }, q.method + " " + q.path));
      tr.appendChild(el("td", { "class": "s" + Math.floor(q.status / 100) }, q.status + (q.error ? " " + q.error : "")));
      tr.appendChild(el("td", {}, fmt(q.latencyMs) + " ms"));
      var fn = el("td", {});
      if (q.function) {
        if (q.logs) fn.appendChild(el("a", { href: q.logs }, q.function + " logs"));
        else fn.textContent = q.function;
        if (q.cold) fn.appendChild(el("small", { "class": "muted" }, " cold"));
      }
      tr.appendChild(fn);
      tb.appendChild(tr);
    });
    tb.setAttribute("data-updates", String(++updates));
  }

  function poll() {
    fetch("live.json", { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("live.json: " + r.status);
      return r.json();
    }).then(function (d) {
      drawCharts(d.routes);
      drawRequests(d.requests);
      document.getElementById("status").textContent = "live · updated " + new Date(d.now * 1000).toISOString().slice(11, 19) + " UTC";
    }).catch(function (e) {
      document.getElementById("status").textContent = "disconnected: " + e.message;
    }).finally(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
