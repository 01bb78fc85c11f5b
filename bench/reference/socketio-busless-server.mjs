// Bus-less reference Socket.IO rooms server (namespace /realtime, default path /socket.io): the ceiling for
// Socket.IO on this machine without a bus. Same events and envelope as socketio-server.mjs, but the prices
// are ticked in this process (./ticker.mjs, driven by the bench over IPC): no Redis, no bus message to
// parse. Each update is emitted once to the room `asset:SYMBOL` (Socket.IO encodes a broadcast once).
// Env: PORT (0 = any). Prints "LISTENING <port>" when ready.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serveTicker } from './ticker.mjs';

const envelope = (type, data) => ({ type, data, timestamp: new Date().toISOString() });

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

const rooms = nsp.adapter.rooms;
serveTicker((symbol, data) => {
  const room = `asset:${symbol}`;
  if (!rooms.get(room)?.size) return;
  nsp.to(room).emit('asset_update', envelope('asset_update', data));
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`LISTENING ${http.address().port}`));
process.on('SIGTERM', () => {
  io.close(() => process.exit(0));
});
