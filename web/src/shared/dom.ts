/** Tiny DOM helpers: plain elements, no framework. */
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
type Child = Node | string | number | null | undefined | false;

/** `h('div', {class: 'card', 'data-symbol': 'AAPL'}, 'text', childNode)`; `on*` attributes become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** querySelector that throws a clear error when the page's HTML and the code disagree. */
export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`Missing element ${selector}`);
  return el;
}

/** Sets text only when it changed (no needless layout work). Returns whether it changed. */
export function setText(el: Element, text: string): boolean {
  if (el.textContent === text) return false;
  el.textContent = text;
  return true;
}

/** Brief background flash (Web Animations: no reflow, no class juggling). */
export function flash(el: HTMLElement, direction: 'up' | 'down'): void {
  if (typeof el.animate !== 'function') return;
  const color = direction === 'up' ? 'rgba(18, 135, 90, 0.22)' : 'rgba(208, 52, 58, 0.22)';
  el.animate([{ backgroundColor: color }, { backgroundColor: 'rgba(0, 0, 0, 0)' }], { duration: 900, easing: 'ease-out' });
  el.dataset.flash = direction;
}

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
/** A short message at the bottom of the screen (fixed position: nothing moves). */
export function notify(text: string, ms = 3500): void {
  let el = document.getElementById('notice');
  if (!el) {
    el = h('div', { id: 'notice', class: 'notice', role: 'status', 'aria-live': 'polite' });
    document.body.append(el);
  }
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => el?.classList.remove('show'), ms);
}
