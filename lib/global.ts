// Process-wide singletons. Next's route handlers load their own copy of every
// module, so anything that must be shared with server.ts (the database handle,
// the session registry, the embedded target) lives on globalThis under one key.
const store = globalThis as unknown as { __meshia?: Map<string, unknown> };

export function singleton<T>(key: string, create: () => T): T {
  const map = (store.__meshia ??= new Map());
  if (!map.has(key)) map.set(key, create());
  return map.get(key) as T;
}

export function setSingleton<T>(key: string, value: T): T {
  (store.__meshia ??= new Map()).set(key, value);
  return value;
}

export function getSingleton<T>(key: string): T | undefined {
  return store.__meshia?.get(key) as T | undefined;
}

export function clearSingleton(key: string): void {
  store.__meshia?.delete(key);
}
