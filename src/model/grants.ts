/** Facts about privileges the layers share (issue 12). */
import type { DefaultPrivilegeKind, Grant, RoutineArgument } from './types.js';

/** `grantee privilege`: the identity of a grant in set differences. */
export const grantKey = (g: Grant): string => `${g.grantee}\u0000${g.privilege}`;

/** By grantee, then privilege (code point order): the order of a model's grant lists. */
export function compareGrants(a: Grant, b: Grant): number {
  const x = grantKey(a);
  const y = grantKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Privileges a GRANT may name on each kind of object (PostgreSQL 14 to 18; MAINTAIN from 17). */
export const PRIVILEGES = {
  table: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'MAINTAIN'],
  column: ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'],
  sequence: ['USAGE', 'SELECT', 'UPDATE'],
  schema: ['USAGE', 'CREATE'],
  function: ['EXECUTE'],
  procedure: ['EXECUTE'],
  type: ['USAGE'],
} as const satisfies Record<string, readonly string[]>;

/**
 * What PostgreSQL gives PUBLIC on a new function or procedure (`acldefault('f', owner)`) and on a
 * new type or domain (`acldefault('T', owner)`), besides the owner's own: the privileges a live
 * object with a NULL ACL holds, and the ones a CREATE starts from.
 */
export const DEFAULT_GRANTS = {
  routine: [{ grantee: 'public', privilege: 'EXECUTE' }],
  type: [{ grantee: 'public', privilege: 'USAGE' }],
} as const satisfies Record<string, readonly Grant[]>;

/** Whether `grants` are exactly PostgreSQL's default ones of `kind` (`zdm pull` leaves those out). */
export function isDefaultGrants(kind: keyof typeof DEFAULT_GRANTS, grants: readonly Grant[] | undefined): boolean {
  const d = DEFAULT_GRANTS[kind];
  return (
    grants !== undefined &&
    grants.length === d.length &&
    grants.every((g, i) => g.grantee === d[i]!.grantee && g.privilege === d[i]!.privilege && g.grantable !== true)
  );
}

/** The object without its privileges: what every comparison but src/diff/grants.ts looks at. */
export const withoutGrants = <T extends { readonly grants?: unknown }>(x: T): Omit<T, 'grants'> => {
  if (x.grants === undefined) return x;
  const { grants: _g, ...rest } = x;
  return rest;
};

/** What a GRANT or REVOKE is on. */
export type GrantTarget =
  | { readonly kind: 'table' | 'sequence'; readonly schema: string; readonly name: string }
  | { readonly kind: 'column'; readonly schema: string; readonly name: string; readonly column: string }
  | { readonly kind: 'schema'; readonly name: string }
  /** A function, procedure or aggregate, named by its signature. */
  | {
      readonly kind: 'function' | 'procedure' | 'aggregate';
      readonly schema: string;
      readonly name: string;
      readonly arguments: readonly RoutineArgument[];
    }
  /** An enum, composite type or domain (GRANT … ON TYPE; ON DOMAIN for a domain). */
  | { readonly kind: 'enum' | 'compositeType' | 'domain'; readonly schema: string; readonly name: string }
  /** ALTER DEFAULT PRIVILEGES FOR ROLE role [IN SCHEMA schema] … ON on. */
  | {
      readonly kind: 'defaultPrivileges';
      readonly role: string;
      readonly schema?: string;
      readonly on: DefaultPrivilegeKind;
    };
