/**
 * Default privileges (issue 12): `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] GRANT …`, one
 * pg_default_acl entry per role, schema and kind of object. An entry that is not there holds
 * PostgreSQL's own default: none, except that a global entry (no IN SCHEMA) of functions or types
 * gives PUBLIC EXECUTE / USAGE (acldefault), which a global entry may take away.
 */
import { compareGrants, DEFAULT_GRANTS, PRIVILEGES } from './grants.js';
import type { DefaultPrivilege, DefaultPrivilegeKind, Grant } from './types.js';

/** The kinds, in the order zdm writes them, with pg_default_acl.defaclobjtype. */
export const DEFAULT_PRIVILEGE_KINDS = {
  tables: 'r',
  sequences: 'S',
  functions: 'f',
  types: 'T',
  schemas: 'n',
} as const satisfies Record<DefaultPrivilegeKind, string>;

/** The privileges a GRANT of each kind may name. */
export const DEFAULT_PRIVILEGE_PRIVILEGES = {
  tables: PRIVILEGES.table,
  sequences: PRIVILEGES.sequence,
  functions: PRIVILEGES.function,
  types: PRIVILEGES.type,
  schemas: PRIVILEGES.schema,
} as const satisfies Record<DefaultPrivilegeKind, readonly string[]>;

/** The privileges an entry that is not there stands for. */
export function implicitDefaultPrivileges(e: Pick<DefaultPrivilege, 'schema' | 'on'>): readonly Grant[] {
  if (e.schema !== undefined) return [];
  return e.on === 'functions' ? DEFAULT_GRANTS.routine : e.on === 'types' ? DEFAULT_GRANTS.type : [];
}

/** `role schema kind`: the identity of an entry. */
export const defaultPrivilegeKey = (e: Pick<DefaultPrivilege, 'role' | 'schema' | 'on'>): string =>
  `${e.role}\u0000${e.schema ?? ''}\u0000${e.on}`;

/** `default privileges for role r in schema s on tables`: how plans and errors name an entry. */
export const defaultPrivilegeName = (e: Pick<DefaultPrivilege, 'role' | 'schema' | 'on'>): string =>
  `default privileges of role ${e.role}${e.schema !== undefined ? ` in schema ${e.schema}` : ''} on ${e.on}`;

/** Entries in the model's order: by role, schema (global first), kind; grants sorted. */
export function sortDefaultPrivileges(xs: readonly DefaultPrivilege[]): DefaultPrivilege[] {
  const order = Object.keys(DEFAULT_PRIVILEGE_KINDS);
  const k = (e: DefaultPrivilege): string =>
    `${e.role}\u0000${e.schema === undefined ? '' : `\u0001${e.schema}`}\u0000${order.indexOf(e.on)}`;
  return [...xs]
    .map((e) => ({ ...e, grants: [...e.grants].sort(compareGrants) }))
    .sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}
