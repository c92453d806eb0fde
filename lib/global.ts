// Process-wide state. Next's route handlers load their own copy of every module, so
// anything that must be shared with server.ts (the database handle, the session
// registry, the embedded target) lives on globalThis. Each piece is declared once, by
// the module that owns it, as a typed handle; tests replace or forget it through that
// handle, never by a key of their own.
const store = globalThis as unknown as Record<symbol, unknown>;

export interface ProcessGlobal<T> {
  /** The value, made on first use. */
  get(): T;
  /** Replaces the value (the app's own wiring, or a test's stand-in). */
  set<V extends T>(value: V): V;
  /** Forgets the value: the next get() makes a fresh one. */
  resetForTests(): void;
}

/** The one value of this process for `name`, made by `create` on first use; `name` must be unique in the app. */
export function processGlobal<T>(name: string, create: () => T): ProcessGlobal<T> {
  const key = Symbol.for(`meshia.global.${name}`);
  return {
    get: () => (key in store ? store[key] : (store[key] = create())) as T,
    set: (value) => (store[key] = value),
    resetForTests: () => {
      delete store[key];
    },
  };
}
