/**
 * Views and materialized views: as the desired state has them, the compatibility view of a table
 * rename, and carrying dependent views over to a new table. A definition is the server's normalized
 * text (every name outside pg_catalog schema-qualified), sent through roundTripText (round-trip.ts).
 */
import type { MaterializedView, StorageParameters, View } from '../model/types.js';
import { commentOnSql } from './comments.js';
import { dollarQuoted, withClause } from './fragments.js';
import { qualifiedName, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';

/** `[WITH (security_barrier = true, …)]` of a view. */
function viewOptions(v: View): string {
  const o: string[] = [];
  if (v.securityBarrier) o.push('security_barrier = true');
  if (v.securityInvoker) o.push('security_invoker = true');
  return o.length > 0 ? ` WITH (${o.join(', ')})` : '';
}

/**
 * `CREATE [OR REPLACE] VIEW …`. OR REPLACE sets every option anew: an option left out is reset
 * (PostgreSQL replaces the view's reloptions as a whole).
 */
export function createViewSql(v: View, orReplace = false): string {
  const check = v.checkOption === undefined ? '' : `\nWITH ${v.checkOption.toUpperCase()} CHECK OPTION`;
  return `CREATE ${orReplace ? 'OR REPLACE ' : ''}VIEW ${qualifiedName(v.schema, v.name)}${viewOptions(v)} AS\n${roundTripText(v.definition)}${check}`;
}

/** `CREATE MATERIALIZED VIEW …` under the view's name or `name`, populated or `WITH NO DATA`. */
export function createMaterializedViewSql(v: MaterializedView, name = v.name): string {
  return (
    `CREATE MATERIALIZED VIEW ${qualifiedName(v.schema, name)}${withClause(v.with)} AS\n${roundTripText(v.definition)}\n` +
    (v.withData ? 'WITH DATA' : 'WITH NO DATA')
  );
}

/** `ALTER MATERIALIZED VIEW … RENAME TO …` */
export function renameMaterializedViewSql(v: RelationName, to: string): string {
  return `ALTER MATERIALIZED VIEW ${rel(v)} RENAME TO ${quoteIdent(to)}`;
}

/** `ALTER MATERIALIZED VIEW … RESET (…)` and `SET (…)` for storage parameters that changed. */
export function materializedViewStorageSql(
  v: RelationName,
  reset: readonly string[],
  set: StorageParameters | undefined,
): string[] {
  const sql: string[] = [];
  if (reset.length > 0) sql.push(`ALTER MATERIALIZED VIEW ${rel(v)} RESET (${reset.map(quoteIdent).join(', ')})`);
  if (set !== undefined && Object.keys(set).length > 0) {
    sql.push(`ALTER MATERIALIZED VIEW ${rel(v)} SET${withClause(set).replace(/^ WITH/, '')}`);
  }
  return sql;
}

/** `ALTER MATERIALIZED VIEW v CLUSTER ON i`, or `… SET WITHOUT CLUSTER` (no index). */
export function materializedViewClusterOnSql(v: RelationName, index: string | undefined): string {
  return `ALTER MATERIALIZED VIEW ${rel(v)} ${index === undefined ? 'SET WITHOUT CLUSTER' : `CLUSTER ON ${quoteIdent(index)}`}`;
}

/** `SELECT *` of one table: an automatically updatable view (reads, INSERT with defaults, UPDATE, DELETE go through). */
export function createViewOfTableSql(view: RelationName, table: RelationName): string {
  return `CREATE VIEW ${rel(view)} AS SELECT * FROM ${rel(table)}`;
}

export function commentOnViewSql(view: RelationName, text: string | undefined): string {
  return commentOnSql(`VIEW ${rel(view)}`, text);
}

/** `DROP [MATERIALIZED] VIEW [IF EXISTS] …` */
export function dropViewSql(
  view: RelationName,
  opts: { readonly materialized?: boolean; readonly ifExists?: boolean } = {},
): string {
  return `DROP ${opts.materialized ? 'MATERIALIZED ' : ''}VIEW ${opts.ifExists ? 'IF EXISTS ' : ''}${rel(view)}`;
}

/**
 * Keeps the definitions of `views` in a temporary table until the transaction ends
 * (`pg_temp.zdm_swap_views`), read as they are now: with an empty search_path every name in them is
 * printed schema-qualified, so they mean the same objects wherever they are replayed.
 */
export function saveViewDefinitionsSql(views: readonly RelationName[]): string {
  return (
    'CREATE TEMPORARY TABLE zdm_swap_views ON COMMIT DROP AS ' +
    'SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name, pg_catalog.pg_get_viewdef(c.oid) AS def, c.reloptions ' +
    `FROM pg_catalog.pg_class c WHERE c.oid IN (${views
      .map((v) => `${quoteLiteral(rel(v))}::pg_catalog.regclass`)
      .join(', ')})`
  );
}

/**
 * `CREATE OR REPLACE VIEW` of every view saved by saveViewDefinitionsSql, from its saved definition:
 * the names in it are parsed again, now (the view keeps its OID, grants and dependents).
 */
export function replaceSavedViewsSql(): string {
  const body = [
    'DECLARE v record;',
    'BEGIN',
    '  FOR v IN SELECT name, def, reloptions FROM pg_temp.zdm_swap_views LOOP',
    "    EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s%s AS %s', v.name,",
    "      CASE WHEN v.reloptions IS NULL THEN '' ELSE ' WITH (' || pg_catalog.array_to_string(v.reloptions, ', ') || ')' END,",
    "      pg_catalog.rtrim(v.def, '; '));",
    '  END LOOP;',
    'END',
  ].join('\n');
  return `DO ${dollarQuoted(`\n${body}\n`)}`;
}
