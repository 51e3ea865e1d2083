/**
 * Roles are not managed by zdm (issue 12): every role the desired state names (a grantee, the role
 * of default privileges, an owner) must
 * exist in the database planned against. One that does not is an error at plan time, located at
 * the key that names it (file:line through the document path).
 */
import type { Queryable } from '../db/connection.js';
import { type OwnerTarget, ownerKey, ownerOf, ownerTargets } from '../model/owners.js';
import { routineKey } from '../model/routines.js';
import type { DatabaseModel, Grant, SchemaModel } from '../model/types.js';
import type { NormalizeIssue } from './normalize.js';
import { routinePath } from './scratch-routines.js';

/** A role named at a document path. */
interface RoleUse {
  readonly role: string;
  readonly path: readonly string[];
}

/** Every role the desired state names, with where. */
export function rolesNamed(desired: DatabaseModel): RoleUse[] {
  const uses: RoleUse[] = [];
  const add = (grants: readonly Grant[] | undefined, path: readonly string[]): void => {
    for (const g of grants ?? [])
      if (g.grantee !== 'public') uses.push({ role: g.grantee, path: [...path, 'grants', g.grantee] });
  };
  for (const s of desired.schemas) {
    add(s.grants, ['schemas', s.name]);
    for (const q of s.sequences) add(q.grants, ['schemas', s.name, 'sequences', q.name]);
    for (const t of s.tables) {
      add(t.grants, ['schemas', s.name, 'tables', t.name]);
      for (const c of t.columns) add(c.grants, ['schemas', s.name, 'tables', t.name, 'columns', c.name]);
    }
    for (const r of s.functions) add(r.grants, routinePath(s, r));
    for (const e of s.enums) add(e.grants, ['schemas', s.name, 'enums', e.name]);
    for (const d of s.domains) add(d.grants, ['schemas', s.name, 'domains', d.name]);
    for (const c of s.compositeTypes) add(c.grants, ['schemas', s.name, 'compositeTypes', c.name]);
    for (const on of ownerTargets(s)) {
      const role = ownerOf(desired, on);
      if (role !== undefined) uses.push({ role, path: [...ownerPath(s, on), 'owner'] });
    }
  }
  for (const e of desired.defaultPrivileges ?? []) {
    const at = ['defaultPrivileges', e.role, ...(e.schema !== undefined ? ['inSchema', e.schema] : []), e.on];
    uses.push({ role: e.role, path: ['defaultPrivileges', e.role] });
    for (const g of e.grants) if (g.grantee !== 'public') uses.push({ role: g.grantee, path: [...at, g.grantee] });
  }
  return uses;
}

/** The document path of the object `on` of schema `s`. */
function ownerPath(s: SchemaModel, on: OwnerTarget): string[] {
  switch (on.kind) {
    case 'schema':
      return ['schemas', s.name];
    case 'function':
    case 'procedure': {
      const key = ownerKey(on);
      return routinePath(s, s.functions.find((r) => routineKey(r) === key)!);
    }
    default:
      return ['schemas', s.name, `${on.kind}s`, on.name];
  }
}

/** The uses of roles that do not exist in the database `client` is connected to. */
export async function missingRoles(client: Queryable, desired: DatabaseModel): Promise<NormalizeIssue[]> {
  const uses = rolesNamed(desired);
  if (uses.length === 0) return [];
  const r = await client.query<{ rolname: string }>(
    'SELECT rolname::pg_catalog.text AS rolname FROM pg_catalog.pg_roles WHERE rolname = ANY ($1::pg_catalog.text[])',
    [[...new Set(uses.map((u) => u.role))]],
  );
  const exists = new Set(r.rows.map((x) => x.rolname));
  const seen = new Set<string>();
  const issues: NormalizeIssue[] = [];
  for (const u of uses) {
    const key = u.path.join('\u0000');
    if (exists.has(u.role) || seen.has(key)) continue;
    seen.add(key);
    issues.push({
      path: u.path.join('.'),
      segments: u.path,
      message: `role "${u.role}" does not exist: zdm does not create roles; create it first (or fix the name)`,
    });
  }
  return issues;
}
