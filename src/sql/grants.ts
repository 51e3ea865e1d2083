/**
 * GRANT and REVOKE on tables, columns, sequences, schemas, functions, procedures and types, and
 * ALTER DEFAULT PRIVILEGES (issue 12).
 */
import type { GrantTarget } from '../model/grants.js';
import type { Grant } from '../model/types.js';
import { qualifiedName, quoteIdent, type RelationName, rel } from './quote.js';
import { routineObject } from './routines.js';

/** What a GRANT or REVOKE is on. */
export type GrantObject = GrantTarget;

const grantee = (g: string): string => (g === 'public' ? 'PUBLIC' : quoteIdent(g));

function onSql(o: GrantObject): string {
  switch (o.kind) {
    case 'table':
    case 'column':
      return `TABLE ${rel(o as RelationName)}`;
    case 'sequence':
      return `SEQUENCE ${rel(o as RelationName)}`;
    case 'schema':
      return `SCHEMA ${quoteIdent(o.name)}`;
    case 'function':
    case 'procedure':
      return routineObject(o);
    case 'aggregate':
      // GRANT has no ON AGGREGATE: an aggregate is named as a function.
      return routineObject({ ...o, kind: 'function' });
    case 'enum':
    case 'compositeType':
      return `TYPE ${qualifiedName(o.schema, o.name)}`;
    case 'domain':
      return `DOMAIN ${qualifiedName(o.schema, o.name)}`;
    case 'defaultPrivileges':
      return o.on.toUpperCase();
  }
}

const privilegeSql = (o: GrantObject, privilege: string): string =>
  o.kind === 'column' ? `${privilege} (${quoteIdent(o.column)})` : privilege;

/** `ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] ` before the GRANT or REVOKE of default privileges. */
const prefix = (o: GrantObject): string =>
  o.kind === 'defaultPrivileges'
    ? `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(o.role)} ${o.schema !== undefined ? `IN SCHEMA ${quoteIdent(o.schema)} ` : ''}`
    : '';

/** One GRANT per grantee and grant option, its privileges together. */
export function grantSql(o: GrantObject, grants: readonly Grant[]): string[] {
  return grouped(grants).map(
    ([who, grantable, privileges]) =>
      `${prefix(o)}GRANT ${privileges.map((p) => privilegeSql(o, p)).join(', ')} ON ${onSql(o)} TO ${grantee(who)}${grantable ? ' WITH GRANT OPTION' : ''}`,
  );
}

/** One REVOKE per grantee (`GRANT OPTION FOR` when only the option goes). */
export function revokeSql(o: GrantObject, grants: readonly Grant[], optionOnly = false): string[] {
  return grouped(grants.map((g) => ({ grantee: g.grantee, privilege: g.privilege }))).map(
    ([who, , privileges]) =>
      `${prefix(o)}REVOKE ${optionOnly ? 'GRANT OPTION FOR ' : ''}${privileges.map((p) => privilegeSql(o, p)).join(', ')} ON ${onSql(o)} FROM ${grantee(who)}`,
  );
}

function grouped(grants: readonly Grant[]): [string, boolean, string[]][] {
  const out = new Map<string, [string, boolean, string[]]>();
  for (const g of grants) {
    const key = `${g.grantee}\u0000${g.grantable === true}`;
    const entry = out.get(key) ?? [g.grantee, g.grantable === true, []];
    entry[2].push(g.privilege);
    out.set(key, entry);
  }
  return [...out.values()];
}
