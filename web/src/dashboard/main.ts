import '../shared/styles.css';
import './dashboard.css';
import { RealtimeClient, type AssetJson, type UserJson } from '../../../client';
import * as rest from '../shared/api';
import { ApiError } from '../shared/api';
import { attachAutocomplete } from '../shared/autocomplete';
import { bindConnectionIndicator } from '../shared/connection-indicator';
import { $, notify, setText } from '../shared/dom';
import { Market } from './market';
import { PortfolioPanel } from './portfolio';
import { Watchlist } from './watchlist';

// Behind a proxy that refuses WebSocket upgrades: Server-Sent Events after 4 failed attempts in a row.
const client = new RealtimeClient({ transport: 'websocket', keepAliveMs: 20_000, sseFallback: 4 });
(window as unknown as { realtime: RealtimeClient }).realtime = client; // for the console

const showState = bindConnectionIndicator($('#conn'), () => client);
client.onState(showState);
client.on('error', (e) => {
  // Replies to our own requests are handled where they were made.
  if (e.id === null) notify(`Server: ${e.message}`);
});

let catalog = new Map<string, AssetJson>();
const getCatalog = () => catalog;

const market = new Market(client);
const watchlist = new Watchlist($('#watchlist'), $('#watch-count'), market, getCatalog);
const portfolio = new PortfolioPanel(client, market, getCatalog);

// ---------------------------------------------------------------- watchlist form
const watchForm = $<HTMLFormElement>('#watch-form');
const watchInput = $<HTMLInputElement>('[data-testid="watch-input"]');
attachAutocomplete(watchInput, {
  exclude: () => new Set(watchlist.list),
  onPick: (a) => {
    watchInput.value = '';
    void watchlist.add(a.symbol);
  },
});
watchForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = watchInput.value.trim();
  if (!v) return;
  void watchlist.add(v).then((ok) => {
    if (ok) watchInput.value = '';
  });
});

// ---------------------------------------------------------------- auth
const loginForm = $<HTMLFormElement>('#login-form');
const loginError = $('[data-testid="login-error"]');
const userBox = $('#user-box');
const userName = $('#user-name');

function showUser(user: UserJson | null): void {
  loginForm.hidden = !!user;
  userBox.hidden = !user;
  setText(userName, user?.username ?? '');
  if (user) void portfolio.show();
  else portfolio.hide();
}

loginForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const data = new FormData(loginForm);
  setText(loginError, '');
  const button = loginForm.querySelector('button')!;
  button.disabled = true;
  try {
    const user = await rest.login(String(data.get('username') ?? ''), String(data.get('password') ?? ''));
    loginForm.reset();
    // The socket handshake carries the session: reconnect so it is authenticated.
    client.reconnectNow('logged in');
    showUser(user);
  } catch (err) {
    setText(loginError, err instanceof ApiError && err.status === 401 ? 'Wrong username or password' : (err as Error).message);
  } finally {
    button.disabled = false;
  }
});

$('#logout').addEventListener('click', async () => {
  try {
    await rest.logout();
  } catch (err) {
    notify(`Logout failed: ${(err as Error).message}`);
    return;
  }
  showUser(null);
  client.reconnectNow('logged out');
});

// ---------------------------------------------------------------- start
watchlist.start();
client.connect();

rest
  .allAssets()
  .then((assets) => {
    catalog = new Map(assets.map((a) => [a.symbol, a]));
    watchlist.refreshNames();
  })
  .catch((err: unknown) => notify(`Could not load the asset list: ${(err as Error).message}`));

rest
  .me()
  .then(showUser)
  .catch(() => showUser(null));
