import type { AllocationSliceJson, PortfolioPerformance } from '../../../client';
import { $, h } from '../shared/dom';
import { formatMoney } from '../shared/format';

export type AllocationGroup = keyof PortfolioPerformance['allocation'];

const GROUP_KEY = 'rm.allocation.v1';
const GROUPS: readonly AllocationGroup[] = ['by_holding', 'by_asset_type', 'by_currency'];
const NOUN: Record<AllocationGroup, [string, string]> = {
  by_holding: ['holding', 'holdings'],
  by_asset_type: ['asset type', 'asset types'],
  by_currency: ['currency', 'currencies'],
};
const GROUP_LABEL: Record<AllocationGroup, string> = { by_holding: 'holding', by_asset_type: 'asset type', by_currency: 'currency' };
const PALETTE = ['#2f6fed', '#12875a', '#f08c00', '#7048e8', '#d0343a', '#1098ad', '#e64980', '#5c940d', '#845ef7', '#495057'];
const CASH_COLOR = '#adb5bd';
const TYPE_LABEL: Record<string, string> = {
  STOCK: 'Stocks',
  ETF: 'ETFs',
  CRYPTO: 'Crypto',
  FOREX: 'Forex',
  FUND: 'Funds',
  BOND: 'Bonds',
  CASH: 'Cash',
};

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** "12.5 %" from an exact share ("0.125"); one decimal, "<0.1 %" for a sliver. */
export function formatShare(share: string): string {
  const pct = Number(share) * 100;
  if (pct > 0 && pct < 0.05) return '<0.1 %';
  return `${pct.toFixed(1)} %`;
}

/**
 * The portfolio's allocation now (GET …/performance, `allocation`): a donut (plain SVG, one arc
 * per slice, each with its <title>) and a legend list with every slice's share and value, by
 * holding, asset type or currency (the switch is remembered). The legend is the accessible
 * form of the chart; the SVG is one image with a summary label.
 */
export class AllocationChart {
  private readonly body: HTMLElement;
  private readonly donut: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly buttons: HTMLButtonElement[];
  private data: PortfolioPerformance['allocation'] | null = null;
  private currency = 'USD';
  private group: AllocationGroup;

  constructor(private readonly root: HTMLElement) {
    this.body = $('#alloc-body', root);
    this.donut = $('#alloc-donut', root);
    this.legend = $('#alloc-legend', root);
    this.empty = $('#alloc-empty', root);
    this.buttons = [...root.querySelectorAll<HTMLButtonElement>('.seg-btn[data-group]')];
    const saved = localStorage.getItem(GROUP_KEY) as AllocationGroup | null;
    this.group = saved && GROUPS.includes(saved) ? saved : 'by_holding';
    for (const b of this.buttons) b.addEventListener('click', () => this.switchTo(b.dataset.group as AllocationGroup));
    this.clear();
  }

  set(allocation: PortfolioPerformance['allocation'], currency: string): void {
    this.data = allocation;
    this.currency = currency;
    this.render();
  }

  clear(): void {
    this.data = null;
    this.render();
  }

  switchTo(group: AllocationGroup): void {
    if (!GROUPS.includes(group)) return;
    this.group = group;
    localStorage.setItem(GROUP_KEY, group);
    this.render();
  }

  private label(key: string): string {
    if (key === 'CASH') return 'Cash';
    return this.group === 'by_asset_type' ? (TYPE_LABEL[key] ?? key) : key;
  }

  private render(): void {
    for (const b of this.buttons) b.setAttribute('aria-pressed', String(b.dataset.group === this.group));
    this.root.dataset.group = this.group;
    const slices = this.data?.[this.group] ?? [];
    const shown = slices.filter((s) => Number(s.share) > 0);
    this.root.dataset.state = this.data === null ? 'loading' : 'loaded';
    this.body.hidden = shown.length === 0;
    this.empty.hidden = this.data === null || shown.length > 0;
    const colors = new Map<string, string>();
    let i = 0;
    for (const s of slices) colors.set(s.key, s.key === 'CASH' ? CASH_COLOR : PALETTE[i++ % PALETTE.length]!);
    this.legend.replaceChildren(...slices.map((s) => this.legendItem(s, colors.get(s.key)!)));
    this.donut.replaceChildren(shown.length === 0 ? '' : this.drawDonut(shown, colors));
  }

  private legendItem(s: AllocationSliceJson, color: string): HTMLLIElement {
    return h(
      'li',
      { 'data-testid': 'allocation-slice', 'data-key': s.key, 'data-share': s.share, 'data-value': s.value },
      h('span', { class: 'swatch', style: `background:${color}`, 'aria-hidden': 'true' }),
      h('span', { class: 'key' }, this.label(s.key)),
      h('span', { class: 'share num' }, formatShare(s.share)),
      h('span', { class: 'value num muted' }, formatMoney(s.value, this.currency)),
    );
  }

  /** Arcs of a circle whose circumference is 100: a slice of share s is a dash of 100·s, drawn clockwise from the top. */
  private drawDonut(slices: AllocationSliceJson[], colors: Map<string, string>): SVGSVGElement {
    const r = 50 / Math.PI; // circumference 100
    const [one, many] = NOUN[this.group];
    const summary = slices.map((s) => `${this.label(s.key)} ${formatShare(s.share)}`).join(', ');
    const root = svg('svg', { viewBox: '0 0 42 42', role: 'img', 'aria-label': `Allocation by ${GROUP_LABEL[this.group]}: ${summary}` });
    root.append(svg('circle', { cx: 21, cy: 21, r, fill: 'none', stroke: '#eef0f3', 'stroke-width': 7 }));
    let start = 0;
    for (const s of slices) {
      const len = Number(s.share) * 100;
      const arc = svg(
        'circle',
        {
          cx: 21,
          cy: 21,
          r,
          fill: 'none',
          stroke: colors.get(s.key)!,
          'stroke-width': 7,
          // A hairline between slices, except for a whole circle.
          'stroke-dasharray': `${Math.max(0, len - (slices.length > 1 ? 0.4 : 0))} ${100 - len + (slices.length > 1 ? 0.4 : 0)}`,
          'stroke-dashoffset': 25 - start,
          'data-key': s.key,
        },
        svg('title', {}, `${this.label(s.key)}: ${formatShare(s.share)}`),
      );
      root.append(arc);
      start += len;
    }
    const centre = svg('text', { x: 21, y: 21, 'text-anchor': 'middle', class: 'alloc-centre', 'aria-hidden': 'true' });
    centre.append(
      svg('tspan', { x: 21, dy: '-0.1em', class: 'n' }, String(slices.length)),
      svg('tspan', { x: 21, dy: '1.25em', class: 'w' }, slices.length === 1 ? one : many),
    );
    root.append(centre);
    return root;
  }
}
