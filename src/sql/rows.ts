/**
 * Statements over a table's rows: a backfill's UPDATE batches and a partition swap's copy batches,
 * both as the plan shows them to the reviewer (placeholders for the key range) and as apply runs
 * them, the comparison of a table with its copy, and the probe for empty tables.
 *
 * Identifiers from the plan (table, key and column names) always go through quoteIdent; expressions
 * from the plan (`set`, `where`) are SQL by contract and are parenthesized, never quoted.
 */
import type { CopyGuard, CopyInsert } from '../plan/types.js';
import { identList, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';

/** A walk in key order: the key as a row value, and the parameters that bound it. */
export interface Keyset {
  /** The key columns, quoted. */
  readonly columns: readonly string[];
  /** `id`, or `(a, b)` for a key of several columns (compared as row values, which a btree serves). */
  readonly row: string;
  /** The key's value as parameters from `$offset+1`: cast to the key's types when they are known. */
  readonly params: (offset: number) => string;
}

/** A row value of `parts`: one bare, several parenthesized (`id`, `(a, b)`). */
function rowValue(parts: readonly string[]): string {
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

/** The keyset of `columns`; `types` (as `format_type` prints them) cast the parameters (journaled as text). */
export function keyset(columns: readonly string[], types?: readonly string[]): Keyset {
  const cols = columns.map(quoteIdent);
  return {
    columns: cols,
    row: rowValue(cols),
    params: (offset) => rowValue(columns.map((_, i) => `$${offset + i + 1}${types ? `::${types[i]}` : ''}`)),
  };
}

// ---------------------------------------------------------------------------------------------
// Backfill

/** `"c" IS NULL`: the rows a backfill of column c has yet to fill. */
export function isNullSql(column: string): string {
  return `${quoteIdent(column)} IS NULL`;
}

/** `"c"::type`: the column's value cast to another type (no type: the value as it is). */
export function castSql(column: string, type?: string): string {
  return type === undefined ? quoteIdent(column) : `${quoteIdent(column)}::${type}`;
}

/** A backfill of one column as the plan shows it: what one batch sets, where, walking which key. */
export interface BatchDisplay {
  readonly table: RelationName;
  readonly column: string;
  readonly expression: string;
  readonly where: string;
  /** The primary key; none: ctid ranges. */
  readonly key: readonly string[] | undefined;
}

/**
 * One batch of a backfill as the reviewer reads it: `UPDATE t SET c = expr WHERE where AND <key
 * range>`, the range as placeholders `$1…` over the primary key, else over ctid.
 */
export function backfillBatchSql({ table, column, expression, where, key }: BatchDisplay): string {
  const range =
    key && key.length > 0
      ? `(${identList(key)}) > (${key.map((_, i) => `$${i + 1}`).join(', ')}) AND (${identList(key)}) <= (${key
          .map((_, i) => `$${key.length + i + 1}`)
          .join(', ')})`
      : 'ctid >= $1::tid AND ctid < $2::tid';
  return `UPDATE ${rel(table)} SET ${quoteIdent(column)} = ${expression} WHERE ${where} AND ${range}`;
}

/**
 * One batch of a column replacement's backfill as the reviewer reads it: the new column set from
 * the old one where it is still NULL, the range as `$cursor`/`$upper` over the primary key, else
 * `$range` of ctids.
 */
export function replaceBatchSql({ table, column, expression, where, key }: BatchDisplay): string {
  const range =
    key && key.length > 0 ? `(${identList(key)}) > ($cursor) AND (${identList(key)}) <= ($upper)` : 'ctid in $range';
  return `UPDATE ${rel(table)} SET ${quoteIdent(column)} = (${expression}) WHERE ${where} AND ${range}`;
}

/** `"new" IS NULL AND (conv) IS NOT NULL`: rows of a column replacement no write has touched since expand. */
export function notCopiedSql(column: string, expression: string): string {
  return `${isNullSql(column)} AND (${expression}) IS NOT NULL`;
}

/** What a backfill step does, as apply runs it: the table, the columns it sets and which rows need it. */
export interface BackfillSpec {
  readonly table: RelationName;
  /** Column → SQL expression over the row. */
  readonly set: Readonly<Record<string, string>>;
  /** SQL predicate; empty: every row. */
  readonly where: string;
}

const predicate = (where: string): string => (where.trim() === '' ? 'true' : `(${where})`);

const assignments = (set: Readonly<Record<string, string>>): string =>
  Object.entries(set)
    .map(([col, expr]) => `${quoteIdent(col)} = (${expr})`)
    .join(', ');

/**
 * One batch in one statement: the upper bound of the next `$offset + 1` rows past the cursor that
 * need the update (the key of the `$offset`-th such row: a plain read, it takes no row locks) and the
 * UPDATE of the key range up to it, with the bound (`key`, a JSON array of text) and the rows updated
 * (`rows`) as the result. Parameters: the
 * cursor `$1..$k` (when there is one), then the offset. No bound (fewer rows are left than the batch
 * size): nothing is updated, `key` is NULL, and the last batch is `backfillUpdateSql` without one.
 *
 * One statement instead of two saves a round trip per batch; the bound is read in the UPDATE's own
 * snapshot. `MATERIALIZED`: the bound is computed once, before the UPDATE runs (an InitPlan that the
 * UPDATE's index range scan takes as its upper limit).
 */
export function backfillRangeSql(b: BackfillSpec, ks: Keyset, hasCursor: boolean): string {
  const k = ks.columns.length;
  const after = hasCursor ? `${ks.row} > ${ks.params(0)} AND ` : '';
  const bound = `(SELECT ${ks.columns.join(', ')} FROM upper)`;
  return (
    `WITH upper AS MATERIALIZED (SELECT ${ks.columns.join(', ')} FROM ${rel(b.table)}` +
    ` WHERE ${after}${predicate(b.where)} ORDER BY ${ks.columns.join(', ')} OFFSET $${hasCursor ? k + 1 : 1}::int8 LIMIT 1),` +
    ` batch AS (UPDATE ${rel(b.table)} SET ${assignments(b.set)} WHERE ${after}${ks.row} <= ${bound} AND ${predicate(b.where)} RETURNING 1)` +
    ` SELECT (SELECT pg_catalog.jsonb_build_array(${ks.columns.map((c) => `${c}::text`).join(', ')}) FROM upper) AS key,` +
    ' (SELECT pg_catalog.count(*) FROM batch)::int8 AS rows'
  );
}

/** The batch's UPDATE; parameters: the cursor `$1..$k` (when there is one), then the upper bound (when there is one). */
export function backfillUpdateSql(b: BackfillSpec, ks: Keyset, hasCursor: boolean, hasUpper: boolean): string {
  const conds: string[] = [];
  if (hasCursor) conds.push(`${ks.row} > ${ks.params(0)}`);
  if (hasUpper) conds.push(`${ks.row} <= ${ks.params(hasCursor ? ks.columns.length : 0)}`);
  conds.push(predicate(b.where));
  return `UPDATE ${rel(b.table)} SET ${assignments(b.set)} WHERE ${conds.join(' AND ')}`;
}

/**
 * A batch over a range of heap blocks, for a table without a usable key. A row the walk already
 * updated may have moved into a block it has yet to walk; without a `where` that excludes done rows
 * it would be updated again. So a walk without `where` only touches rows whose `set` columns differ
 * from the values they would get (`IS DISTINCT FROM`): a revisited row no longer does (unless an
 * expression is volatile: such a backfill needs a `where`).
 */
export function backfillCtidSql(b: BackfillSpec, fromBlock: number, toBlock: number): string {
  const entries = Object.entries(b.set);
  const where =
    b.where.trim() !== ''
      ? predicate(b.where)
      : `(${entries.map(([col]) => quoteIdent(col)).join(', ')}, NULL) IS DISTINCT FROM (${entries.map(([, expr]) => `(${expr})`).join(', ')}, NULL)`;
  return (
    `UPDATE ${rel(b.table)} SET ${assignments(b.set)} WHERE ctid >= '(${Math.trunc(fromBlock)},0)'::pg_catalog.tid` +
    ` AND ctid < '(${Math.trunc(toBlock)},0)'::pg_catalog.tid AND ${where}`
  );
}

// ---------------------------------------------------------------------------------------------
// Copy (partition swap)

/** What a copy step does: every row of `from` into `to`, in key order. */
export interface CopySpec {
  readonly from: RelationName;
  readonly to: RelationName;
  readonly columns: readonly string[];
  readonly key: readonly string[];
  /** `INSERT … OVERRIDING SYSTEM VALUE`: the target has a GENERATED ALWAYS identity column. */
  readonly overridingSystemValue: boolean;
  /** `for-share` (the default): the batch reads the live rows FOR SHARE; `repair`: no row lock (CopyGuard). */
  readonly guard?: CopyGuard;
  /** The columns that find a row's copy in `to` (CopyStep.match); absent: the key. */
  readonly match?: readonly string[];
  /** How a batch keeps a row the mirror already wrote (copyBatchSql); absent: `on-conflict`. */
  readonly insert?: CopyInsert;
  /** Columns whose type `to` changes (a table rewrite), each with its type there: read as `"col"::type`. */
  readonly casts?: Readonly<Record<string, string>>;
}

/** The columns as read from the source: each one `to` changes the type of cast to its type there. */
export function selectList(columns: readonly string[], casts?: Readonly<Record<string, string>>): string {
  return columns
    .map((c) => {
      const type = casts?.[c];
      return type === undefined ? quoteIdent(c) : `${quoteIdent(c)}::${type}`;
    })
    .join(', ');
}

/** The upper bound of the next copy batch (as a text array); parameters: the cursor (when there is one), then the offset. */
export function copyUpperSql(c: CopySpec, ks: Keyset, hasCursor: boolean): string {
  const k = ks.columns.length;
  return (
    `SELECT ARRAY[${ks.columns.map((col) => `${col}::text`).join(', ')}] AS key FROM ${rel(c.from)}` +
    `${hasCursor ? ` WHERE ${ks.row} > ${ks.params(0)}` : ''} ` +
    `ORDER BY ${ks.columns.join(', ')} OFFSET $${hasCursor ? k + 1 : 1} LIMIT 1`
  );
}

/**
 * One copy batch: `INSERT INTO to (cols) SELECT cols FROM from WHERE key in the batch ORDER BY key
 * [FOR SHARE]` (`FOR SHARE` under the `for-share` guard), then what keeps a row the mirror trigger
 * already wrote:
 *   anti-join    `AND NOT EXISTS (a row of to with the row's match columns)`: a row the mirror wrote
 *                and committed before the batch's statement started is skipped; one it wrote and had
 *                not committed (or committed after) fails the batch with a unique violation, and the
 *                batch is redone with `on-conflict`. Each copied row is one plain insert.
 *   on-conflict  `ON CONFLICT DO NOTHING`: a speculative insertion per row, which logs a second WAL
 *                record for every row (its confirmation), 46 MB for 1,000,000 rows (BENCHMARKS §8).
 *   copy         the anti-join's rows read by `COPY (…) TO STDOUT` on a second connection and
 *                streamed into `COPY to (cols) FROM STDIN` in the batch's transaction (copyReadSql,
 *                copyWriteSql): one WAL record per page of rows instead of one per row. Here (the
 *                batch without a second connection): the anti-join.
 * Parameters: the cursor (when there is one), then the upper bound (when there is one). Without types
 * in the keyset, as the reviewer reads it.
 */
export function copyBatchSql(
  c: CopySpec,
  ks: Keyset,
  hasCursor: boolean,
  hasUpper: boolean,
  insert: CopyInsert = c.insert ?? 'on-conflict',
): string {
  const cols = identList(c.columns);
  const into = `INSERT INTO ${rel(c.to)} (${cols})${c.overridingSystemValue ? ' OVERRIDING SYSTEM VALUE' : ''} `;
  if (insert !== 'on-conflict') return into + copyReadSql(c, ks, hasCursor, hasUpper);
  const where = batchRange(ks, hasCursor, hasUpper);
  return (
    `${into}SELECT ${selectList(c.columns, c.casts)} FROM ${rel(c.from)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ` +
    `ORDER BY ${ks.columns.join(', ')}${c.guard === 'repair' ? '' : ' FOR SHARE'} ON CONFLICT DO NOTHING`
  );
}

/** The batch's key range, of the rows of the table (or, qualified by `alias`, of another with the key's columns). */
function batchRange(ks: Keyset, hasCursor: boolean, hasUpper: boolean, alias = ''): string[] {
  const row = alias === '' ? ks.row : rowValue(ks.columns.map((col) => `${alias}.${col}`));
  return [
    ...(hasCursor ? [`${row} > ${ks.params(0)}`] : []),
    ...(hasUpper ? [`${row} <= ${ks.params(hasCursor ? ks.columns.length : 0)}`] : []),
  ];
}

/**
 * The rows of a batch that `to` has no copy of (found by the match columns, else the key): the
 * anti-join's `SELECT`, and what a `copy` batch reads. The range is repeated on `to` (implied by the
 * equal keys): without it the planner merges the batch with the whole of `to` from its start, and
 * each batch costs more than the last.
 */
export function copyReadSql(c: CopySpec, ks: Keyset, hasCursor: boolean, hasUpper: boolean): string {
  const match = (c.match ?? c.key).map(quoteIdent).map((col) => `zdm_t.${col} = zdm_f.${col}`);
  const where = [
    ...batchRange(ks, hasCursor, hasUpper),
    `NOT EXISTS (SELECT FROM ${rel(c.to)} AS zdm_t WHERE ${[...batchRange(ks, hasCursor, hasUpper, 'zdm_t'), ...match].join(' AND ')})`,
  ];
  return (
    `SELECT ${selectList(c.columns, c.casts)} FROM ${rel(c.from)} AS zdm_f WHERE ${where.join(' AND ')} ` +
    `ORDER BY ${ks.columns.join(', ')}${c.guard === 'repair' ? '' : ' FOR SHARE OF zdm_f'}`
  );
}

/**
 * A `copy` batch's writing half: `COPY to (cols) FROM STDIN`. COPY writes a GENERATED ALWAYS identity
 * column's values as given, as `OVERRIDING SYSTEM VALUE` does.
 */
export function copyWriteSql(c: Pick<CopySpec, 'to' | 'columns'>): string {
  return `COPY ${rel(c.to)} (${identList(c.columns)}) FROM STDIN`;
}

/** `COPY (query) TO STDOUT`: COPY takes no parameters, so the query's are given inline (`literalKeyset`). */
export function copyOutSql(query: string): string {
  return `COPY (${query}) TO STDOUT`;
}

/** A keyset whose parameters are the literals of `values` (the cursor, then the upper bound), cast to `types`. */
export function literalKeyset(columns: readonly string[], types: readonly string[], values: readonly string[]): Keyset {
  const ks = keyset(columns, types);
  return {
    ...ks,
    params: (offset) => rowValue(columns.map((_, i) => `${quoteLiteral(values[offset + i]!)}::${types[i]}`)),
  };
}

/**
 * The `repair` guard's last statement (CopyGuard): deletes the rows of `to` whose `match` columns no
 * row of `from` has, the rows a concurrent DELETE (or UPDATE of the key) left behind because its
 * mirror ran beside the batch that copied them and did not see the copy. Run once every transaction
 * that was running when the last batch committed has ended: any later one sees every copy.
 *
 * Each row is deleted only in the version the anti-join found (same `xmin`): a row the mirror
 * rewrote meanwhile (the application inserted the key again: an upsert over the left-behind copy)
 * is rechecked on its new version by the DELETE (READ COMMITTED) and kept, where the `NOT EXISTS`
 * alone, rechecked in the statement's snapshot, would still not see the new live row. Returns the
 * number of rows deleted (`rows`).
 */
export function copyRepairSql(c: Pick<CopySpec, 'from' | 'to'>, match: readonly string[]): string {
  const cols = match.map(quoteIdent);
  const on = (a: string, b: string) => cols.map((col) => `${a}.${col} = ${b}.${col}`).join(' AND ');
  return (
    `WITH zdm_gone AS MATERIALIZED (SELECT ${cols.map((col) => `zdm_t.${col}`).join(', ')}, zdm_t.xmin AS zdm_xmin FROM ${rel(c.to)} AS zdm_t` +
    ` WHERE NOT EXISTS (SELECT FROM ${rel(c.from)} AS zdm_f WHERE ${on('zdm_f', 'zdm_t')})),` +
    ` zdm_deleted AS (DELETE FROM ${rel(c.to)} AS zdm_t USING zdm_gone WHERE ${on('zdm_t', 'zdm_gone')} AND zdm_t.xmin = zdm_gone.zdm_xmin RETURNING 1)` +
    ' SELECT pg_catalog.count(*)::int8 AS rows FROM zdm_deleted'
  );
}

/**
 * count(*) and an order-independent checksum (sum of 64-bit row hashes) of `columns` of a table;
 * `casts`: the columns read as the copy converts them (a table rewrite's live side).
 */
export function checksumSql(
  t: RelationName,
  columns: readonly string[],
  casts?: Readonly<Record<string, string>>,
): string {
  const row = `ROW(${selectList(columns, casts)})::text`;
  return (
    `SELECT pg_catalog.count(*) AS rows, ` +
    `COALESCE(pg_catalog.sum(('x' || pg_catalog.substr(pg_catalog.md5(${row}), 1, 16))::bit(64)::int8::numeric), 0) AS checksum ` +
    `FROM ${rel(t)}`
  );
}

/** The two checksum queries of a verify step side by side: one statement, one snapshot. */
export function compareChecksumsSql(liveSql: string, copySql: string): string {
  return `SELECT a.rows AS live_rows, a.checksum::text AS live_sum, b.rows AS copy_rows, b.checksum::text AS copy_sum
           FROM (${liveSql}) AS a, (${copySql}) AS b`;
}

/**
 * Rows of `from` missing from `to` and rows of `to` not in `from`, counted with EXCEPT ALL (`casts`:
 * the columns of `from` read as the copy converts them).
 */
export function rowDifferenceSql(
  from: RelationName,
  to: RelationName,
  columns: readonly string[],
  casts?: Readonly<Record<string, string>>,
): string {
  const fc = selectList(columns, casts);
  const cols = identList(columns);
  const f = rel(from);
  const t = rel(to);
  return `SELECT (SELECT pg_catalog.count(*) FROM (SELECT ${fc} FROM ${f} EXCEPT ALL SELECT ${cols} FROM ${t}) AS x) AS missing,
                  (SELECT pg_catalog.count(*) FROM (SELECT ${cols} FROM ${t} EXCEPT ALL SELECT ${fc} FROM ${f}) AS y) AS extra`;
}

/** One query over several tables: the index (0-based, column `i`) of each that has no row. */
export function emptyTablesSql(tables: readonly RelationName[]): string {
  return tables.map((t, j) => `SELECT ${j} AS i WHERE NOT EXISTS (SELECT FROM ${rel(t)})`).join(' UNION ALL ');
}
