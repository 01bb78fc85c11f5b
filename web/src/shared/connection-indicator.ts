import type { RealtimeClient, StateChange } from '../../../client';
import { h } from './dom';

const LABELS = { connecting: 'Connecting…', connected: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' } as const;

/**
 * The connection pill: Live / Connecting / Reconnecting (with countdown) / Offline (with Retry).
 * Fixed width, so label changes never move the header.
 */
export function bindConnectionIndicator(el: HTMLElement, getClient: () => RealtimeClient | undefined): (change: StateChange) => void {
  const dot = h('span', { class: 'dot' });
  const label = h('span', { class: 'label', 'data-testid': 'connection-label' });
  const retry = h('button', { type: 'button', hidden: true }, 'Retry');
  retry.addEventListener('click', () => getClient()?.reconnectNow('retry clicked'));
  el.replaceChildren(dot, label, retry);
  let countdown: ReturnType<typeof setInterval> | undefined;

  const show = (change: StateChange) => {
    clearInterval(countdown);
    el.dataset.state = change.state;
    const transport = getClient()?.activeTransport;
    if (transport) el.dataset.transport = transport;
    retry.hidden = change.state !== 'offline' && change.state !== 'reconnecting';
    const via = change.state === 'connected' && transport === 'sse' ? 'Server-Sent Events (WebSocket is blocked on this network)' : '';
    el.title = [via && `Live over ${via}`, change.reason ? `Last disconnect: ${change.reason}` : ''].filter(Boolean).join('. ');
    if (change.state === 'reconnecting' && change.retryInMs !== undefined) {
      const until = Date.now() + change.retryInMs;
      const tick = () => {
        const s = Math.max(0, (until - Date.now()) / 1000);
        label.textContent = s >= 0.95 ? `Reconnecting in ${Math.round(s)}s` : LABELS.reconnecting;
        if (s <= 0) clearInterval(countdown);
      };
      tick();
      countdown = setInterval(tick, 250);
    } else {
      label.textContent = LABELS[change.state];
    }
  };
  show({ state: 'offline', previous: 'offline', attempt: 0 });
  return show;
}
