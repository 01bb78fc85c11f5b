import type { AssetJson } from '../../../client';
import { searchAssets } from './api';
import { h } from './dom';

export interface AutocompleteOptions {
  /** Called when the user picks a suggestion (click, or Enter on a highlighted one). */
  onPick(asset: AssetJson): void;
  /** Symbols not to suggest (already on the watchlist, ...). */
  exclude?: () => Set<string>;
  limit?: number;
}

/**
 * Symbol suggestions from `/api/assets?q=` under a text input (the input must
 * sit in a `.ac` wrapper). The list floats over the page: nothing below moves.
 * Keyboard: arrows, Enter, Escape.
 */
export function attachAutocomplete(input: HTMLInputElement, opts: AutocompleteOptions): void {
  const wrapper = input.closest('.ac');
  if (!wrapper) throw new Error('autocomplete input must be inside a .ac element');
  const list = h('ul', { class: 'ac-list', role: 'listbox', hidden: true });
  wrapper.append(list);
  input.setAttribute('autocomplete', 'off');
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');

  let items: AssetJson[] = [];
  let active = -1;
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const close = () => {
    list.hidden = true;
    items = [];
    active = -1;
  };
  const render = () => {
    list.replaceChildren(
      ...items.map((a, i) =>
        h(
          'li',
          { role: 'option', 'aria-selected': i === active ? 'true' : 'false', 'data-symbol': a.symbol },
          h('span', { class: 'sym' }, a.symbol),
          h('span', { class: 'name' }, a.name),
          h('span', { class: 'type' }, a.asset_type),
        ),
      ),
    );
    list.hidden = items.length === 0;
  };
  const pick = (a: AssetJson) => {
    close();
    opts.onPick(a);
  };

  const search = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) {
      close();
      return;
    }
    try {
      const page = await searchAssets(q, (opts.limit ?? 8) + 4);
      if (mine !== seq) return; // a newer query is on its way
      const skip = opts.exclude?.() ?? new Set<string>();
      items = page.items.filter((a) => !skip.has(a.symbol)).slice(0, opts.limit ?? 8);
      active = items.length > 0 ? 0 : -1;
      render();
    } catch {
      if (mine === seq) close();
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void search(), 120);
  });
  input.addEventListener('keydown', (ev) => {
    if (list.hidden) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const d = ev.key === 'ArrowDown' ? 1 : -1;
      active = (active + d + items.length) % items.length;
      render();
    } else if (ev.key === 'Enter' && active >= 0 && items[active]) {
      ev.preventDefault();
      pick(items[active]!);
    } else if (ev.key === 'Escape') {
      close();
    }
  });
  // mousedown (not click) so the pick happens before the input's blur closes the list.
  list.addEventListener('mousedown', (ev) => {
    const li = (ev.target as HTMLElement).closest('li');
    const sym = li?.getAttribute('data-symbol');
    const a = items.find((x) => x.symbol === sym);
    if (a) {
      ev.preventDefault();
      pick(a);
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}
