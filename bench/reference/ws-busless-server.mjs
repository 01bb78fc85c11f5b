// Bus-less reference raw-WebSocket fan-out server: the ceiling for Node on this machine without a bus.
// Same subscribe protocol and `asset_update` envelope as ws-server.mjs (and the project's /ws/realtime/),
// but the prices are ticked in this process (./ticker.mjs, driven by the bench over IPC): no Redis, no
// bus message to parse. A `symbol -> Set<socket>` map; each update is serialised once into a Buffer and
// sent to every subscriber of its symbol.
// Env: PORT (0 = any). Prints "LISTENING <port>" when ready.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serveTicker } from './ticker.mjs';

const subs = new Map(); // symbol -> Set<WebSocket>
const envelope = (type, data, id) =>
  JSON.stringify(id === undefined ? { type, data, timestamp: new Date().toISOString() } : { type, data, timestamp: new Date().toISOString(), id });

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

serveTicker((symbol, data) => {
  const set = subs.get(symbol);
  if (!set || set.size === 0) return;
  const frame = Buffer.from(envelope('asset_update', data)); // serialised once, sent to every subscriber
  for (const ws of set) if (ws.readyState === 1) ws.send(frame, { binary: false });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`LISTENING ${http.address().port}`));
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  http.close(() => process.exit(0));
});
