/**
 * Facts about text search configurations and collations that every layer shares: their keys, order
 * and comparison.
 */
import type { Collation, TextSearchConfiguration } from './types.js';

/** `textSearchConfiguration public.unaccent`: the object key (objects.ts). */
export const textSearchConfigurationKey = (schema: string, name: string): string =>
  `textSearchConfiguration ${schema}.${name}`;

/** The configurations of a schema by name, and none as an absent list (the canonical form). */
export function sortedTextSearchConfigurations(
  xs: readonly TextSearchConfiguration[] | undefined,
): TextSearchConfiguration[] | undefined {
  if (xs === undefined || xs.length === 0) return undefined;
  return [...xs]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((c) => ({
      ...c,
      mappings: Object.fromEntries(Object.entries(c.mappings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    }));
}

/** Token types whose dictionaries differ: added (not in `from`), changed, and dropped (not in `to`). */
export function mappingChanges(
  from: TextSearchConfiguration['mappings'],
  to: TextSearchConfiguration['mappings'],
): { readonly add: string[]; readonly alter: string[]; readonly drop: string[] } {
  const add: string[] = [];
  const alter: string[] = [];
  for (const t of Object.keys(to).sort()) {
    if (from[t] === undefined) add.push(t);
    else if (JSON.stringify(from[t]) !== JSON.stringify(to[t])) alter.push(t);
  }
  const drop = Object.keys(from)
    .filter((t) => to[t] === undefined)
    .sort();
  return { add, alter, drop };
}

/** `collation public.c`: the object key of a collation (objects.ts). */
export const collationKey = (schema: string, name: string): string => `collation ${schema}.${name}`;

/** The collations of a schema by name, none as an absent list (the canonical form). */
export function sortedCollations(xs: readonly Collation[] | undefined): Collation[] | undefined {
  if (xs === undefined || xs.length === 0) return undefined;
  return [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
