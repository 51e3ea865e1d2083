/** A step in a desired-state document path: a map key or a list index. */
export type PathSegment = string | number;

const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * `schemas.public.tables.orders.columns.id`; list indexes as `[2]`; a name that is not a plain
 * identifier in brackets as a JSON string (`tables["order items"]`), so that every path is unambiguous.
 * The desired loader keys its source map by these paths; the diff and planner name objects by them.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_SEGMENT.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The path one level up: `a.b["c d"]` → `a.b`; undefined at the top. */
export function parentPath(path: string): string | undefined {
  const m = /(?:\.[A-Za-z_][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$/.exec(path);
  if (!m) return undefined;
  return path.slice(0, m.index);
}
