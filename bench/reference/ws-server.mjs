// Minimal reference raw-WebSocket fan-out server: the ceiling for Node on this machine.
// Same wire shape as the project's /ws/realtime/ asset_update envelope. Prices arrive on the
// same Redis channel the project listens to (`${REDIS_PREFIX}prices.committed`).
// Env: PORT (0 = any), REDIS_URL, REDIS_PREFIX. Prints "LISTENING <port>" when ready.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';

const subs = new Map(); // symbol -> Set<WebSocket>
const seqs = new Map(); // symbol -> last seq
const envelope = (type, data, id) =>
  JSON.stringify(id === undefined ? { type, data, timestamp: new Date().toISOString() } : { type, data, timestamp: new Date().toISOString(), id });
const num = (s) => (s == null ? null : Number(s));

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ noServer: true, maxPayload: 65536 });
http.on('upgrade', (req, socket, head) => {
  if (!req.url.startsWith('/ws/realtime')) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
});

let nextId = 0;
wss.on('connection', (ws) => {
  const mine = new Set();
  ws.send(envelope('connection', { status: 'connected', connection_id: String(++nextId), authenticated: false, user_id: null }));
  ws.on('message', (raw) => {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return ws.send(envelope('error', { code: 'INVALID_JSON', message: 'bad JSON' }));
    }
    if (msg.type === 'ping') return ws.send(envelope('pong', {}, msg.id));
    if (msg.type !== 'subscribe_asset') return ws.send(envelope('error', { code: 'UNKNOWN_TYPE', message: String(msg.type) }, msg.id));
    const wanted = msg.data?.symbols ?? [msg.data?.symbol];
    for (const s of wanted) {
      const sym = String(s).toUpperCase();
      mine.add(sym);
      let set = subs.get(sym);
      if (!set) subs.set(sym, (set = new Set()));
      set.add(ws);
    }
    ws.send(envelope('subscribed', { symbols: wanted, subscriptions: { assets: [...mine], portfolios: [] } }, msg.id));
  });
  ws.on('close', () => {
    for (const s of mine) subs.get(s)?.delete(ws);
  });
  ws.on('error', () => {});
});

const prefix = process.env.REDIS_PREFIX ?? 'rm:';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
redis.on('message', (_channel, raw) => {
  // The source sends the project's signed envelope {v, sig, body}; the reference trusts it and reads the body.
  const { ticks, published_at } = JSON.parse(raw).body;
  for (const t of ticks) {
    const set = subs.get(t.symbol);
    const seq = (seqs.get(t.symbol) ?? 0) + 1;
    seqs.set(t.symbol, seq);
    if (!set || set.size === 0) continue;
    const price = Number(t.price),
      prev = num(t.previous_close);
    const change = prev == null ? 0 : price - prev;
    const data = {
      symbol: t.symbol,
      price,
      change,
      change_percent: prev ? (change / prev) * 100 : 0,
      volume: num(t.volume),
      high: num(t.high),
      low: num(t.low),
      previous_close: prev,
      as_of: t.as_of,
      source: t.source,
      seq,
      published_at,
    };
    const frame = Buffer.from(envelope('asset_update', data)); // serialised once, sent to every subscriber
    for (const ws of set) if (ws.readyState === 1) ws.send(frame, { binary: false });
  }
});
await redis.subscribe(`${prefix}prices.committed`);
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`LISTENING ${http.address().port}`));
process.on('SIGTERM', () => {
  redis.disconnect();
  for (const ws of wss.clients) ws.terminate();
  http.close(() => process.exit(0));
});
