/**
 * The read-only queries of the data preflight (src/plan/preflight.ts decides which, src/workflow/
 * preflight.ts runs them): how many live rows would make a step of the plan fail, and up to five of
 * them. Identifiers go through quoteIdent; expressions from the desired state (check expressions,
 * `using`) are SQL by contract and are parenthesized, never quoted.
 */
import { quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';

/** How many rows to show of each violation. */
export const SAMPLE_ROWS = 5;

/** The queries of one check: `count` returns one row `{ n }`; `sample` rows `{ row }` (JSON text). */
export interface PreflightQueries {
  readonly count: string;
  readonly sample: string;
}

/**
 * The row's identity in samples, as JSON text: its key columns, else the partition it is in and its
 * ctid; and the order to list rows in.
 */
function identity(key: readonly string[] | undefined): { json: string; order: string } {
  if (key === undefined || key.length === 0) {
    return {
      json: "pg_catalog.json_build_object('table', tableoid::pg_catalog.regclass::text, 'ctid', ctid::text)::text",
      order: 'tableoid, ctid',
    };
  }
  return {
    json: `pg_catalog.json_build_object(${key.map((c) => `${quoteLiteral(c)}, ${quoteIdent(c)}`).join(', ')})::text`,
    order: key.map(quoteIdent).join(', '),
  };
}

/**
 * Rows of `table` matching `bad` (a predicate that is true only for a row that would fail); `alias`
 * names the table in `bad` when it needs one.
 */
export function badRowsQueries(
  table: RelationName,
  bad: string,
  key: readonly string[] | undefined,
  alias?: string,
): PreflightQueries {
  const id = identity(key);
  const from = `${rel(table)}${alias !== undefined ? ` AS ${alias}` : ''}`;
  return {
    count: `SELECT pg_catalog.count(*) AS n FROM ${from} WHERE ${bad}`,
    sample: `SELECT ${id.json} AS row FROM ${from} WHERE ${bad} ORDER BY ${id.order} LIMIT ${SAMPLE_ROWS}`,
  };
}

/** `NOT (expr)`: true only where a CHECK is false (a NULL result passes a CHECK). */
export function checkViolatedSql(expression: string): string {
  return `NOT (${expression})`;
}

/** `"a" IS NULL OR "b" IS NULL`. */
export function anyNullSql(columns: readonly string[]): string {
  return columns.map((c) => `${quoteIdent(c)} IS NULL`).join(' OR ');
}

export interface ForeignKeyRows {
  readonly columns: readonly string[];
  /** Absent: the referenced table does not exist yet (the plan creates it): it has no row. */
  readonly references?: { readonly table: RelationName; readonly columns: readonly string[] };
  readonly match: 'simple' | 'full' | 'partial';
}

/**
 * The rows a foreign key rejects, aliased `zdm_child`: MATCH SIMPLE checks rows whose key columns
 * are all non-null; MATCH FULL also rejects a key that is partly null.
 */
export function orphanSql(fk: ForeignKeyRows): string {
  const ref = fk.references;
  const missing =
    ref === undefined
      ? 'true'
      : `NOT EXISTS (SELECT FROM ${rel(ref.table)} AS zdm_parent WHERE ${fk.columns
          .map((c, i) => `zdm_parent.${quoteIdent(ref.columns[i]!)} = zdm_child.${quoteIdent(c)}`)
          .join(' AND ')})`;
  const all = fk.columns.map((c) => `zdm_child.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  if (fk.match === 'full' && fk.columns.length > 1) {
    const any = fk.columns.map((c) => `zdm_child.${quoteIdent(c)} IS NOT NULL`).join(' OR ');
    return `((${any}) AND NOT (${all})) OR ((${all}) AND ${missing})`;
  }
  return `(${all}) AND ${missing}`;
}

/** The rows a foreign key rejects (see orphanSql). */
export function orphanQueries(
  table: RelationName,
  fk: ForeignKeyRows,
  key: readonly string[] | undefined,
): PreflightQueries {
  return badRowsQueries(table, orphanSql(fk), key, 'zdm_child');
}

/** A key of a unique index or constraint: a column, or an expression (parenthesized). */
export type UniqueKey = { readonly column: string } | { readonly expression: string };

const keyText = (k: UniqueKey): string => ('column' in k ? quoteIdent(k.column) : `(${k.expression})`);
const keyAlias = (k: UniqueKey, i: number): string => ('column' in k ? quoteIdent(k.column) : `"key ${i + 1}"`);

/**
 * The rows that share a key with another row (count), and the duplicated values with how many rows
 * hold each (sample). Rows with a NULL key part are never duplicates unless `nullsNotDistinct`.
 */
export function duplicateQueries(
  table: RelationName,
  keys: readonly UniqueKey[],
  options: { readonly nullsNotDistinct: boolean; readonly where?: string },
): PreflightQueries {
  const texts = keys.map(keyText);
  const conditions = [
    ...(options.where !== undefined ? [`(${options.where})`] : []),
    ...(options.nullsNotDistinct ? [] : texts.map((k) => `${k} IS NOT NULL`)),
  ];
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  const groups = `FROM ${rel(table)}${where} GROUP BY ${texts.join(', ')} HAVING pg_catalog.count(*) > 1`;
  return {
    count: `SELECT COALESCE(pg_catalog.sum(d.n), 0)::bigint AS n FROM (SELECT pg_catalog.count(*) AS n ${groups}) AS d`,
    sample:
      `SELECT pg_catalog.row_to_json(s)::text AS row FROM (SELECT ${texts.map((k, i) => `${k} AS ${keyAlias(keys[i]!, i)}`).join(', ')}, ` +
      `pg_catalog.count(*) AS rows ${groups} ORDER BY ${texts.map((_, i) => i + 1).join(', ')} LIMIT ${SAMPLE_ROWS}) AS s`,
  };
}

/**
 * Whether `expression` converts to `type` on every row: a query that fails on the first row it
 * cannot convert (`count` evaluates the expression on every row).
 */
export function convertsSql(table: RelationName, expression: string, type: string): string {
  return `SELECT pg_catalog.count(CAST((${expression}) AS ${type})) AS n FROM ${rel(table)}`;
}

/** SQLSTATE of the error the conversion finder raises to hand back its result (nothing is changed). */
export const FINDER_SQLSTATE = 'ZDMPF';

/**
 * A DO block that tries the conversion row by row (each in its own subtransaction), counts the rows
 * that fail and keeps the first five, then raises FINDER_SQLSTATE with the count as the message and
 * the rows (a JSON array of JSON texts) as the detail. Read only: it runs in a READ ONLY transaction.
 */
export function conversionFinderSql(
  table: RelationName,
  expression: string,
  type: string,
  key: readonly string[] | undefined,
): string {
  const id = identity(key);
  const t = rel(table);
  return `DO $zdm_preflight$
DECLARE
  r record;
  n bigint := 0;
  bad text[] := '{}';
BEGIN
  FOR r IN SELECT tableoid AS zdm_oid, ctid AS zdm_ctid, ${id.json} AS zdm_row FROM ${t} ORDER BY ${id.order} LOOP
    BEGIN
      PERFORM CAST((${expression}) AS ${type}) FROM ${t} WHERE tableoid = r.zdm_oid AND ctid = r.zdm_ctid;
    EXCEPTION WHEN OTHERS THEN
      n := n + 1;
      IF pg_catalog.cardinality(bad) < ${SAMPLE_ROWS} THEN
        bad := bad || (r.zdm_row::jsonb || pg_catalog.jsonb_build_object('error', SQLERRM))::text;
      END IF;
    END;
  END LOOP;
  RAISE EXCEPTION USING ERRCODE = '${FINDER_SQLSTATE}', MESSAGE = n::text, DETAIL = pg_catalog.array_to_json(bad)::text;
END
$zdm_preflight$`;
}
