// Preloaded (`node -r bench/lib/probe.cjs`) into every server the bench starts (project and references).
// Answers the driver over IPC: memory after a full GC (needs --expose-gc), and a CPU profile of
// exactly the measured part (inspector Profiler, written to the file the driver names). Changes
// nothing else and does not keep the process alive.
'use strict';
const { writeFileSync } = require('node:fs');
const inspector = require('node:inspector');

let session = null;

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
