// Preloaded (`node -r bench/lib/probe.cjs`) into every server the bench starts (project and references).
// Answers the driver over IPC: memory after a full GC (needs --expose-gc), a CPU profile of
// exactly the measured part (inspector Profiler, written to the file the driver names), and what
// held the event loop during a window (event-loop delay and garbage-collection pauses). Changes
// nothing else and does not keep the process alive.
'use strict';
const { writeFileSync } = require('node:fs');
const inspector = require('node:inspector');
const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');

let session = null;
/** The current window's event-loop delay histogram and GC pauses (loop-start .. loop-stop). */
let loop = null;

function startLoopWindow() {
  if (loop) stopLoopWindow();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const gc = { count: 0, ms: 0, maxMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
      if (e.duration > gc.maxMs) gc.maxMs = e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  eld.enable();
  loop = { eld, gc, obs };
}

/** Milliseconds, rounded to 0.01: the loop's delay percentiles (ns in the histogram) and GC pauses. */
function stopLoopWindow() {
  if (!loop) return null;
  const { eld, gc, obs } = loop;
  loop = null;
  eld.disable();
  obs.disconnect();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  return {
    eldP50: ms(eld.percentile(50)),
    eldP99: ms(eld.percentile(99)),
    eldMax: ms(eld.max),
    gcCount: gc.count,
    gcMs: Math.round(gc.ms * 100) / 100,
    gcMaxMs: Math.round(gc.maxMs * 100) / 100,
  };
}

if (typeof process.send === 'function') {
  const reply = (m, data) => process.send({ probe: m.probe, reqId: m.reqId, ...data });
  process.on('message', (m) => {
    if (!m || typeof m.probe !== 'string') return;
    if (m.probe === 'mem') {
      if (typeof global.gc === 'function') {
        global.gc();
        global.gc();
      }
      const mu = process.memoryUsage();
      reply(m, { rss: mu.rss, heapUsed: mu.heapUsed, heapTotal: mu.heapTotal, external: mu.external, arrayBuffers: mu.arrayBuffers });
    } else if (m.probe === 'loop-start') {
      startLoopWindow();
      reply(m, { ok: true });
    } else if (m.probe === 'loop-stop') {
      reply(m, { ok: true, loop: stopLoopWindow() });
    } else if (m.probe === 'prof-start') {
      session = new inspector.Session();
      session.connect();
      session.post('Profiler.enable', () => session.post('Profiler.start', () => reply(m, { ok: true })));
    } else if (m.probe === 'prof-stop') {
      if (!session) return reply(m, { ok: false });
      session.post('Profiler.stop', (err, res) => {
        if (!err) writeFileSync(m.file, JSON.stringify(res.profile));
        session.disconnect();
        session = null;
        reply(m, { ok: !err, file: m.file });
      });
    }
  });
  if (process.channel && typeof process.channel.unref === 'function') process.channel.unref();
}
