/**
 * The one list differ every object kind goes through: match two lists by key, in key order, so
 * that the changes (and so the plan) come out in the same order for the same inputs.
 */

export type Keyed<T> =
  | { readonly kind: 'added'; readonly key: string; readonly desired: T }
  | { readonly kind: 'removed'; readonly key: string; readonly live: T }
  | { readonly kind: 'both'; readonly key: string; readonly live: T; readonly desired: T };

/** Pairs `live` and `desired` by `key`, sorted by key (code-unit order, like canonical.ts). */
export function diffKeyed<T>(live: readonly T[], desired: readonly T[], key: (item: T) => string): Keyed<T>[] {
  const l = new Map<string, T>();
  for (const x of live) l.set(key(x), x);
  const d = new Map<string, T>();
  for (const x of desired) d.set(key(x), x);
  const keys = [...new Set([...l.keys(), ...d.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k): Keyed<T> => {
    const a = l.get(k);
    const b = d.get(k);
    if (a !== undefined && b !== undefined) return { kind: 'both', key: k, live: a, desired: b };
    if (b !== undefined) return { kind: 'added', key: k, desired: b };
    return { kind: 'removed', key: k, live: a as T };
  });
}
