// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, and the share of time
// under project code (dist/) versus node_modules and Node internals. Used with BENCH_PROFILE.
export function summariseProfile(profile, { top = 20, root = '' } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Leave out the profiler's own work (Profiler.stop serialising the profile under node:inspector).
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const profilerOwn = new Set();
  for (const n of profile.nodes) {
    for (let cur = n.id, k = 0; cur !== undefined && k < 64; cur = parent.get(cur), k++) {
      if (byId.get(cur).callFrame.url === 'node:inspector') {
        profilerOwn.add(n.id);
        break;
      }
    }
  }
  const self = new Map(); // node id -> µs
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    if (profilerOwn.has(id)) continue;
    self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const fnSelf = new Map();
  const bucket = { idle: 0, gc: 0, program: 0, project: 0, node_modules: 0, node: 0 };
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const url = cf.url.replace('file://', '').replace(root, '');
    const name = cf.functionName || '(anonymous)';
    if (name === '(idle)') bucket.idle += us;
    else if (name === '(garbage collector)') bucket.gc += us;
    else if (name === '(program)') bucket.program += us;
    else if (url.includes('node_modules')) bucket.node_modules += us;
    else if (url.startsWith('node:') || url === '') bucket.node += us;
    else bucket.project += us;
    const key = `${name} ${url ? `${url.split('node_modules/').pop()}:${cf.lineNumber + 1}` : '(native)'}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  }
  const busy = total - bucket.idle || 1;
  const pct = (us) => Math.round((1000 * us) / busy) / 10;
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    share: Object.fromEntries(
      Object.entries(bucket)
        .filter(([k]) => k !== 'idle')
        .map(([k, v]) => [k, pct(v)]),
    ),
    top: [...fnSelf.entries()]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, selfPct: pct(us), selfMs: Math.round(us / 1000) })),
  };
}

/**
 * The profile's long tasks: stretches of consecutive busy samples (not idle) longer than `minMs`,
 * each with its duration and the functions that held it, by inclusive time (a function counted once
 * per sample however deep it recurs; url-less and Node-internal frames left out). Where a latency
 * tail comes from: a stretch of `minMs` delays every frame due in it by up to that much.
 */
export function longTasks(profile, { minMs = 8, top = 6, root = '' } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (cf) =>
    `${cf.functionName || '(anonymous)'} ${cf.url.replace('file://', '').replace(root, '').split('node_modules/').pop()}:${cf.lineNumber + 1}`;
  const isIdle = (id) => byId.get(id)?.callFrame.functionName === '(idle)';
  const tasks = [];
  let cur = null;
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const us = deltas[i] ?? 0;
    if (isIdle(id)) {
      if (cur) tasks.push(cur);
      cur = null;
      continue;
    }
    cur ??= { us: 0, fns: new Map() };
    cur.us += us;
    const seen = new Set();
    for (let n = id, k = 0; n !== undefined && k < 128; n = parent.get(n), k++) {
      const cf = byId.get(n).callFrame;
      if (!cf.url || cf.url.startsWith('node:')) {
        if (cf.functionName === '(garbage collector)' && !seen.has('(garbage collector)')) {
          seen.add('(garbage collector)');
          cur.fns.set('(garbage collector)', (cur.fns.get('(garbage collector)') ?? 0) + us);
        }
        continue;
      }
      const key = label(cf);
      if (seen.has(key)) continue;
      seen.add(key);
      cur.fns.set(key, (cur.fns.get(key) ?? 0) + us);
    }
  }
  if (cur) tasks.push(cur);
  return tasks
    .filter((t) => t.us >= minMs * 1000)
    .sort((a, b) => b.us - a.us)
    .map((t) => ({
      ms: Math.round(t.us / 100) / 10,
      held: [...t.fns.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([fn, us]) => `${fn} ${Math.round(us / 100) / 10} ms`),
    }));
}
