/** A step in a document path: a map key or a list index. */
export type PathSegment = string | number;

export interface SourceLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

/**
 * Where each part of the desired state was written, by document path (see `formatPath`): the
 * position of the key for a map entry (`schemas.public.tables.orders` → `orders:`), of the item for
 * a list entry. Later stages use it to point their own errors at the YAML.
 */
export type SourceMap = ReadonlyMap<string, SourceLocation>;

const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * `schemas.public.tables.orders.columns.id`; list indexes as `[2]`; a name that is not a plain
 * identifier in brackets as a JSON string (`tables["order items"]`), so that every path is unambiguous.
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

/** The location of `segments`, or of the nearest enclosing part of the document that has one. */
export function locate(sources: SourceMap, segments: readonly PathSegment[]): SourceLocation | undefined {
  for (let n = segments.length; n >= 0; n--) {
    const hit = sources.get(formatPath(segments.slice(0, n)));
    if (hit) return hit;
  }
  return undefined;
}
