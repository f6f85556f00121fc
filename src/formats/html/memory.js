// The memory timeline page: SVG line charts drawn from the data block that
// nodeprof wrote (no network, no library).
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var COLORS = ['#1565c0', '#c2185b', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#8d6e63', '#546e7a', '#d81b60', '#7cb342', '#5e35b1', '#f9a825'];
  var MB = 1024 * 1024;

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function fmtTime(sec) {
    if (sec < 120) return sec.toFixed(0) + ' s';
    if (sec < 7200) return (sec / 60).toFixed(0) + ' min';
    return (sec / 3600).toFixed(1) + ' h';
  }

  // series: [{name, values (same length as t; null = no point), points: bool}]
  function chart(title, unit, scale, t, series, fit) {
    var box = document.createElement('section');
    box.className = 'chart';
    box.setAttribute('data-chart', title);
    var h = document.createElement('h2');
    h.textContent = title + ' (' + unit + ')';
    box.appendChild(h);
    var W = 560, H = 220, L = 52, R = 10, T = 8, B = 24;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title });
    var lo = Infinity, hi = -Infinity;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    lo = Math.min(lo, 0);
    if (hi <= lo) hi = lo + 1;
    var t0 = t[0], t1 = t[t.length - 1];
    if (t1 <= t0) t1 = t0 + 1;
    function x(v) { return L + (v - t0) / (t1 - t0) * (W - L - R); }
    function y(v) { return T + (1 - (v - lo) / (hi - lo)) * (H - T - B); }
    for (var g = 0; g <= 4; g++) {
      var gv = lo + (hi - lo) * g / 4;
      el('line', { class: 'grid', x1: L, x2: W - R, y1: y(gv), y2: y(gv) }, svg);
      el('text', { x: L - 4, y: y(gv) + 4, 'text-anchor': 'end' }, svg).textContent = (gv / scale).toFixed(gv / scale < 10 ? 1 : 0);
    }
    el('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }, svg);
    el('text', { x: L, y: H - 6 }, svg).textContent = '0';
    el('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, svg).textContent = fmtTime((t1 - t0) / 1000);
    var keys = document.createElement('div');
    keys.className = 'keys';
    series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length], d = '', pen = 'M';
      s.values.forEach(function (v, j) {
        if (v == null) { pen = 'M'; return; }
        d += pen + x(t[j]).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
        pen = 'L';
        if (s.points) el('circle', { cx: x(t[j]).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: color }, svg);
      });
      if (d && !s.points) el('path', { class: 'series', d: d, stroke: color, 'data-series': s.name }, svg);
      var k = document.createElement('span');
      k.innerHTML = '<i></i>';
      k.firstChild.style.background = color;
      k.appendChild(document.createTextNode(s.name));
      keys.appendChild(k);
    });
    if (fit) el('path', { class: 'fit', d: 'M' + x(t0) + ' ' + y(fit[0]) + ' L' + x(t1) + ' ' + y(fit[1]) }, svg);
    box.appendChild(svg);
    box.appendChild(keys);
    return box;
  }

  function column(samples, key) { return samples.map(function (s) { return s[key] == null || s[key] < 0 ? null : s[key]; }); }

  function main() {
    var status = document.getElementById('status');
    var data;
    try { data = JSON.parse(document.getElementById('memory-data').textContent); }
    catch (e) { status.textContent = 'Cannot read the data: ' + e.message; return; }
    var s = data.samples, sum = data.summary;
    document.getElementById('script').textContent = data.pid >= 0 ? 'pid ' + data.pid + (data.node ? ', node ' + data.node : '') : '';
    var v = document.getElementById('verdict');
    v.textContent = sum.verdictText;
    v.className = 'verdict ' + sum.verdict;
    var st = document.getElementById('stats');
    [['duration', fmtTime(sum.durationMs / 1000)], ['samples', s.length], ['growth', (sum.slopeBytesPerHour / MB).toFixed(1) + ' MB/h'],
     ['GC share', (sum.gcShare * 100).toFixed(2) + '%']].forEach(function (p) {
      var sp = document.createElement('span');
      sp.innerHTML = p[0] + ' <b></b>';
      sp.lastChild.textContent = String(p[1]);
      st.appendChild(sp);
    });
    if (!s.length) { status.textContent = 'No samples.'; return; }
    status.hidden = true;
    var t = column(s, 't'), charts = document.getElementById('charts');
    var fresh = s.map(function (x) { return x.fresh ? x.heapAfterGC : null; });
    charts.appendChild(chart('Heap after full GC', 'MB', MB, t, [{ name: 'after full GC', values: fresh, points: true },
      { name: 'heapUsed', values: column(s, 'heapUsed') }], sum.fitPoints >= 2 ? [sum.fitStart, sum.fitEnd] : null));
    charts.appendChild(chart('Heap spaces used', 'MB', MB, t, data.spaces.map(function (name, i) {
      return { name: name, values: s.map(function (x) { return x.spaces[i]; }) };
    })));
    charts.appendChild(chart('Process memory', 'MB', MB, t, [{ name: 'rss', values: column(s, 'rss') },
      { name: 'heapTotal', values: column(s, 'heapTotal') }, { name: 'external', values: column(s, 'external') },
      { name: 'arrayBuffers', values: column(s, 'arrayBuffers') }]));
    charts.appendChild(chart('GC pauses', 'ms', 1, t, [{ name: 'longest pause', values: column(s, 'gcMax') },
      { name: 'total pause', values: column(s, 'gcMs') }]));
    charts.appendChild(chart('Event loop delay', 'ms', 1, t, [{ name: 'p50', values: column(s, 'p50') },
      { name: 'p99', values: column(s, 'p99') }, { name: 'max', values: column(s, 'max') }]));
    document.body.setAttribute('data-ready', 'true');
  }
  main();
})();
