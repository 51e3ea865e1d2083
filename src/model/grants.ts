/** Facts about privileges the layers share (issue 12). */
import type { Grant } from './types.js';

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
} as const satisfies Record<string, readonly string[]>;
