// nodeprof loader: NODE_OPTIONS names this file so that node loads the agent
// before the app. It binds the libnodeprof that LD_PRELOAD has already
// loaded into this process, and loads nothing new (RTLD_NOLOAD). When there
// is nothing to bind, or the agent chooses not to profile this process, it
// takes its token out of NODE_OPTIONS, so that no child inherits it.
// Under --no-addons node refuses every dlopen (ERR_DLOPEN_DISABLED): when
// the library did load its agent here, that is said in one line.
'use strict';
(() => {
  const RTLD_LAZY_NOLOAD = 1 | 4;
  let active = false, disabled = false;
  const preloaded = (process.env.LD_PRELOAD || '').split(/[ :]+/).filter(Boolean);
  for (const lib of preloaded) {
    const agent = { exports: {} };
    try {
      process.dlopen(agent, lib, RTLD_LAZY_NOLOAD);
    } catch (e) {
      if (e && e.code === 'ERR_DLOPEN_DISABLED') { disabled = true; break; }
      continue;
    }
    active = agent.exports.nodeprof === 'active';
    break;
  }
  if (active) return;
  if (disabled) sayAddonsDisabled(preloaded);
  // NODE_OPTIONS without our tokens, split as node splits it: on spaces
  // outside double quotes, where a backslash escapes the next character.
  const ours = (t) => /^--require=\S*\/nodeprof-loader\.cjs$/.test(t) ||
    t.startsWith('--import=data:text/javascript;base64,Ly8gbm9kZXByb2YgbG9hZGVy') ||
    /^--require=\S*\/nodeprof-\d+\/agent-[0-9a-f]+\.js$/.test(t);
  const tokens = [];
  let cur = '', quoted = false;
  for (let i = 0, s = process.env.NODE_OPTIONS || ''; i <= s.length; i++) {
    const c = s[i];
    if (c === undefined || (c === ' ' && !quoted)) { if (cur) tokens.push(cur); cur = ''; continue; }
    if (quoted && c === '\\' && i + 1 < s.length) { cur += c + s[++i]; continue; }
    if (c === '"') quoted = !quoted;
    cur += c;
  }
  const kept = tokens.filter((t) => !ours(t));
  if (kept.length === tokens.length) return;
  if (kept.length) process.env.NODE_OPTIONS = kept.join(' ');
  else delete process.env.NODE_OPTIONS;

  // Only where the library chose to profile this process, which is when
  // it has mapped its agent (libnodeprof-agent.so, beside it): a child
  // that inherited our token without our library stays silent.
  function sayAddonsDisabled(libs) {
    const fs = typeof require === 'function' ? require('fs') : process.getBuiltinModule?.('fs');
    if (!fs) return;
    try {
      const maps = fs.readFileSync('/proc/self/maps', 'latin1');
      const ours = libs.some((lib) => {
        try {
          const real = fs.realpathSync(lib);
          return maps.includes(`${real.slice(0, real.lastIndexOf('/'))}/libnodeprof-agent.so\n`);
        } catch { return false; }
      });
      if (ours) fs.writeSync(2, 'nodeprof: node runs with --no-addons, so nodeprof cannot load its agent; not profiling this process\n');
    } catch { /* nothing to say it with */ }
  }
})();
