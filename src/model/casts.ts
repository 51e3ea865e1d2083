/** Facts about casts that every layer shares: their key and order. */
import type { Cast } from './types.js';

/** `cast from public.a to public.b`: the object key of a cast, as pg_describe_object names it (dependencies.ts). */
export const castKey = (c: { readonly source: string; readonly target: string }): string =>
  `cast from ${c.source} to ${c.target}`;

/** `public.a AS public.b`: how CREATE CAST, DROP CAST and COMMENT ON CAST name a cast. */
export const castName = (c: { readonly source: string; readonly target: string }): string =>
  `(${c.source} AS ${c.target})`;

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Casts by source then target, none as an absent list (the canonical form). */
export function sortedCasts(xs: readonly Cast[] | undefined): Cast[] | undefined {
  if (xs === undefined || xs.length === 0) return undefined;
  return [...xs].sort((a, b) => compare(a.source, b.source) || compare(a.target, b.target));
}
