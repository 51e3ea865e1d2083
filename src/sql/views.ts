/** Views: the compatibility view of a table rename, and carrying dependent views over to a new table. */
import { commentOnSql } from './comments.js';
import { dollarQuoted } from './fragments.js';
import { quoteLiteral, type RelationName, rel } from './quote.js';

/** `SELECT *` of one table: an automatically updatable view (reads, INSERT with defaults, UPDATE, DELETE go through). */
export function createViewOfTableSql(view: RelationName, table: RelationName): string {
  return `CREATE VIEW ${rel(view)} AS SELECT * FROM ${rel(table)}`;
}

export function commentOnViewSql(view: RelationName, text: string | undefined): string {
  return commentOnSql(`VIEW ${rel(view)}`, text);
}

export function dropViewSql(view: RelationName): string {
  return `DROP VIEW ${rel(view)}`;
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
