/** User-defined types: enums and domains. */
import type { Domain, EnumType } from '../model/types.js';
import { catalogObjectName, parenthesized } from './fragments.js';
import { quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';

export function createEnumSql(e: EnumType): string {
  return `CREATE TYPE ${rel(e)} AS ENUM (${e.values.map(quoteLiteral).join(', ')})`;
}

/** `ALTER TYPE e ADD VALUE IF NOT EXISTS 'v' [BEFORE|AFTER 'w']`: IF NOT EXISTS makes a retry harmless. */
export function addEnumValueSql(
  e: RelationName,
  value: string,
  position?: { readonly before: string } | { readonly after: string },
): string {
  return `ALTER TYPE ${rel(e)} ADD VALUE IF NOT EXISTS ${quoteLiteral(value)}${enumPositionSql(position)}`;
}

/** ` BEFORE 'v'` / ` AFTER 'v'` of a new enum label, or nothing (at the end). */
export function enumPositionSql(position?: { readonly before: string } | { readonly after: string }): string {
  if (position === undefined) return '';
  return 'before' in position ? ` BEFORE ${quoteLiteral(position.before)}` : ` AFTER ${quoteLiteral(position.after)}`;
}

export function dropTypeSql(type: RelationName): string {
  return `DROP TYPE ${rel(type)}`;
}

export function createDomainSql(d: Domain, schemas: ReadonlySet<string>): string {
  let sql = `CREATE DOMAIN ${rel(d)} AS ${d.type}`;
  if (d.collation !== undefined) sql += ` COLLATE ${catalogObjectName(d.collation, schemas)}`;
  if (d.default !== undefined) sql += ` DEFAULT ${roundTripText(d.default)}`;
  if (!d.nullable) sql += ' NOT NULL';
  for (const c of d.checks)
    sql += ` CONSTRAINT ${quoteIdent(c.name)} CHECK ${parenthesized(roundTripText(c.expression))}`;
  return sql;
}

export function dropDomainSql(d: RelationName): string {
  return `DROP DOMAIN ${rel(d)}`;
}

const alterDomain = (d: RelationName, action: string): string => `ALTER DOMAIN ${rel(d)} ${action}`;

export const domainSetDefaultSql = (d: RelationName, expression: string): string =>
  alterDomain(d, `SET DEFAULT ${roundTripText(expression)}`);
export const domainDropDefaultSql = (d: RelationName): string => alterDomain(d, 'DROP DEFAULT');
export const domainNotNullSql = (d: RelationName, notNull: boolean): string =>
  alterDomain(d, notNull ? 'SET NOT NULL' : 'DROP NOT NULL');
/** `ADD CONSTRAINT c CHECK (expr) NOT VALID`: existing values are checked by the VALIDATE that follows. */
export const domainAddCheckSql = (d: RelationName, name: string, expression: string): string =>
  alterDomain(d, `ADD CONSTRAINT ${quoteIdent(name)} CHECK ${parenthesized(roundTripText(expression))} NOT VALID`);
export const domainValidateConstraintSql = (d: RelationName, name: string): string =>
  alterDomain(d, `VALIDATE CONSTRAINT ${quoteIdent(name)}`);
export const domainDropConstraintSql = (d: RelationName, name: string): string =>
  alterDomain(d, `DROP CONSTRAINT ${quoteIdent(name)}`);
