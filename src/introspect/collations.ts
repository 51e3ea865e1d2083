/** Collations: their catalog query (the conventions of queries.ts) and parse. */
import type { Collation } from '../model/types.js';
import { description, notExtensionMember, SYSTEM_SCHEMAS, USER_SCHEMAS } from './queries.js';

export interface CollationRow {
  readonly schema: string;
  readonly name: string;
  /** c libc, i icu, b builtin. */
  readonly provider: string;
  readonly lc_collate: string | null;
  readonly lc_ctype: string | null;
  /** The ICU or builtin locale (colllocale from PostgreSQL 17, colliculocale in 15 and 16; null in 14). */
  readonly locale: string | null;
  readonly deterministic: boolean;
  readonly comment: string | null;
}

/** Read through to_jsonb, so that one query serves the column names of PostgreSQL 14 to 18. */
export const COLLATIONS_SQL = `SELECT n.nspname AS schema, co.collname AS name, co.collprovider::pg_catalog.text AS provider,
  co.collcollate AS lc_collate, co.collctype AS lc_ctype,
  COALESCE(pg_catalog.to_jsonb(co) ->> 'colllocale', pg_catalog.to_jsonb(co) ->> 'colliculocale') AS locale,
  co.collisdeterministic AS deterministic,
  ${description('pg_collation', 'co.oid')} AS comment
FROM pg_catalog.pg_collation co
JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
WHERE ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_collation', 'co.oid')}
ORDER BY n.nspname, co.collname`;

export function parseCollation(row: CollationRow): Collation {
  const provider = row.provider === 'i' ? 'icu' : row.provider === 'b' ? 'builtin' : 'libc';
  const both =
    provider === 'libc'
      ? row.lc_collate === row.lc_ctype
        ? { locale: row.lc_collate ?? '' }
        : { lcCollate: row.lc_collate ?? '', lcCtype: row.lc_ctype ?? '' }
      : { locale: row.locale ?? row.lc_collate ?? '' };
  return {
    kind: 'collation',
    name: row.name,
    provider,
    ...both,
    ...(row.deterministic ? {} : { deterministic: false as const }),
    ...(row.comment !== null ? { comment: row.comment } : {}),
  };
}
