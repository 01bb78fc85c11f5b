/**
 * A minimal React-hooks runtime (useState, useEffect, useRef) so the guide's
 * `useWebSocket` hook can run unchanged in Node: the hook function is called
 * again after every state change, effects run after a render when their
 * dependencies changed, and unmount runs the cleanups.
 */
type Effect = { deps: unknown[] | undefined; cleanup?: void | (() => void) };

export interface HookHarness<T> {
  /** The hook's latest return value. */
  readonly current: T;
  readonly renders: number;
  unmount(): void;
}

export interface Hooks {
  useState<S>(initial: S): [S, (v: S | ((prev: S) => S)) => void];
  useEffect(effect: () => void | (() => void), deps?: unknown[]): void;
  useRef<R>(initial: R): { current: R };
}

export function renderHook<T>(hook: (hooks: Hooks) => T): HookHarness<T> {
  const states: unknown[] = [];
  const refs: { current: unknown }[] = [];
  const effects: Effect[] = [];
  let current!: T;
  let renders = 0;
  let scheduled = false;
  let mounted = true;

  const render = () => {
    scheduled = false;
    if (!mounted) return;
    let si = 0;
    let ri = 0;
    let ei = 0;
    const queued: (() => void)[] = [];
    const hooks: Hooks = {
      useState<S>(initial: S) {
        const i = si++;
        if (!(i in states)) states[i] = initial;
        const set = (v: S | ((prev: S) => S)) => {
          states[i] = typeof v === 'function' ? (v as (p: S) => S)(states[i] as S) : v;
          if (!scheduled) {
            scheduled = true;
            queueMicrotask(render);
          }
        };
        return [states[i] as S, set];
      },
      useEffect(effect, deps) {
        const i = ei++;
        const prev = effects[i];
        const changed = !prev || !deps || !prev.deps || deps.length !== prev.deps.length || deps.some((d, k) => !Object.is(d, prev.deps![k]));
        if (!changed) return;
        queued.push(() => {
          if (typeof prev?.cleanup === 'function') prev.cleanup();
          effects[i] = { deps, cleanup: effect() };
        });
      },
      useRef<R>(initial: R) {
        const i = ri++;
        refs[i] ??= { current: initial };
        return refs[i] as { current: R };
      },
    };
    current = hook(hooks);
    renders++;
    for (const run of queued) run();
  };
  render();
  return {
    get current() {
      return current;
    },
    get renders() {
      return renders;
    },
    unmount() {
      mounted = false;
      for (const e of effects) if (typeof e?.cleanup === 'function') e.cleanup();
    },
  };
}
