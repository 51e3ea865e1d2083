/**
 * Default privileges (issue 12): pg_default_acl, one row per entry, its grants as aclGrantsJson
 * gives them (the role's own left out), with the query conventions of queries.ts.
 */
import { DEFAULT_PRIVILEGE_KINDS, sortDefaultPrivileges } from '../model/default-privileges.js';
import type { DefaultPrivilege, DefaultPrivilegeKind } from '../model/types.js';
import { parseGrantList } from './parse.js';
import { aclGrantsJson, type GrantJson } from './queries.js';

export interface DefaultPrivilegeRow {
  readonly role: string;
  /** null: a global entry. */
  readonly schema: string | null;
  /** pg_default_acl.defaclobjtype: r, S, f, T, n (L, large objects, is not managed). */
  readonly kind: string;
  readonly grants: readonly GrantJson[];
}

/** Every entry of the kinds zdm manages; an IN SCHEMA entry only for the schemas introspected. */
export const DEFAULT_PRIVILEGES_SQL = `SELECT pg_catalog.pg_get_userbyid(d.defaclrole)::pg_catalog.text AS role,
  n.nspname::pg_catalog.text AS schema, d.defaclobjtype::pg_catalog.text AS kind,
  ${aclGrantsJson('d.defaclacl', undefined, 'd.defaclrole')} AS grants
FROM pg_catalog.pg_default_acl d
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
WHERE d.defaclobjtype IN ('r', 'S', 'f', 'T', 'n')
  AND (d.defaclnamespace = 0 OR $1::pg_catalog.text[] IS NULL OR n.nspname::pg_catalog.text = ANY ($1::pg_catalog.text[]))
ORDER BY 1, 2 NULLS FIRST, 3`;

const KIND_OF = Object.fromEntries(Object.entries(DEFAULT_PRIVILEGE_KINDS).map(([k, v]) => [v, k])) as Record<
  string,
  DefaultPrivilegeKind
>;

export function parseDefaultPrivileges(rows: readonly DefaultPrivilegeRow[]): DefaultPrivilege[] {
  return sortDefaultPrivileges(
    rows.flatMap((r): DefaultPrivilege[] => {
      const on = KIND_OF[r.kind];
      if (on === undefined) return [];
      return [
        { role: r.role, ...(r.schema !== null ? { schema: r.schema } : {}), on, grants: parseGrantList(r.grants) },
      ];
    }),
  );
}
