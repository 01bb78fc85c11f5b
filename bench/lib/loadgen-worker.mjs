// Load generator worker (forked by the driver; one of several, each its own process).
// Opens raw WebSocket or Socket.IO (Engine.IO v4 over WebSocket, no polling) connections on loopback,
// subscribes each to its symbols, and measures per window: deliveries whose published_at lies in
// the window, latency published_at -> receipt (HDR histogram, µs), frames, errors, its own CPU.
// Frames are scanned as bytes (no JSON.parse per update) so the generator stays cheap.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeHistogram, newLatencyHistogram, parseNumberAt, percentile } from './stats.mjs';

const SUBSCRIBED = Buffer.from('"type":"subscribed"');
const ERROR_TYPE = Buffer.from('"type":"error"');
const OK_TRUE = Buffer.from('"ok":true');

const clients = [];
let win = { t0: Infinity, t1: -Infinity };
let stats = freshStats();
let lastRecvAt = 0;
const totals = { serverErrors: 0, closes: 0, unexpectedCloses: 0, errorSamples: [] };
let closing = false;

function freshStats() {
  return { received: 0, frames: 0, hist: newLatencyHistogram(), outOfWindow: 0 };
}

const nowMs = () => performance.timeOrigin + performance.now();

function noteError(text) {
  totals.serverErrors++;
  if (totals.errorSamples.length < 5) totals.errorSamples.push(String(text).slice(0, 300));
}

const PA = Buffer.from('"published_at":');

/**
 * A lean WebSocket client on a raw TCP socket: one HTTP upgrade, then frames are walked in place in
 * each TCP chunk (no per-message Buffer or event), and `published_at` values are read where they lie.
 * Client frames are masked with a zero key (valid framing, no XOR cost). Servers here never fragment.
 */
function openLean(client, { host, port, path, onOpen, onOther }, done) {
  // localAddress: the source address (any of 127/8 on Linux); one gives only ~28,000 ephemeral ports (scale scenario).
  const sock = connect(client.localAddress ? { host, port, localAddress: client.localAddress } : { host, port });
  client.sock = sock;
  sock.setNoDelay(true);
  const key = randomBytes(16).toString('base64');
  let upgraded = false;
  let buf = null;
  sock.on('connect', () => {
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  sock.on('data', (chunk) => {
    buf = buf === null ? chunk : Buffer.concat([buf, chunk]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.toString('latin1', 0, end);
      if (!/^HTTP\/1\.1 101/.test(head)) {
        done(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
        sock.destroy();
        return;
      }
      upgraded = true;
      buf = buf.length === end + 4 ? null : buf.subarray(end + 4);
      onOpen();
      if (buf === null) return;
    }
    let off = 0;
    let nextPa = client.markSlow ? -1 : buf.indexOf(PA, 0); // slow clients are never measured
    let now = 0;
    let counted = false;
    const n = buf.length;
    while (n - off >= 2) {
      const b0 = buf[off];
      let len = buf[off + 1] & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      const start = off + hdr;
      const end = start + len;
      if (end > n) break;
      const opcode = b0 & 0x0f;
      if (nextPa !== -1 && nextPa < start) nextPa = buf.indexOf(PA, start);
      if (opcode <= 2 && nextPa !== -1 && nextPa < end) {
        // an update frame (one asset_update, or a batched asset_updates with several)
        if (now === 0) now = nowMs();
        let inWin = false;
        while (nextPa !== -1 && nextPa < end) {
          const p = parseNumberAt(buf, nextPa + PA.length);
          if (p >= win.t0 && p <= win.t1) {
            stats.received++;
            stats.hist.recordValue(Math.max(1, Math.round((now - p) * 1000)));
            inWin = true;
          } else stats.outOfWindow++;
          nextPa = buf.indexOf(PA, nextPa + PA.length);
        }
        if (inWin) stats.frames++;
        counted = true;
      } else if (opcode === 0x9) {
        sendFrame(sock, 0xa, buf.subarray(start, end));
      } else if (opcode === 0x8) {
        sock.end();
      } else if (opcode <= 2 && !client.slow) {
        onOther(buf.subarray(start, end));
      }
      off = end;
    }
    if (counted) lastRecvAt = now;
    buf = off === n ? null : buf.subarray(off);
  });
  sock.on('error', (err) => done(err));
  sock.on('close', () => onClose(client, done));
}

const ZERO_MASK = Buffer.alloc(4);
function sendFrame(sock, opcode, payload) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0x80 | opcode, 0x80 | len]);
  } else if (len < 65536) {
    head = Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  } else throw new RangeError('frame too large');
  sock.write(Buffer.concat([head, ZERO_MASK, payload]));
}
const sendText = (sock, text) => sendFrame(sock, 0x1, Buffer.from(text));

// ---------- raw WebSocket (the guide's JSON envelopes) ----------
function openWs(client, target, done) {
  openLean(
    client,
    {
      ...target,
      onOpen: () => {
        let id = 0;
        for (const symbol of client.symbols) sendText(client.sock, JSON.stringify({ type: 'subscribe_asset', data: { symbol }, id: `s${++id}` }));
      },
      onOther: (frame) => {
        if (frame.indexOf(ERROR_TYPE) !== -1) {
          noteError(frame.toString());
          if (!client.ready) done(new Error(`server error: ${frame.toString().slice(0, 200)}`));
          return;
        }
        if (!client.ready && frame.indexOf(SUBSCRIBED) !== -1 && ++client.acks >= client.symbols.length) done(null);
      },
    },
    done,
  );
}

// ---------- Socket.IO (Engine.IO v4 packets over the same lean WebSocket, no polling) ----------
function openSio(client, target, done) {
  const ns = target.namespace;
  const connectedPrefix = Buffer.from(`40${ns},`);
  const ackPrefix = Buffer.from(`43${ns},`);
  const eventPrefix = Buffer.from(`42${ns},`);
  const connectErrPrefix = Buffer.from(`44${ns},`);
  openLean(
    client,
    {
      ...target,
      onOpen: () => {},
      onOther: (frame) => {
        const c0 = frame[0];
        if (c0 === 0x32 && frame.length === 1) return sendText(client.sock, '3'); // engine.io ping -> pong
        if (c0 === 0x30) return sendText(client.sock, `40${ns},`); // engine.io open -> join the namespace
        if (startsWith(frame, connectedPrefix)) {
          let id = 0;
          for (const symbol of client.symbols) sendText(client.sock, `42${ns},${++id}${JSON.stringify(['subscribe_asset', { symbol }])}`);
          return;
        }
        if (startsWith(frame, ackPrefix)) {
          if (frame.indexOf(OK_TRUE) === -1) {
            noteError(frame.toString());
            if (!client.ready) done(new Error(`subscribe refused: ${frame.toString().slice(0, 200)}`));
            return;
          }
          if (!client.ready && ++client.acks >= client.symbols.length) done(null);
          return;
        }
        if (startsWith(frame, eventPrefix) && frame.indexOf('["error"') === eventPrefix.length) return noteError(frame.toString());
        if (startsWith(frame, connectErrPrefix)) done(new Error(`namespace refused: ${frame.toString().slice(0, 200)}`));
      },
    },
    done,
  );
}

function startsWith(buf, prefix) {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

function onClose(client, done) {
  totals.closes++;
  if (!closing) totals.unexpectedCloses++;
  client.open = false;
  done(new Error('connection closed before ready'));
}

/** Opens `specs` with at most `concurrency` handshakes in flight; bounded by `deadlineMs`. */
async function connectAll({ host, port, path, transport, namespace, specs, concurrency, deadlineMs, perClientTimeoutMs }) {
  const target = { host, port, path, namespace };
  const started = performance.now();
  const setupTimes = [];
  let ready = 0;
  let failed = 0;
  const failures = {};
  let next = 0;
  await new Promise((resolveAll) => {
    let inFlight = 0;
    const deadline = setTimeout(() => {
      next = specs.length;
      resolveAll();
    }, deadlineMs);
    const launch = () => {
      while (inFlight < concurrency && next < specs.length) {
        const spec = specs[next++];
        const client = {
          index: spec.index,
          symbols: spec.symbols,
          localAddress: spec.localAddress ?? null,
          slow: false,
          markSlow: !!spec.slow,
          acks: 0,
          ready: false,
          open: true,
          sock: null,
        };
        clients.push(client);
        inFlight++;
        const t0 = performance.now();
        let settled = false;
        const timer = setTimeout(() => finish(new Error('setup timeout')), perClientTimeoutMs);
        const finish = (err) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          inFlight--;
          if (err) {
            failed++;
            const key = err.message.slice(0, 120);
            failures[key] = (failures[key] ?? 0) + 1;
            client.sock?.destroy();
          } else {
            client.ready = true;
            ready++;
            setupTimes.push(performance.now() - t0);
          }
          if (ready + failed === specs.length) {
            clearTimeout(deadline);
            resolveAll();
          } else launch();
        };
        if (transport === 'sio') openSio(client, target, finish);
        else openWs(client, target, finish);
      }
    };
    launch();
  });
  return {
    ready,
    failed,
    failures,
    elapsedMs: performance.now() - started,
    setupP50Ms: percentile(setupTimes, 50),
    setupP99Ms: percentile(setupTimes, 99),
  };
}

/**
 * Closes every client. `reset`: with an RST (no FIN), so no client socket stays in TIME_WAIT: sockets that
 * were bound to a source address (localAddress) would otherwise keep their ports from every connect() on the
 * machine for a minute (the scale scenario's tens of thousands would nearly exhaust the ephemeral range).
 */
async function disconnectAll(timeoutMs, reset = false) {
  closing = true;
  const open = clients.filter((c) => c.open && c.sock);
  await new Promise((resolve) => {
    let left = open.length;
    if (left === 0) return resolve();
    const timer = setTimeout(resolve, timeoutMs);
    for (const c of open) {
      c.sock.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      if (reset) c.sock.resetAndDestroy();
      else c.sock.destroy();
    }
  });
  clients.length = 0;
  closing = false;
}

const handlers = {
  async connect(m) {
    return connectAll(m);
  },
  window(m) {
    win = { t0: m.t0, t1: m.t1 };
    stats = freshStats();
    return { ok: true };
  },
  collect() {
    return {
      received: stats.received,
      frames: stats.frames,
      outOfWindow: stats.outOfWindow,
      hist: encodeHistogram(stats.hist),
      cpu: process.cpuUsage(),
      lastRecvAt,
      open: clients.filter((c) => c.open && c.ready).length,
      ...totals,
    };
  },
  status() {
    return { lastRecvAt, cpu: process.cpuUsage(), now: nowMs(), rss: process.memoryUsage.rss() };
  },
  stall() {
    let n = 0;
    for (const c of clients) {
      if (c.markSlow && c.open && c.ready) {
        c.slow = true;
        c.sock.pause();
        n++;
      }
    }
    return { stalled: n };
  },
  async disconnect(m) {
    await disconnectAll(m.timeoutMs ?? 10_000, !!m.reset);
    return { ok: true };
  },
};

process.on('message', async (m) => {
  if (m.cmd === 'exit') {
    await disconnectAll(2_000);
    process.exit(0);
  }
  try {
    const result = await handlers[m.cmd](m);
    process.send({ reqId: m.reqId, ok: true, result });
  } catch (err) {
    process.send({ reqId: m.reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
