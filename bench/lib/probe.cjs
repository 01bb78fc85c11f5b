// Preloaded (`node -r bench/lib/probe.cjs`) into every server the bench starts (project and references):
// answers the driver's IPC request for memory after a full GC (needs --expose-gc). Reads nothing else,
// changes nothing, and does not keep the process alive.
'use strict';
if (typeof process.send === 'function') {
  process.on('message', (m) => {
    if (!m || m.probe !== 'mem') return;
    if (typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    const mu = process.memoryUsage();
    process.send({ probe: 'mem', reqId: m.reqId, rss: mu.rss, heapUsed: mu.heapUsed, heapTotal: mu.heapTotal, external: mu.external, arrayBuffers: mu.arrayBuffers });
  });
  if (process.channel && typeof process.channel.unref === 'function') process.channel.unref();
}
