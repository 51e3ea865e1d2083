/** Version schemas of the view path for renames (src/model/versions.ts, src/plan/techniques/rename-views.ts). */
import { VERSION_SCHEMA_COMMENT_PREFIX, type VersionSchema, versionSchemaComment } from '../model/versions.js';
import { commentOnSql } from './comments.js';
import { quoteIdent, type RelationName, rel } from './quote.js';
import { dropSchemaSql } from './schemas.js';
import { dropViewSql } from './views.js';

export function createVersionSchemaSql(v: VersionSchema): string[] {
  return [`CREATE SCHEMA ${quoteIdent(v.name)}`, commentOnSql(`SCHEMA ${quoteIdent(v.name)}`, versionSchemaComment(v))];
}

/**
 * A simple view of one table that exposes its columns under `names` (in the table's column order):
 * one relation in FROM, plain column references, no aggregates: automatically updatable, so INSERT
 * (defaults included), UPDATE, DELETE, `RETURNING` and `ON CONFLICT` go through to the table.
 * `securityInvoker` (PostgreSQL 15+): privileges and row level security are checked against the
 * caller, as they are on the table.
 */
export function createVersionViewSql(
  view: RelationName,
  table: RelationName,
  columns: readonly { readonly column: string; readonly as: string }[],
  securityInvoker: boolean,
): string {
  const list = columns
    .map((c) => (c.column === c.as ? quoteIdent(c.column) : `${quoteIdent(c.column)} AS ${quoteIdent(c.as)}`))
    .join(', ');
  const options = securityInvoker ? ' WITH (security_invoker = true)' : '';
  return `CREATE VIEW ${rel(view)}${options} AS SELECT ${list} FROM ${rel(table)}`;
}

/** The version schema and its views (no CASCADE: a view zdm did not make there makes it fail, not vanish). */
export function dropVersionSchemaSql(name: string, views: readonly string[]): string[] {
  return [
    ...views.map((v) => dropViewSql({ schema: name, name: v }, { ifExists: true })),
    dropSchemaSql(name, { ifExists: true }),
  ];
}

/** The live version schemas: `name`, `comment` (read back with versionOfComment). */
export const VERSION_SCHEMAS_SQL = `SELECT n.nspname AS name, d.description AS comment
FROM pg_catalog.pg_namespace n
JOIN pg_catalog.pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objsubid = 0
WHERE d.description LIKE '${VERSION_SCHEMA_COMMENT_PREFIX}%'
ORDER BY n.nspname`;
