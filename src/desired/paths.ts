import { formatPath, type PathSegment } from '../model/paths.js';

export { formatPath, type PathSegment };

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
export interface SourceMap {
  get(path: string): SourceLocation | undefined;
}

/** The location of `segments`, or of the nearest enclosing part of the document that has one. */
export function locate(sources: SourceMap, segments: readonly PathSegment[]): SourceLocation | undefined {
  for (let n = segments.length; n >= 0; n--) {
    const hit = sources.get(formatPath(segments.slice(0, n)));
    if (hit) return hit;
  }
  return undefined;
}
