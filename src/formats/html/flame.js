/* nodeprof flame graph: reads the profile embedded in #profile-data (a
 * .cpuprofile or a .heapprofile), merges identical stacks and draws an
 * icicle graph on a canvas. Everything is iterative (10,000-frame stacks)
 * and the tree is kept in typed arrays in preorder, so that a subtree is
 * the contiguous range [i, i + size[i]) and can be skipped in one step. */
'use strict';
(function () {
  const ROW = 18;          /* px per stack level */
  const MIN_W = 0.5;       /* rects narrower than this (px) are not drawn */
  const TABLE_ROWS = 300;  /* rows shown in the top-functions table */

  const KINDS = [
    { id: 'app', label: 'App code', hue: [8, 38], sat: 78, light: [58, 68] },
    { id: 'deps', label: 'node_modules', hue: [42, 58], sat: 72, light: [54, 64] },
    { id: 'node', label: 'node: internals', hue: [196, 222], sat: 62, light: [64, 74] },
    { id: 'native', label: 'Native / V8', where: 'native code', hue: [262, 288], sat: 45, light: [68, 77] },
    { id: 'gc', label: 'Garbage collector', where: 'V8 garbage collector', hue: [118, 138], sat: 48, light: [58, 66] },
    { id: 'vm', label: 'VM states', where: 'VM state (not JS)', hue: [220, 220], sat: 6, light: [80, 86] },
  ];
  const KIND_INDEX = {};
  KINDS.forEach(function (k, i) { KIND_INDEX[k.id] = i; });

  /* ---- formatting ------------------------------------------------------ */

  const intFmt = new Intl.NumberFormat('en-US');

  function fmtWeight(v, unit) {
    if (unit === 'bytes') {
      if (v < 1024) return v.toFixed(0) + ' B';
      if (v < 1048576) return (v / 1024).toFixed(1) + ' KiB';
      if (v < 1073741824) return (v / 1048576).toFixed(1) + ' MiB';
      return (v / 1073741824).toFixed(2) + ' GiB';
    }
    if (unit === 'us') {
      if (v < 1000) return v.toFixed(0) + ' \u00b5s';
      if (v < 1e6) return (v / 1e3).toFixed(v < 1e4 ? 2 : 1) + ' ms';
      return (v / 1e6).toFixed(2) + ' s';
    }
    return intFmt.format(Math.round(v)) + (v === 1 ? ' sample' : ' samples');
  }

  function fmtPct(v, total) {
    if (!(total > 0)) return '0%';
    const p = (100 * v) / total;
    if (p > 0 && p < 0.01) return '<0.01%';
    return p.toFixed(2) + '%';
  }

  function frameLocation(fr, i) {
    const url = fr.url[i];
    if (!url) return '';
    return fr.line[i] >= 0 ? url + ':' + (fr.line[i] + 1) + ':' + (fr.col[i] + 1) : url;
  }

  function shortUrl(url) {
    let u = url.replace(/^file:\/\//, '');
    const nm = u.lastIndexOf('/node_modules/');
    if (nm >= 0) u = u.slice(nm + 1);
    return u.length > 70 ? '\u2026' + u.slice(u.length - 69) : u;
  }

  function shortLocation(fr, i) {
    const url = fr.url[i];
    if (!url) return '';
    return shortUrl(url) + (fr.line[i] >= 0 ? ':' + (fr.line[i] + 1) : '');
  }

  /* ---- frames (functions) ---------------------------------------------- */

  function displayName(name) {
    return name === '' || name === undefined || name === null ? '(anonymous)' : String(name);
  }

  function frameKind(name, url) {
    if (name === '(garbage collector)') return KIND_INDEX.gc;
    if (name === '(idle)' || name === '(program)' || name === '(root)') return KIND_INDEX.vm;
    if (!url) return KIND_INDEX.native;
    if (/^node:/.test(url) || /^internal[/]/.test(url) || /^[a-z_]+\.js$/.test(url)) return KIND_INDEX.node;
    if (url.indexOf('/node_modules/') >= 0) return KIND_INDEX.deps;
    return KIND_INDEX.app;
  }

  function newFrames() {
    return { map: new Map(), name: [], url: [], line: [], col: [], kind: [] };
  }

  /* Call frames that source maps rewrote (#frame-map): "name\0url\0line\0col"
   * of the frame as the profile has it, to [name, url, line, col]. */
  let frameMap = null;

  function readFrameMap() {
    const el = $('frame-map');
    const list = el ? JSON.parse(el.textContent || '[]') : [];
    if (el) el.remove();
    frameMap = new Map();
    for (const m of list) frameMap.set(m[0] + '\u0000' + m[1] + '\u0000' + m[2] + '\u0000' + m[3], m.slice(4));
  }

  function remapFrame(cf) {
    if (!frameMap || frameMap.size === 0) return cf;
    const line = Number.isFinite(cf.lineNumber) ? cf.lineNumber : -1;
    const col = Number.isFinite(cf.columnNumber) ? cf.columnNumber : -1;
    const url = typeof cf.url === 'string' ? cf.url : '';
    const m = frameMap.get(displayName(cf.functionName) + '\u0000' + url + '\u0000' + line + '\u0000' + col);
    return m ? { functionName: m[0], url: m[1], lineNumber: m[2], columnNumber: m[3] } : cf;
  }

  function internFrame(fr, cf) {
    cf = remapFrame(cf || {});
    const name = displayName(cf.functionName);
    const url = typeof cf.url === 'string' ? cf.url : '';
    const line = Number.isFinite(cf.lineNumber) ? cf.lineNumber : -1;
    const col = Number.isFinite(cf.columnNumber) ? cf.columnNumber : -1;
    const key = name + '\u0000' + (url || '#' + (cf.scriptId || '')) + '\u0000' + line + '\u0000' + col;
    let id = fr.map.get(key);
    if (id === undefined) {
      id = fr.name.length;
      fr.map.set(key, id);
      fr.name.push(name);
      fr.url.push(url);
      fr.line.push(line);
      fr.col.push(col);
      fr.kind.push(frameKind(name, url));
    }
    return id;
  }

  /* ---- reading profiles into a raw tree (parent before child) ---------- */

  /* Raw tree: order[] lists node indexes parents first; parent[i] = -1 for
   * roots. self[i] is the node's own weight. */
  function cpuParents(nodes, index) {
    const n = nodes.length;
    const parent = new Int32Array(n).fill(-1);
    let sawChildren = false;
    for (let i = 0; i < n; i++) {
      const kids = nodes[i].children;
      if (!Array.isArray(kids)) continue;
      sawChildren = sawChildren || kids.length > 0;
      for (let k = 0; k < kids.length; k++) {
        const j = index.get(kids[k]);
        if (j !== undefined && j !== i && parent[j] === -1) parent[j] = i;
      }
    }
    if (!sawChildren) {
      for (let i = 0; i < n; i++) {
        const j = index.get(nodes[i].parent);
        if (j !== undefined && j !== i) parent[i] = j;
      }
    }
    return parent;
  }

  /* Parents-first order from a parent array, without recursion; nodes on
   * a parent cycle (malformed input) are left out. */
  function parentsFirst(parent) {
    const n = parent.length;
    const count = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) if (parent[i] >= 0) count[parent[i] + 1]++;
    for (let i = 0; i < n; i++) count[i + 1] += count[i];
    const kids = new Int32Array(n);
    const fill = count.slice(0, n);
    for (let i = 0; i < n; i++) if (parent[i] >= 0) kids[fill[parent[i]]++] = i;
    const order = [];
    for (let i = 0; i < n; i++) if (parent[i] < 0) order.push(i);
    for (let h = 0; h < order.length; h++) {
      const p = order[h];
      for (let k = count[p]; k < count[p + 1]; k++) order.push(kids[k]);
    }
    return Int32Array.from(order);
  }

  /* Each node's self time as nodeprof's model counts it (#node-costs,
   * written by html.c): the numbers `nodeprof top` shows. */
  let nodeCosts = null;

  function readNodeCosts() {
    const el = $('node-costs');
    const v = el ? JSON.parse(el.textContent || 'null') : null;
    if (el) el.remove();
    nodeCosts = Array.isArray(v) ? v : null;
  }

  function cpuWeights(prof, index, n) {
    const self = new Float64Array(n);
    const samples = prof.samples, deltas = prof.timeDeltas;
    if (nodeCosts && nodeCosts.length === n && Array.isArray(samples)) {
      for (let i = 0; i < n; i++) self[i] = Number(nodeCosts[i]) || 0;
      let count = samples.length;
      if (prof.nodeprofFolded) count = prof.nodes.reduce((a, nd) => a + (Number(nd.hitCount) || 0), 0);
      return { self: self, unit: 'us', samples: count };
    }
    /* A page written without nodeprof's model (the test driver): the
     * text's own times. */
    if (Array.isArray(samples) && Array.isArray(deltas) && samples.length > 0 &&
        deltas.length === samples.length) {
      /* Each sample lasts until the next one (as DevTools counts it). */
      let t = Number(prof.startTime) || 0;
      for (let s = 0; s < samples.length; s++) {
        t += deltas[s] || 0;
        const next = s + 1 < samples.length ? deltas[s + 1] || 0 : (Number(prof.endTime) || t) - t;
        const j = index.get(samples[s]);
        if (j !== undefined && next > 0) self[j] += next;
      }
      /* a folded profile (nodeprof's cpufold.c) counts its samples in hitCount */
      let count = samples.length;
      if (prof.nodeprofFolded) count = prof.nodes.reduce((a, nd) => a + (Number(nd.hitCount) || 0), 0);
      return { self: self, unit: 'us', samples: count };
    }
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const h = Number(prof.nodes[i].hitCount) || 0;
      self[i] = h;
      hits += h;
    }
    return { self: self, unit: 'samples', samples: hits };
  }

  function readCpu(prof, fr) {
    const nodes = prof.nodes, n = nodes.length;
    const index = new Map();
    for (let i = 0; i < n; i++) if (!index.has(nodes[i].id)) index.set(nodes[i].id, i);
    const parent = cpuParents(nodes, index);
    const frame = new Int32Array(n);
    for (let i = 0; i < n; i++) frame[i] = internFrame(fr, nodes[i].callFrame);
    const w = cpuWeights(prof, index, n);
    const span = (Number(prof.endTime) || 0) - (Number(prof.startTime) || 0);
    return {
      kind: 'cpu', unit: w.unit, parent: parent, frame: frame, self: w.self,
      order: parentsFirst(parent), samples: w.samples, nodes: n, span: span > 0 ? span : 0,
    };
  }

  function readHeap(prof, fr) {
    const parent = [], frame = [], self = [];
    const stack = [prof.head], stackParent = [-1];
    while (stack.length) {
      const node = stack.pop(), p = stackParent.pop();
      if (!node || typeof node !== 'object') continue;
      const i = parent.length;
      parent.push(p);
      frame.push(internFrame(fr, node.callFrame));
      self.push(Number(node.selfSize) || 0);
      const kids = Array.isArray(node.children) ? node.children : [];
      for (let k = kids.length - 1; k >= 0; k--) { stack.push(kids[k]); stackParent.push(i); }
    }
    const order = new Int32Array(parent.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return {
      kind: 'heap', unit: 'bytes', parent: Int32Array.from(parent), frame: Int32Array.from(frame),
      self: Float64Array.from(self), order: order,
      samples: Array.isArray(prof.samples) ? prof.samples.length : -1, nodes: parent.length, span: 0,
    };
  }

  function readProfile(prof, fr) {
    if (prof && Array.isArray(prof.nodes)) return readCpu(prof, fr);
    if (prof && prof.head && typeof prof.head === 'object') return readHeap(prof, fr);
    throw new Error('not a .cpuprofile (no "nodes") nor a .heapprofile (no "head")');
  }

  /* ---- merging identical stacks ---------------------------------------- */

  /* Merged nodes are numbered parents first (parent id < child id). */
  function mergeStacks(raw, fr) {
    const n = raw.parent.length;
    const mParent = [], mFrame = [], mSelf = [];
    const byKey = new Map();
    const toMerged = new Int32Array(n).fill(-1);
    let roots = 0;
    for (let i = 0; i < n; i++) if (raw.parent[i] < 0) roots++;
    const synthetic = roots !== 1;
    if (synthetic) {
      mParent.push(-1);
      mFrame.push(internFrame(fr, { functionName: '(root)' }));
      mSelf.push(0);
    }
    const nf = fr.name.length + 1;
    for (let h = 0; h < raw.order.length; h++) {
      const i = raw.order[h], p = raw.parent[i];
      let m;
      if (p < 0 && !synthetic) {
        m = mParent.length;
        mParent.push(-1); mFrame.push(raw.frame[i]); mSelf.push(0);
      } else {
        const mp = p < 0 ? 0 : toMerged[p];
        if (mp < 0) continue;
        const key = mp * nf + raw.frame[i];
        m = byKey.get(key);
        if (m === undefined) {
          m = mParent.length;
          byKey.set(key, m);
          mParent.push(mp); mFrame.push(raw.frame[i]); mSelf.push(0);
        }
      }
      toMerged[i] = m;
      mSelf[m] += raw.self[i];
    }
    return { parent: Int32Array.from(mParent), frame: Int32Array.from(mFrame), self: Float64Array.from(mSelf) };
  }

  /* ---- preorder layout ------------------------------------------------- */

  function childLists(parent, total) {
    const m = parent.length;
    const start = new Int32Array(m + 1);
    for (let i = 1; i < m; i++) start[parent[i] + 1]++;
    for (let i = 0; i < m; i++) start[i + 1] += start[i];
    const kids = new Int32Array(Math.max(m - 1, 0));
    const fill = start.slice(0, m);
    for (let i = 1; i < m; i++) kids[fill[parent[i]]++] = i;
    for (let i = 0; i < m; i++) {
      if (start[i + 1] - start[i] > 1) {
        kids.subarray(start[i], start[i + 1]).sort(function (a, b) { return total[b] - total[a] || a - b; });
      }
    }
    return { start: start, kids: kids };
  }

  /* Tree in preorder: P parent, F frame, S self, T total, X left offset
   * (in weight units), D depth, N subtree size. */
  function preorder(merged) {
    const m = merged.parent.length;
    const total = Float64Array.from(merged.self);
    for (let i = m - 1; i > 0; i--) total[merged.parent[i]] += total[i];
    const cl = childLists(merged.parent, total);
    const t = {
      P: new Int32Array(m), F: new Int32Array(m), S: new Float64Array(m), T: new Float64Array(m),
      X: new Float64Array(m), D: new Int32Array(m), N: new Int32Array(m).fill(1), size: m, maxDepth: 0,
    };
    const pos = new Int32Array(m), xOf = new Float64Array(m);
    const stack = new Int32Array(m);
    let sp = 0, k = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      const at = k++;
      pos[id] = at;
      const p = merged.parent[id];
      t.P[at] = p < 0 ? -1 : pos[p];
      t.D[at] = p < 0 ? 0 : t.D[pos[p]] + 1;
      if (t.D[at] > t.maxDepth) t.maxDepth = t.D[at];
      t.F[at] = merged.frame[id]; t.S[at] = merged.self[id]; t.T[at] = total[id]; t.X[at] = xOf[id];
      let x = xOf[id];
      for (let c = cl.start[id]; c < cl.start[id + 1]; c++) { xOf[cl.kids[c]] = x; x += total[cl.kids[c]]; }
      for (let c = cl.start[id + 1] - 1; c >= cl.start[id]; c--) stack[sp++] = cl.kids[c];
    }
    for (let i = m - 1; i > 0; i--) t.N[t.P[i]] += t.N[i];
    return t;
  }

  /* ---- per-function statistics ----------------------------------------- */

  /* Self and total per function; a recursive function's total counts the
   * outermost call only. */
  function functionStats(t, nf, nk, kindOf) {
    const self = new Float64Array(nf), total = new Float64Array(nf), onPath = new Int32Array(nf);
    const kindSelf = new Float64Array(nk);
    const path = new Int32Array(t.maxDepth + 1);
    let top = 0;
    for (let i = 0; i < t.size; i++) {
      const d = t.D[i], f = t.F[i];
      while (top > d) onPath[t.F[path[--top]]]--;
      if (onPath[f] === 0) total[f] += t.T[i];
      onPath[f]++;
      path[top++] = i;
      self[f] += t.S[i];
      kindSelf[kindOf[f]] += t.S[i];
    }
    return { self: self, total: total, kindSelf: kindSelf };
  }

  /* ---- colours --------------------------------------------------------- */

  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) / 4294967296;
  }

  /* '#rrggbb' for a hue (degrees), saturation and lightness (percent):
   * canvas parses hex colours faster than hsl(). */
  function hex(h, s, l) {
    s /= 100; l /= 100;
    const a = s * Math.min(l, 1 - l);
    const channel = function (n) {
      const k = (n + h / 30) % 12;
      const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
      return Math.round(v * 255).toString(16).padStart(2, '0');
    };
    return '#' + channel(0) + channel(8) + channel(4);
  }

  function frameColors(fr) {
    const n = fr.name.length, fill = new Array(n), dim = new Array(n);
    for (let i = 0; i < n; i++) {
      const k = KINDS[fr.kind[i]], r = hash(fr.name[i]), r2 = hash(fr.url[i] + fr.name[i]);
      const hue = k.hue[0] + r * (k.hue[1] - k.hue[0]);
      const light = k.light[0] + r2 * (k.light[1] - k.light[0]);
      fill[i] = hex(hue, k.sat, light);
      dim[i] = hex(hue, Math.round(k.sat * 0.25), Math.min(92, light + 16));
    }
    return { fill: fill, dim: dim };
  }

  function kindColor(k) {
    const K = KINDS[k];
    return hex((K.hue[0] + K.hue[1]) / 2, K.sat, (K.light[0] + K.light[1]) / 2);
  }

  /* ---- the model ------------------------------------------------------- */

  function buildModel(prof) {
    const fr = newFrames();
    const raw = readProfile(prof, fr);
    const merged = mergeStacks(raw, fr);
    const tree = preorder(merged);
    const nf = fr.name.length;
    const stats = functionStats(tree, nf, KINDS.length, fr.kind);
    return {
      kind: raw.kind, unit: raw.unit, samples: raw.samples, rawNodes: raw.nodes, span: raw.span,
      frames: fr, tree: tree, stats: stats, colors: frameColors(fr), total: tree.T[0],
    };
  }

  /* ---- search ---------------------------------------------------------- */

  function escapeRegex(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

  /* The query as a case-insensitive regex, or as plain text if it is not
   * a valid one (bad: true, shown by a red border). */
  function searchRegex(q) {
    try { return { re: new RegExp(q, 'i'), bad: false }; } catch (e) {
      return { re: new RegExp(escapeRegex(q), 'i'), bad: true };
    }
  }

  /* Queries that look like a path ("lib/", "server.js") match files too. */
  function looksLikePath(q) { return q.indexOf('/') >= 0 || /\.[cm]?[jt]sx?$/i.test(q); }

  function matchFrames(model, re, files) {
    const fr = model.frames, n = fr.name.length, hit = new Uint8Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (re.test(fr.name[i]) || (files && fr.url[i] && re.test(fr.url[i]))) { hit[i] = 1; count++; }
    }
    return { hit: hit, count: count };
  }

  /* Weight under matching frames, each stack counted once. */
  function matchedWeight(t, hit) {
    let sum = 0;
    for (let i = 0; i < t.size;) {
      if (hit[t.F[i]]) { sum += t.T[i]; i += t.N[i]; } else i++;
    }
    return sum;
  }

  /* ---- the view -------------------------------------------------------- */

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function View(model) {
    this.m = model;
    this.zoom = 0;
    this.hover = -1;
    this.hit = null;
    this.wrap = $('flame-wrap');
    this.canvas = $('flame');
    this.ctx = this.canvas.getContext('2d');
    this.space = $('flame-space');
    this.tip = $('tip');
    this.cssW = 0;
    this.cssH = 0;
    this.drawn = { n: 0, node: new Int32Array(4096), x: new Float64Array(4096), w: new Float64Array(4096) };
    this.pending = false;
    this.font = '11px ' + getComputedStyle(document.body).getPropertyValue('--mono');
    this.charW = 6.6;
  }

  View.prototype.contentRows = function () {
    const t = this.m.tree, z = this.zoom;
    let max = t.D[z];
    for (let i = z, end = z + t.N[z]; i < end; i++) if (t.D[i] > max) max = t.D[i];
    return max + 1;
  };

  View.prototype.resize = function () {
    const rows = this.contentRows();
    const contentH = rows * ROW + 2;
    const viewH = Math.max(ROW * 4, Math.min(contentH, Math.round(window.innerHeight * 0.7)));
    this.wrap.style.height = viewH + 2 + 'px';
    this.space.style.height = Math.max(0, contentH - viewH) + 'px';
    const w = this.wrap.clientWidth, dpr = window.devicePixelRatio || 1;
    this.cssW = w;
    this.cssH = viewH;
    this.canvas.style.width = w + 'px';
    this.canvas.style.height = viewH + 'px';
    this.canvas.width = Math.max(1, Math.round(w * dpr));
    this.canvas.height = Math.max(1, Math.round(viewH * dpr));
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.ctx.font = this.font;
    this.charW = this.ctx.measureText('MMMMMMMMMM').width / 10 || 6.6;
    this.draw();
  };

  View.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = true;
    const self = this;
    requestAnimationFrame(function () { self.pending = false; self.draw(); });
  };

  View.prototype.remember = function (node, x, w) {
    const d = this.drawn;
    if (d.n === d.node.length) {
      const grow = function (a) { const b = new a.constructor(a.length * 2); b.set(a); return b; };
      d.node = grow(d.node); d.x = grow(d.x); d.w = grow(d.w);
    }
    d.node[d.n] = node; d.x[d.n] = x; d.w[d.n] = w; d.n++;
  };

  View.prototype.label = function (i, x, y, w, light) {
    const room = Math.floor((w - 6) / this.charW);
    if (room < 4) return;
    let s = this.m.frames.name[this.m.tree.F[i]];
    if (s.length > room) s = s.slice(0, room - 1) + '\u2026';
    this.ctx.fillStyle = light ? '#ffffff' : '#1d1f24';
    this.ctx.fillText(s, x + 3, y + ROW / 2);
  };

  View.prototype.rect = function (i, x, w, row, top, outside) {
    const ctx = this.ctx, f = this.m.tree.F[i], y = row * ROW - top;
    const matched = this.hit && this.hit[f];
    let color = this.m.colors.fill[f];
    if (this.hit) color = matched ? '#d81b78' : this.m.colors.dim[f];
    ctx.globalAlpha = outside ? 0.55 : 1;
    ctx.fillStyle = color;
    ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
    if (i === this.hover) {
      ctx.strokeStyle = '#1d1f24';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x + 0.75, y + 0.75, Math.max(w - 2.5, 0.5), ROW - 2.5);
    }
    ctx.globalAlpha = 1;
    if (w >= 24) this.label(i, x, y, w, matched);
    this.remember(i, x, w);
  };

  View.prototype.draw = function () {
    const t = this.m.tree, ctx = this.ctx, W = this.cssW, H = this.cssH;
    const top = this.wrap.scrollTop, r0 = Math.floor(top / ROW), r1 = Math.floor((top + H) / ROW);
    const z = this.zoom, scale = t.T[z] > 0 ? W / t.T[z] : 0, x0 = t.X[z];
    ctx.clearRect(0, 0, W, H);
    ctx.font = this.font;
    ctx.textBaseline = 'middle';
    this.drawn.n = 0;
    for (let a = t.P[z]; a >= 0; a = t.P[a]) {
      if (t.D[a] >= r0 && t.D[a] <= r1) this.rect(a, 0, W, t.D[a], top, true);
    }
    for (let i = z, end = z + t.N[z]; i < end;) {
      const d = t.D[i], w = t.T[i] * scale;
      if (d > r1 || w < MIN_W) { i += t.N[i]; continue; }
      if (d >= r0) this.rect(i, (t.X[i] - x0) * scale, w, d, top, false);
      i++;
    }
  };

  /* The node under a point of the canvas (css px), or -1. */
  View.prototype.nodeAt = function (px, py) {
    const row = Math.floor((py + this.wrap.scrollTop) / ROW), d = this.drawn, D = this.m.tree.D;
    for (let k = d.n - 1; k >= 0; k--) {
      if (D[d.node[k]] === row && px >= d.x[k] && px < d.x[k] + d.w[k]) return d.node[k];
    }
    return -1;
  };

  /* Where node i is drawn, in client coordinates, or null. */
  View.prototype.rectOf = function (i) {
    const d = this.drawn, box = this.canvas.getBoundingClientRect();
    for (let k = 0; k < d.n; k++) {
      if (d.node[k] === i) {
        return { x: box.left + d.x[k], y: box.top + this.m.tree.D[i] * ROW - this.wrap.scrollTop, w: d.w[k], h: ROW - 1 };
      }
    }
    return null;
  };

  View.prototype.setZoom = function (i) {
    const t = this.m.tree;
    if (i < 0 || i >= t.size) i = 0;
    this.zoom = i;
    this.hover = -1;
    this.hideTip();
    this.resize();
    const rowTop = t.D[i] * ROW, st = this.wrap.scrollTop;
    if (rowTop < st || rowTop + ROW > st + this.cssH) this.wrap.scrollTop = Math.max(0, rowTop - 2 * ROW);
    this.draw();
    this.onZoom(i);
  };

  View.prototype.setHighlight = function (hit) {
    this.hit = hit;
    this.draw();
  };

  View.prototype.hideTip = function () { this.tip.hidden = true; };

  View.prototype.showTip = function (i, cx, cy) {
    const m = this.m, t = m.tree, f = t.F[i], fr = m.frames, tip = this.tip;
    tip.textContent = '';
    tip.appendChild(el('div', 'name', fr.name[f]));
    const loc = frameLocation(fr, f);
    tip.appendChild(el('div', 'loc', loc || KINDS[fr.kind[f]].where || ''));
    const table = el('table');
    const add = function (k, v) {
      const tr = el('tr');
      tr.appendChild(el('td', '', k));
      tr.appendChild(el('td', '', v));
      table.appendChild(tr);
    };
    add('Total', fmtWeight(t.T[i], m.unit) + '  (' + fmtPct(t.T[i], m.total) + ' of all)');
    add('Self', fmtWeight(t.S[i], m.unit) + '  (' + fmtPct(t.S[i], m.total) + ')');
    if (t.P[i] >= 0) add('Of caller', fmtPct(t.T[i], t.T[t.P[i]]));
    add('Kind', KINDS[fr.kind[f]].label);
    tip.appendChild(table);
    tip.appendChild(el('div', 'hint', i === this.zoom ? 'Click an ancestor or press Esc to zoom out' : 'Click to zoom'));
    tip.hidden = false;
    const r = tip.getBoundingClientRect();
    let x = cx + 14, y = cy + 16;
    if (x + r.width > window.innerWidth - 8) x = Math.max(8, cx - r.width - 14);
    if (y + r.height > window.innerHeight - 8) y = Math.max(8, cy - r.height - 12);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  };

  View.prototype.attach = function (onZoom) {
    const self = this, c = this.canvas;
    this.onZoom = onZoom;
    const local = function (e) { const b = c.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; };
    c.addEventListener('mousemove', function (e) {
      const p = local(e), i = self.nodeAt(p[0], p[1]);
      if (i !== self.hover) { self.hover = i; self.schedule(); }
      if (i < 0) self.hideTip(); else self.showTip(i, e.clientX, e.clientY);
    });
    c.addEventListener('mouseleave', function () { self.hover = -1; self.hideTip(); self.schedule(); });
    c.addEventListener('click', function (e) {
      const p = local(e), i = self.nodeAt(p[0], p[1]);
      if (i >= 0) self.setZoom(i === self.zoom ? Math.max(self.m.tree.P[i], 0) : i);
    });
    this.wrap.addEventListener('scroll', function () { self.hideTip(); self.schedule(); });
    window.addEventListener('resize', function () { self.resize(); });
    /* The page's own scroll bar coming or going narrows the graph too. */
    if (window.ResizeObserver) {
      new ResizeObserver(function () { if (self.wrap.clientWidth !== self.cssW) self.resize(); }).observe(this.wrap);
    }
  };

  /* ---- header, legend, table ------------------------------------------- */

  /* The app's main script, guessed as the app frame with the most weight
   * under it (the shallowest one on the heaviest path): "server.js". */
  function mainScript(m) {
    const t = m.tree, fr = m.frames;
    let best = -1;
    for (let i = 0; i < t.size; i++) {
      const f = t.F[i];
      if (fr.kind[f] === KIND_INDEX.app && fr.url[f] && (best < 0 || t.T[i] > t.T[best])) best = i;
    }
    if (best < 0) return '';
    const url = fr.url[t.F[best]];
    return url.slice(url.lastIndexOf('/') + 1) || url;
  }

  function renderHeader(m) {
    const kindName = m.kind === 'heap' ? 'Heap profile' : 'CPU profile';
    const script = mainScript(m);
    $('kind').textContent = kindName;
    $('script').textContent = script;
    $('script').title = script ? 'The app code with the most weight under it' : '';
    document.title = (script ? script + ' \u2013 ' : '') + kindName + ' (' + fmtWeight(m.total, m.unit) + ') \u2013 nodeprof';
    const stats = $('stats');
    const add = function (label, value) {
      const s = el('span');
      s.appendChild(document.createTextNode(label + ' '));
      s.appendChild(el('b', '', value));
      stats.appendChild(s);
    };
    add(m.kind === 'heap' ? 'Sampled live memory' : 'Total', fmtWeight(m.total, m.unit));
    if (m.samples >= 0) add('Samples', intFmt.format(m.samples));
    if (m.kind === 'cpu' && m.unit === 'us' && m.samples > 1) add('Interval \u2248', fmtWeight(m.span / m.samples, 'us'));
    add('Nodes', intFmt.format(m.rawNodes) + (m.tree.size !== m.rawNodes ? ' (' + intFmt.format(m.tree.size) + ' merged)' : ''));
    add('Functions', intFmt.format(m.frames.name.length));
    add('Deepest stack', intFmt.format(m.tree.maxDepth));
  }

  function renderLegend(m) {
    const box = $('legend');
    KINDS.forEach(function (k, i) {
      const share = m.stats.kindSelf[i];
      if (!(share > 0)) return;
      const item = el('span', 'item');
      const sw = el('span', 'sw');
      sw.style.background = kindColor(i);
      item.appendChild(sw);
      item.appendChild(document.createTextNode(k.label + ' '));
      item.appendChild(el('span', 'share', fmtPct(share, m.total)));
      item.title = fmtWeight(share, m.unit) + ' self time in ' + k.label;
      box.appendChild(item);
    });
  }

  function Table(m, onPick) {
    this.m = m;
    this.key = 'self';
    this.desc = true;
    this.filter = null;
    this.onPick = onPick;
    const ids = [];
    for (let f = 0; f < m.frames.name.length; f++) if (m.stats.total[f] > 0) ids.push(f);
    this.ids = ids;
    const self = this;
    document.querySelectorAll('#table th').forEach(function (th) {
      th.addEventListener('click', function () { self.sortBy(th.getAttribute('data-key')); });
    });
  }

  Table.prototype.sortBy = function (key) {
    this.desc = key === this.key ? !this.desc : key === 'self' || key === 'total';
    this.key = key;
    this.render();
  };

  Table.prototype.comparator = function () {
    const m = this.m, s = m.stats, fr = m.frames, dir = this.desc ? -1 : 1;
    const val = {
      self: function (f) { return s.self[f]; },
      total: function (f) { return s.total[f]; },
      name: function (f) { return fr.name[f].toLowerCase(); },
      loc: function (f) { return frameLocation(fr, f).toLowerCase(); },
    }[this.key];
    return function (a, b) {
      const va = val(a), vb = val(b);
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return s.self[b] - s.self[a] || a - b;
    };
  };

  Table.prototype.row = function (f) {
    const m = this.m, s = m.stats, fr = m.frames, tr = el('tr');
    const num = function (v, cls) { tr.appendChild(el('td', cls, v)); };
    const bar = el('td', 'num bar');
    const fillBar = el('i');
    fillBar.style.width = ((100 * s.self[f]) / (m.total || 1)).toFixed(2) + '%';
    bar.appendChild(fillBar);
    bar.appendChild(el('span', '', fmtWeight(s.self[f], m.unit)));
    tr.appendChild(bar);
    num(fmtPct(s.self[f], m.total), 'num pct');
    num(fmtWeight(s.total[f], m.unit), 'num');
    num(fmtPct(s.total[f], m.total), 'num pct');
    const fn = el('td', 'fn');
    const sw = el('span', 'sw');
    sw.style.background = m.colors.fill[f];
    fn.appendChild(sw);
    fn.appendChild(document.createTextNode(fr.name[f]));
    fn.title = fr.name[f];
    tr.appendChild(fn);
    const loc = el('td', 'loc', shortLocation(fr, f) || KINDS[fr.kind[f]].where || '');
    loc.title = frameLocation(fr, f);
    tr.appendChild(loc);
    const self = this;
    tr.addEventListener('click', function () { self.onPick(f); });
    return tr;
  };

  Table.prototype.render = function () {
    const filter = this.filter;
    const ids = filter ? this.ids.filter(function (f) { return filter[f]; }) : this.ids.slice();
    ids.sort(this.comparator());
    const body = document.querySelector('#table tbody');
    const frag = document.createDocumentFragment();
    const shown = Math.min(ids.length, TABLE_ROWS);
    for (let k = 0; k < shown; k++) frag.appendChild(this.row(ids[k]));
    body.textContent = '';
    body.appendChild(frag);
    const key = this.key, desc = this.desc;
    document.querySelectorAll('#table th').forEach(function (th) {
      const on = th.getAttribute('data-key') === key && !th.classList.contains('pct');
      if (on) th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
    $('top-note').textContent = (shown < ids.length ? 'top ' + shown + ' of ' : '') +
      intFmt.format(ids.length) + (filter ? ' matching' : '') + (ids.length === 1 ? ' function' : ' functions');
  };

  /* ---- wiring ---------------------------------------------------------- */

  function crumb(m, i) {
    const box = $('crumb'), t = m.tree;
    box.textContent = '';
    $('reset').disabled = i === 0;
    if (i === 0) return;
    box.appendChild(document.createTextNode('Zoomed into '));
    box.appendChild(el('b', '', m.frames.name[t.F[i]]));
    box.appendChild(document.createTextNode(' \u2013 ' + fmtWeight(t.T[i], m.unit) + ', ' + fmtPct(t.T[i], m.total) + ' of all'));
  }

  function start(m) {
    renderHeader(m);
    renderLegend(m);
    const empty = !(m.total > 0);
    $('status').hidden = !empty;
    if (empty) $('status').textContent = 'This profile has no samples: nothing to draw.';
    $('flame-wrap').hidden = empty;
    $('top').hidden = empty;
    const view = new View(m);
    const input = $('search');
    let table = null;
    const search = function () {
      const q = input.value;
      if (!q) {
        input.classList.remove('bad');
        $('match').textContent = '';
        view.setHighlight(null);
        table.filter = null;
        table.render();
        return;
      }
      const r = searchRegex(q);
      input.classList.toggle('bad', r.bad);
      const found = matchFrames(m, r.re, looksLikePath(q));
      const w = matchedWeight(m.tree, found.hit);
      $('match').textContent = found.count ? 'Matched ' + fmtPct(w, m.total) + ' (' + fmtWeight(w, m.unit) + ', ' +
        intFmt.format(found.count) + (found.count === 1 ? ' function)' : ' functions)') : 'No match';
      view.setHighlight(found.hit);
      table.filter = found.hit;
      table.render();
    };
    table = new Table(m, function (f) {
      input.value = '^' + escapeRegex(m.frames.name[f]) + '$';
      search();
      window.scrollTo({ top: 0 });
    });
    view.attach(function (i) { crumb(m, i); });
    view.resize();
    crumb(m, 0);
    table.render();
    let timer = 0;
    input.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(search, 120); });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { clearTimeout(timer); search(); }
      if (e.key === 'Escape') { input.value = ''; search(); input.blur(); e.stopPropagation(); }
    });
    $('reset').addEventListener('click', function () { view.setZoom(0); });
    document.addEventListener('keydown', function (e) {
      if (e.target === input) return;
      if (e.key === 'Escape') view.setZoom(0);
      if (e.key === '/') { e.preventDefault(); input.focus(); }
    });
    exposeForTests(m, view, search);
  }

  /* A small read-only handle for tests and the curious (console). */
  function exposeForTests(m, view, search) {
    window.nodeprof = {
      ready: true,
      kind: m.kind,
      unit: m.unit,
      total: m.total,
      nodes: m.tree.size,
      maxDepth: m.tree.maxDepth,
      zoomed: function () { return view.zoom; },
      find: function (name) {
        let best = -1;
        for (let i = 0; i < m.tree.size; i++) {
          if (m.frames.name[m.tree.F[i]] === name && (best < 0 || m.tree.T[i] > m.tree.T[best])) best = i;
        }
        return best;
      },
      deepest: function () {
        let best = 0;
        for (let i = 0; i < m.tree.size; i++) if (m.tree.D[i] > m.tree.D[best]) best = i;
        return best;
      },
      depth: function (i) { return m.tree.D[i]; },
      rectOf: function (i) { return view.rectOf(i); },
      canvasRect: function () { const b = view.canvas.getBoundingClientRect(); return { x: b.left, y: b.top, w: b.width, h: b.height }; },
      scrollToNode: function (i) { view.wrap.scrollTop = Math.max(0, (m.tree.D[i] - 2) * ROW); view.draw(); },
      search: function (q) { $('search').value = q; search(); },
      /* Every function with a cost: name, url, 1-based line, self, total. */
      functions: function () {
        const fr = m.frames, out = [];
        for (let f = 0; f < fr.name.length; f++) {
          if (m.stats.self[f] > 0 || m.stats.total[f] > 0) {
            out.push({ name: fr.name[f], url: fr.url[f], line: fr.line[f] + 1, self: m.stats.self[f], total: m.stats.total[f] });
          }
        }
        return out;
      },
      redrawMs: function () { const t0 = performance.now(); view.draw(); return performance.now() - t0; },
    };
  }

  function fail(err) {
    const s = $('status');
    s.hidden = false;
    s.className = 'status error';
    s.textContent = 'Cannot show this profile: ' + (err && err.message ? err.message : String(err));
    console.error(err);
  }

  function main() {
    const data = $('profile-data');
    let text = data.textContent;
    data.remove();
    let prof;
    try { prof = JSON.parse(text); } catch (e) { fail(new Error('the embedded profile is not valid JSON (' + e.message + ')')); return; }
    text = null;
    try { readFrameMap(); } catch (e) { fail(new Error('the embedded frame map is not valid JSON (' + e.message + ')')); return; }
    try { readNodeCosts(); } catch (e) { fail(new Error('the embedded node costs are not valid JSON (' + e.message + ')')); return; }
    let model;
    try { model = buildModel(prof); } catch (e) { fail(e); return; }
    prof = null;
    try { start(model); } catch (e) { fail(e); }
  }

  /* Let "Loading profile..." paint before the work starts. */
  setTimeout(main, 0);
})();
