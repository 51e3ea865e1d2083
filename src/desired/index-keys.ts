/**
 * Index keys written as strings: `created_at`, `created_at desc`, `name asc nulls first`. Keywords
 * are case-insensitive and read from the end, so a column may have spaces in its name.
 */
import type { IndexKey } from '../model/types.js';

const KEY_STRING = /^(.+?)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?$/i;

/** `nullsFirst` as the model keeps it: only when it is not the default for the direction. */
export function nullsOrdering(descending: boolean, nulls: 'first' | 'last' | undefined): { nullsFirst?: boolean } {
  if (nulls === undefined) return {};
  const first = nulls === 'first';
  // PostgreSQL: NULLS LAST is the default for ASC, NULLS FIRST for DESC.
  return first === descending ? {} : { nullsFirst: first };
}

export function parseKeyString(text: string): IndexKey | undefined {
  const m = KEY_STRING.exec(text.trim());
  if (!m) return undefined;
  const descending = m[2]?.toLowerCase() === 'desc';
  const nulls = m[3]?.toLowerCase() as 'first' | 'last' | undefined;
  return { column: m[1]!, descending, ...nullsOrdering(descending, nulls) };
}

/** The string form of a key, or undefined when only the object form can say it. */
export function formatKeyString(key: IndexKey): string | undefined {
  if (key.column === undefined || key.expression !== undefined) return undefined;
  if (key.collation !== undefined || key.opclass !== undefined) return undefined;
  let s = key.column;
  if (key.descending) s += ' desc';
  if (key.nullsFirst !== undefined) s += key.nullsFirst ? ' nulls first' : ' nulls last';
  const back = parseKeyString(s);
  // A column called `x desc` or ` x` would read back as something else.
  if (!back || back.column !== key.column || back.descending !== key.descending || back.nullsFirst !== key.nullsFirst) {
    return undefined;
  }
  return s;
}
