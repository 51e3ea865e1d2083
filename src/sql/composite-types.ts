/** Composite types: `CREATE TYPE … AS (…)`, their attributes and comments (issue 12). */
import type { CompositeAttribute, CompositeType } from '../model/types.js';
import { commentOnSql } from './comments.js';
import { catalogObjectName } from './fragments.js';
import { quoteIdent, type RelationName, rel } from './quote.js';

function attributeSql(a: CompositeAttribute, schemas: ReadonlySet<string>): string {
  const collation = a.collation !== undefined ? ` COLLATE ${catalogObjectName(a.collation, schemas)}` : '';
  return `${quoteIdent(a.name)} ${a.type}${collation}`;
}

export function createCompositeTypeSql(t: CompositeType, schemas: ReadonlySet<string>): string {
  return `CREATE TYPE ${rel(t)} AS (${t.attributes.map((a) => attributeSql(a, schemas)).join(', ')})`;
}

/** No CASCADE: a column or object that still uses the type makes it fail rather than vanish. */
export function dropCompositeTypeSql(t: RelationName): string {
  return `DROP TYPE ${rel(t)}`;
}

export function addAttributeSql(t: RelationName, a: CompositeAttribute, schemas: ReadonlySet<string>): string {
  return `ALTER TYPE ${rel(t)} ADD ATTRIBUTE ${attributeSql(a, schemas)}`;
}

export function dropAttributeSql(t: RelationName, name: string): string {
  return `ALTER TYPE ${rel(t)} DROP ATTRIBUTE ${quoteIdent(name)}`;
}

export function alterAttributeTypeSql(t: RelationName, a: CompositeAttribute, schemas: ReadonlySet<string>): string {
  const collation = a.collation !== undefined ? ` COLLATE ${catalogObjectName(a.collation, schemas)}` : '';
  return `ALTER TYPE ${rel(t)} ALTER ATTRIBUTE ${quoteIdent(a.name)} TYPE ${a.type}${collation}`;
}

export function compositeTypeCommentSql(t: RelationName, text: string | undefined): string {
  return commentOnSql(`TYPE ${rel(t)}`, text);
}

export function attributeCommentSql(t: RelationName, attribute: string, text: string | undefined): string {
  return commentOnSql(`COLUMN ${rel(t)}.${quoteIdent(attribute)}`, text);
}
