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

/**
 * A DO block that gives the materialized view `to` the owner and the privileges that `from` has when it runs
 * (read from the catalog): a materialized view built beside another to take its place belongs to the
 * role applying the plan, with no grant, and its readers must keep theirs. The owner's own entries
 * are the new owner's by default; PUBLIC's and every other role's are granted again (WITH GRANT
 * OPTION where they had it).
 */
export function takeOwnerAndPrivilegesSql(from: RelationName, to: RelationName): string {
  const target = quoteLiteral(rel(to));
  return `DO $zdm$
DECLARE
  src pg_catalog.oid := ${quoteLiteral(rel(from))}::pg_catalog.regclass;
  g record;
BEGIN
  EXECUTE pg_catalog.format('ALTER MATERIALIZED VIEW %s OWNER TO %I', ${target},
    (SELECT r.rolname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner WHERE c.oid = src));
  FOR g IN
    SELECT a.privilege_type, a.is_grantable,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END AS grantee
      FROM pg_catalog.pg_class c CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
     WHERE c.oid = src AND a.grantee <> c.relowner
  LOOP
    EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s', g.privilege_type, ${target}, g.grantee,
      CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$zdm$`;
}
