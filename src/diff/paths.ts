/**
 * Paths into the desired-state document, in the format of the desired loader's SourceMap keys
 * (src/desired/paths.ts `formatPath`, kept in step by a unit test): `schemas.public.tables.orders`,
 * list indexes as `[2]`, names that are not plain identifiers as `["order items"]`.
 */
export type { PathSegment } from '../model/paths.js';

export { formatPath as docPath } from '../model/paths.js';
