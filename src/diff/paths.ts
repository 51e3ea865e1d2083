/**
 * Paths into the desired-state document, in the format of the desired loader's SourceMap keys
 * (src/desired/paths.ts `formatPath`, kept in step by a unit test): `schemas.public.tables.orders`,
 * list indexes as `[2]`, names that are not plain identifiers as `["order items"]`.
 */
export type PathSegment = string | number;

const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export function docPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (PLAIN_SEGMENT.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
