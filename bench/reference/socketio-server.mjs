// Minimal reference Socket.IO rooms server (namespace /realtime, default path /socket.io):
// the ceiling for Socket.IO on this machine. Each update is emitted once to the room `asset:SYMBOL`
// (Socket.IO encodes a broadcast once); the payload is the same envelope as the project's.
// Env: PORT (0 = any), REDIS_URL, REDIS_PREFIX. Prints "LISTENING <port>" when ready.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const seqs = new Map(); // symbol -> last seq
const envelope = (type, data) => ({ type, data, timestamp: new Date().toISOString() });
const num = (s) => (s == null ? null : Number(s));

const http = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(http, { serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 65536 });
const nsp = io.of('/realtime');
let nextId = 0;
nsp.on('connection', (socket) => {
  socket.emit('connection', envelope('connection', { status: 'connected', connection_id: String(++nextId), authenticated: false, user_id: null }));
  socket.on('ping', (_msg, ack) => (typeof ack === 'function' ? ack({ ok: true }) : socket.emit('pong', envelope('pong', {}))));
  socket.on('subscribe_asset', (msg, ack) => {
    const data = msg?.type ? msg.data : msg; // a bare {symbol} or a full envelope
    const wanted = (data?.symbols ?? [data?.symbol]).map((s) => String(s).toUpperCase());
    for (const sym of wanted) socket.join(`asset:${sym}`);
    const subscriptions = { assets: [...socket.rooms].filter((r) => r.startsWith('asset:')).map((r) => r.slice(6)), portfolios: [] };
    if (typeof ack === 'function') ack({ ok: true, symbols: wanted, subscriptions });
    else socket.emit('subscribed', envelope('subscribed', { symbols: wanted, subscriptions }));
  });
});

const prefix = process.env.REDIS_PREFIX ?? 'rm:';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
redis.on('message', (_channel, raw) => {
  // The source sends the project's signed envelope {v, sig, body}; the reference trusts it and reads the body.
  const { ticks, published_at } = JSON.parse(raw).body;
  const rooms = nsp.adapter.rooms;
  for (const t of ticks) {
    const seq = (seqs.get(t.symbol) ?? 0) + 1;
    seqs.set(t.symbol, seq);
    const room = `asset:${t.symbol}`;
    if (!rooms.get(room)?.size) continue;
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
    nsp.to(room).emit('asset_update', envelope('asset_update', data));
  }
});
await redis.subscribe(`${prefix}prices.committed`);
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`LISTENING ${http.address().port}`));
process.on('SIGTERM', () => {
  redis.disconnect();
  io.close(() => process.exit(0));
});
