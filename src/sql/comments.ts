/** COMMENT ON: setting or removing the comment of an object. */
import { assertNever, type CommentTarget } from '../diff/changes.js';
import type { Domain, DomainCheck, Table } from '../model/types.js';
import { qualifiedName, quoteIdent, quoteLiteral, type RelationName } from './quote.js';

/** `COMMENT ON <object> IS '…'` (`IS NULL` when `text` is undefined); `object` is SQL, e.g. `FUNCTION s.f()`. */
export function commentOnSql(object: string, text: string | undefined): string {
  return `COMMENT ON ${object} IS ${text === undefined ? 'NULL' : quoteLiteral(text)}`;
}

export function commentSql(t: CommentTarget, text: string | undefined): string {
  switch (t.kind) {
    case 'schema':
      return commentOnSql(`SCHEMA ${quoteIdent(t.name)}`, text);
    case 'table':
      return commentOnSql(`TABLE ${qualifiedName(t.schema, t.name)}`, text);
    case 'column':
      return commentOnSql(`COLUMN ${qualifiedName(t.schema, t.table)}.${quoteIdent(t.column)}`, text);
    case 'index':
      return commentOnSql(`INDEX ${qualifiedName(t.schema, t.name)}`, text);
    case 'constraint':
      return commentOnSql(`CONSTRAINT ${quoteIdent(t.name)} ON ${qualifiedName(t.schema, t.table)}`, text);
    case 'domainConstraint':
      return commentOnSql(`CONSTRAINT ${quoteIdent(t.name)} ON DOMAIN ${qualifiedName(t.schema, t.domain)}`, text);
    case 'enum':
      return commentOnSql(`TYPE ${qualifiedName(t.schema, t.name)}`, text);
    case 'domain':
      return commentOnSql(`DOMAIN ${qualifiedName(t.schema, t.name)}`, text);
    case 'sequence':
      return commentOnSql(`SEQUENCE ${qualifiedName(t.schema, t.name)}`, text);
    case 'view':
      return commentOnSql(`VIEW ${qualifiedName(t.schema, t.name)}`, text);
    case 'materializedView':
      return commentOnSql(`MATERIALIZED VIEW ${qualifiedName(t.schema, t.name)}`, text);
    case 'viewColumn':
      return commentOnSql(`COLUMN ${qualifiedName(t.schema, t.view)}.${quoteIdent(t.column)}`, text);
    default:
      return assertNever(t);
  }
}

/** The comments a table declares on itself, its columns and its indexes, for the table `ref` (a copy of it). */
export function tableCommentsSql(ref: RelationName, t: Table): string[] {
  const sql: string[] = [];
  if (t.comment !== undefined) sql.push(commentSql({ kind: 'table', schema: ref.schema, name: ref.name }, t.comment));
  for (const c of t.columns) {
    if (c.comment !== undefined) {
      sql.push(commentSql({ kind: 'column', schema: ref.schema, table: ref.name, column: c.name }, c.comment));
    }
  }
  for (const i of t.indexes) {
    if (i.comment !== undefined) {
      sql.push(commentSql({ kind: 'index', schema: ref.schema, table: ref.name, name: i.name }, i.comment));
    }
  }
  return sql;
}

/** Comments of the constraints of a relation just created or given new constraints, for the step that does it. */
export function constraintCommentsSql(
  table: RelationName,
  constraints: readonly { readonly name: string; readonly comment?: string }[],
): string[] {
  return constraints
    .filter((c) => c.comment !== undefined)
    .map((c) => commentSql({ kind: 'constraint', schema: table.schema, table: table.name, name: c.name }, c.comment));
}

/** Comments of a domain's checks, for the step that creates them. */
export function domainCheckCommentsSql(d: Domain, checks: readonly DomainCheck[] = d.checks): string[] {
  return checks
    .filter((c) => c.comment !== undefined)
    .map((c) => commentSql({ kind: 'domainConstraint', schema: d.schema, domain: d.name, name: c.name }, c.comment));
}
