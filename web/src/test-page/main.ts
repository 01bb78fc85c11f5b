import '../shared/styles.css';
import './test-page.css';
import { RealtimeClient, RealtimeError, type Frame, type TransportKind } from '../../../client';
import { bindConnectionIndicator } from '../shared/connection-indicator';
import { $, h, setText } from '../shared/dom';

const MAX_ROWS = 1000;

const TEMPLATES: Record<string, unknown> = {
  ping: { type: 'ping', data: {} },
  subscribe_asset: { type: 'subscribe_asset', data: { symbol: 'AAPL' } },
  subscribe_assets: { type: 'subscribe_asset', data: { symbols: ['AAPL', 'MSFT', 'BTC-USD'] } },
  unsubscribe_asset: { type: 'unsubscribe_asset', data: { symbol: 'AAPL' } },
  subscribe_portfolio: { type: 'subscribe_portfolio', data: { portfolio_id: 1 } },
  unsubscribe_portfolio: { type: 'unsubscribe_portfolio', data: { portfolio_id: 1 } },
  list_subscriptions: { type: 'list_subscriptions', data: {} },
  set_options: { type: 'set_options', data: { batch_ms: 100 } },
  unknown_type: { type: 'no_such_type', data: {} },
};

let client: RealtimeClient | undefined;
let stopWatching: (() => void) | undefined;
let counts = { in: 0, out: 0 };

const connectBtn = $<HTMLButtonElement>('#connect');
const disconnectBtn = $<HTMLButtonElement>('#disconnect');
const autoReconnect = $<HTMLInputElement>('#auto-reconnect');
const endpoint = $('#endpoint');
const rtt = $('#rtt');
const rawEditor = $<HTMLTextAreaElement>('#raw');
const rawError = $('#raw-error');
const logEl = $('#log');
const logStats = $('#log-stats');
const logFilter = $<HTMLInputElement>('#log-filter');
const logFollow = $<HTMLInputElement>('#log-follow');

const showState = bindConnectionIndicator($('#conn'), () => client);

function transport(): TransportKind {
  return (document.querySelector<HTMLInputElement>('input[name="transport"]:checked')?.value as TransportKind) ?? 'websocket';
}

function describeEndpoint(): void {
  const origin = location.origin;
  setText(
    endpoint,
    transport() === 'websocket' ? `${origin.replace(/^http/, 'ws')}/ws/realtime/` : `${origin}/realtime  (Socket.IO namespace, path /socket.io)`,
  );
}

// ---------------------------------------------------------------- log

let pending: HTMLElement[] = [];
let scheduled = false;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}
function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function addRow(row: HTMLElement): void {
  pending.push(row);
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const rows = pending;
    pending = [];
    const filter = logFilter.value.trim().toLowerCase();
    for (const r of rows) if (filter && !(r.dataset.type ?? '').includes(filter)) r.hidden = true;
    logEl.append(...rows);
    while (logEl.childElementCount > MAX_ROWS) logEl.firstElementChild?.remove();
    setText(logStats, `${counts.in} in · ${counts.out} out`);
    if (logFollow.checked) logEl.scrollTop = logEl.scrollHeight;
  });
}

function logFrame(f: Frame): void {
  counts[f.direction]++;
  let pretty = f.text;
  if (f.envelope !== undefined) {
    try {
      pretty = JSON.stringify(f.envelope, null, 2);
    } catch {
      // keep raw text
    }
  }
  const p = h('span', { class: 'p' }, f.text);
  const row = h(
    'div',
    { class: 'frame', 'data-dir': f.direction, 'data-type': f.type, 'data-testid': 'frame' },
    h('span', { class: 't' }, clock(f.at)),
    h('span', { class: 'd', title: f.direction === 'in' ? 'received' : 'sent' }, f.direction === 'in' ? '←' : '→'),
    h('span', { class: 'ty' }, f.type),
    p,
  );
  row.addEventListener('click', () => {
    const open = row.classList.toggle('open');
    p.textContent = open ? pretty : f.text;
  });
  addRow(row);
}

function logNote(text: string): void {
  addRow(
    h(
      'div',
      { class: 'frame note', 'data-type': 'note' },
      h('span', { class: 't' }, clock(Date.now())),
      h('span', { class: 'd' }, '·'),
      h('span', { class: 'ty' }, 'client'),
      h('span', { class: 'p' }, text),
    ),
  );
}

logFilter.addEventListener('input', () => {
  const filter = logFilter.value.trim().toLowerCase();
  for (const row of Array.from(logEl.children) as HTMLElement[]) row.hidden = !!filter && !(row.dataset.type ?? '').includes(filter);
});
$('#log-clear').addEventListener('click', () => {
  logEl.replaceChildren();
  counts = { in: 0, out: 0 };
  setText(logStats, '0 in · 0 out');
});

// ---------------------------------------------------------------- connection

function connect(): void {
  stopWatching?.();
  client?.dispose();
  const c = new RealtimeClient({ transport: transport(), reconnect: autoReconnect.checked ? {} : false });
  client = c;
  c.onFrame(logFrame);
  stopWatching = c.onState((s) => {
    showState(s);
    const live = s.state !== 'offline';
    connectBtn.disabled = live;
    disconnectBtn.disabled = !live;
    for (const el of document.querySelectorAll<HTMLInputElement>('input[name="transport"]')) el.disabled = live;
    if (s.state === 'connected' && s.connection) {
      setText($('#conn-id'), s.connection.connection_id);
      setText($('#conn-user'), s.connection.authenticated ? `user ${s.connection.user_id}` : 'anonymous');
      setText($('#conn-heartbeat'), `${s.connection.heartbeat_interval}s (timeout ${s.connection.connection_timeout}s)`);
    } else if (s.state !== 'connected') {
      setText($('#conn-id'), '—');
    }
    const extra = s.retryInMs !== undefined ? ` (retry in ${s.retryInMs} ms, attempt ${s.attempt})` : '';
    logNote(`${s.state}${s.reason ? `: ${s.reason}` : ''}${extra}`);
  });
  c.connect();
}

connectBtn.addEventListener('click', connect);
disconnectBtn.addEventListener('click', () => client?.disconnect('disconnect clicked'));
for (const el of document.querySelectorAll<HTMLInputElement>('input[name="transport"]')) el.addEventListener('change', describeEndpoint);

// ---------------------------------------------------------------- actions

async function run(action: (c: RealtimeClient) => Promise<unknown>): Promise<void> {
  if (!client || client.state !== 'connected') {
    logNote('not connected');
    return;
  }
  try {
    await action(client);
  } catch (err) {
    // Server errors are in the log already (the `error` frame); client-side ones are noted.
    if (!(err instanceof RealtimeError) || ['NOT_CONNECTED', 'TIMEOUT', 'DISCONNECTED', 'VALIDATION_FAILED'].includes(err.code)) {
      logNote(err instanceof Error ? err.message : String(err));
    }
  }
}

function symbols(): string[] {
  return $<HTMLInputElement>('#symbol')
    .value.split(/[\s,]+/)
    .filter(Boolean);
}
function portfolioId(): number {
  return Number($<HTMLInputElement>('#portfolio-id').value.trim());
}

$('#ping').addEventListener(
  'click',
  () =>
    void run(async (c) => {
      rtt.textContent = 'waiting…';
      try {
        const { rttMs } = await c.ping();
        rtt.replaceChildren('pong in ', h('b', { 'data-testid': 'rtt-value' }, `${rttMs.toFixed(1)} ms`));
      } catch (err) {
        rtt.textContent = `no pong (${(err as Error).message})`;
        throw err;
      }
    }),
);
$('#sub-asset').addEventListener('click', () => void run((c) => c.subscribeAssets(symbols())));
$('#unsub-asset').addEventListener('click', () => void run((c) => c.unsubscribeAssets(symbols())));
$('#sub-portfolio').addEventListener('click', () => void run((c) => c.subscribePortfolio(portfolioId())));
$('#unsub-portfolio').addEventListener('click', () => void run((c) => c.unsubscribePortfolio(portfolioId())));
$('#list').addEventListener('click', () => void run((c) => c.listSubscriptions()));

$<HTMLSelectElement>('#template').addEventListener('change', (ev) => {
  const sel = ev.target as HTMLSelectElement;
  const key = sel.value;
  if (key === 'bad_json') rawEditor.value = '{"type": "ping", "data": {';
  else if (key && TEMPLATES[key]) rawEditor.value = JSON.stringify(TEMPLATES[key], null, 2);
  sel.value = '';
  setText(rawError, '');
});
$('#send-raw').addEventListener('click', () => {
  setText(rawError, '');
  if (!client || client.state !== 'connected') {
    setText(rawError, 'Not connected');
    return;
  }
  try {
    client.sendRaw(rawEditor.value);
  } catch (err) {
    setText(rawError, (err as Error).message);
  }
});

rawEditor.value = JSON.stringify(TEMPLATES.ping, null, 2);
describeEndpoint();
connect();
