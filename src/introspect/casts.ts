/** User-defined casts (CREATE CAST): their catalog query (the conventions of queries.ts) and parse. */
import type { Cast } from '../model/types.js';
import { description, notExtensionMember } from './queries.js';

export interface CastRow {
  /** format_type of castsource and casttarget (schema-qualified outside pg_catalog). */
  readonly source: string;
  readonly target: string;
  /** f function, b binary-coercible (WITHOUT FUNCTION), i inout. */
  readonly method: string;
  /** The function as regprocedure prints it, when method is f. */
  readonly function: string | null;
  /** e explicit, a assignment, i implicit. */
  readonly context: string;
  readonly comment: string | null;
}

/**
 * Casts made with CREATE CAST: not built in (OID below FirstNormalObjectId), not an extension's, not
 * a range type's cast to its multirange (deptype 'i': it belongs to the type). With `$1` (the
 * schemas to read), those whose source, target or function is in one of them.
 */
export const CASTS_SQL = `SELECT pg_catalog.format_type(k.castsource, NULL) AS source,
  pg_catalog.format_type(k.casttarget, NULL) AS target, k.castmethod::pg_catalog.text AS method,
  CASE WHEN k.castfunc <> 0 THEN k.castfunc::pg_catalog.regprocedure::pg_catalog.text END AS function,
  k.castcontext::pg_catalog.text AS context, ${description('pg_cast', 'k.oid')} AS comment
FROM pg_catalog.pg_cast k
WHERE k.oid >= 16384 AND ${notExtensionMember('pg_cast', 'k.oid')}
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass
    AND d.objid = k.oid AND d.deptype = 'i')
  AND ($1::pg_catalog.text[] IS NULL OR EXISTS (
    SELECT FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    WHERE t.oid IN (k.castsource, k.casttarget) AND n.nspname::pg_catalog.text = ANY ($1::pg_catalog.text[])
    UNION ALL
    SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.oid = k.castfunc AND n.nspname::pg_catalog.text = ANY ($1::pg_catalog.text[])))
ORDER BY 1, 2`;

const CONTEXTS = { e: 'explicit', a: 'assignment', i: 'implicit' } as const;
const METHODS = { f: 'function', b: 'binary', i: 'inout' } as const;

export function parseCast(row: CastRow): Cast {
  return {
    kind: 'cast',
    source: row.source,
    target: row.target,
    method: METHODS[row.method as keyof typeof METHODS],
    ...(row.function !== null ? { function: row.function } : {}),
    context: CONTEXTS[row.context as keyof typeof CONTEXTS],
    ...(row.comment !== null ? { comment: row.comment } : {}),
  };
}
