/**
 * `zdm plan --rehearse-rows N`: up to N live rows of each table the plan changes, copied into the
 * scratch copy of the live schema before the rehearsal runs the phases (rehearse.ts).
 *
 * Reading (the live database): one transaction, `REPEATABLE READ READ ONLY` (one snapshot for every
 * table, and PostgreSQL itself refuses any write), each statement under a statement timeout and a
 * short lock timeout. Each value is read as text (`col::text`, the type's output function, as COPY
 * does), under settings whose output every server reads back the same (DateStyle ISO, IntervalStyle
 * postgres, extra_float_digits 3).
 * - Which rows: `SELECT … LIMIT N` of each table, in no particular order (a partitioned table through
 *   its root, which routes the rows back to their partitions on insert; any other table `FROM ONLY`,
 *   so that an inheritance child's rows are not copied into its parent).
 * - Then the parents: for each foreign key (of the live schema or the desired state) from a copied
 *   table, the referenced rows that the copied rows point to, read by key, and theirs in turn, for up
 *   to MAX_PARENT_ROUNDS levels. A key whose parent row is not in the live database either stays
 *   without one: that is the data. Only when levels were left unread (`parentsComplete: false`) can a
 *   missing parent in the copy be an artefact of the sampling.
 * - Columns: every column but generated ones (PostgreSQL computes them again), in the table's order;
 *   `OVERRIDING SYSTEM VALUE` when one is a `GENERATED ALWAYS` identity.
 *
 * Writing (the scratch copy): with `session_replication_role = replica`, so that neither the foreign
 * key triggers nor the tables' own triggers fire while the rows go in (they are live rows, already
 * checked there). It needs a superuser: zdm's embedded server always is; a --scratch-url role that
 * is not gets a ScratchError saying so. Batched multi-row INSERTs whose parameters PostgreSQL types
 * from the target columns, so a value goes through its type's input function (extension types,
 * domains, arrays alike). A row the copy cannot take (a NOT VALID check it violates, say) stops the
 * rehearsal naming the row: a data problem, not a zdm bug.
 */
import type pg from 'pg';
import type { Queryable } from '../db/connection.js';
import { InputError, messageOf, sqlStateOf } from '../errors.js';
import { qualifiedRef } from '../model/names.js';
import type { DatabaseModel, Partition, Table } from '../model/types.js';
import { relationsTouched } from '../plan/scope.js';
import type { Plan } from '../plan/types.js';
import { identList, quoteIdent, rel } from '../sql/quote.js';
import { setLocalSql } from '../sql/session.js';
import { ScratchError } from './scratch.js';

/** Statement timeout of each read of the live database. */
export const DEFAULT_ROWS_TIMEOUT_MS = 30_000;
/** Lock timeout of each read (ACCESS SHARE waits only behind an ACCESS EXCLUSIVE held or queued). */
const LOCK_TIMEOUT_MS = 2_000;
/** Levels of foreign keys followed from the copied rows to the rows they reference. */
export const MAX_PARENT_ROUNDS = 8;
/** Parameters of one INSERT (PostgreSQL's limit is 65535). */
const MAX_PARAMS = 30_000;

interface TableRef {
  readonly schema: string;
  readonly name: string;
}

export interface SampledTable {
  readonly table: TableRef;
  /** Columns copied (generated ones left out), in the table's order. */
  readonly columns: readonly string[];
  /** `format_type()` of each column of `columns`. */
  readonly types: readonly string[];
  /** A `GENERATED ALWAYS` identity column is among `columns`. */
  readonly overriding: boolean;
  /** The rows, each value as its type's text output. */
  readonly rows: readonly (readonly (string | null)[])[];
}

export interface RowSample {
  readonly limit: number;
  readonly tables: readonly SampledTable[];
  /** Every level of foreign keys from the copied rows was followed (see the module comment). */
  readonly parentsComplete: boolean;
}

/** Live rows the rehearsal could not load into the scratch copy: the data, not zdm. Exit 1. */
export class RehearsalDataError extends InputError {
  override readonly name = 'RehearsalDataError';
}

const keyOf = qualifiedRef;

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the rows, not the SQL. */
export const isDataError = (state: string | undefined): boolean =>
  state !== undefined && (state.startsWith('22') || state.startsWith('23'));

/** `schema.name` of every table and partition of `model` → its root table. */
function rootsByName(model: DatabaseModel): Map<string, Table> {
  const out = new Map<string, Table>();
  const walk = (root: Table, parts: readonly Partition[]): void => {
    for (const p of parts) {
      out.set(keyOf(p), root);
      walk(root, p.partitions);
    }
  };
  for (const s of model.schemas)
    for (const t of s.tables) {
      out.set(keyOf(t), t);
      walk(t, t.partitions);
    }
  return out;
}

/**
 * The live tables the plan changes: those a step locks, fills, copies or compares, or a phase
 * fingerprints; each as its root table (a partition's rows are read through the partitioned table).
 */
export function tablesChanged(plan: Plan, live: DatabaseModel): Table[] {
  const roots = rootsByName(live);
  const names = relationsTouched(plan);
  for (const phase of plan.phases) {
    for (const k of Object.keys(phase.objects)) if (k.startsWith('table ')) names.add(k.slice('table '.length));
  }
  const out = new Map<string, Table>();
  for (const n of names) {
    const root = roots.get(n);
    if (root) out.set(keyOf(root), root);
  }
  return [...out.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
}

interface Edge {
  readonly child: string;
  readonly childColumns: readonly string[];
  readonly parent: Table;
  readonly parentColumns: readonly string[];
}

/** Foreign keys of the live schema and of the desired state between live tables (by root). */
function foreignKeys(live: DatabaseModel, desired: DatabaseModel): Edge[] {
  const roots = rootsByName(live);
  const out = new Map<string, Edge>();
  for (const m of [live, desired])
    for (const s of m.schemas)
      for (const t of s.tables) {
        const child = roots.get(keyOf(t));
        if (!child) continue;
        for (const fk of t.foreignKeys) {
          const parent = roots.get(`${fk.references.schema}.${fk.references.table}`);
          if (!parent) continue;
          const e = { child: keyOf(child), childColumns: fk.columns, parent, parentColumns: fk.references.columns };
          out.set(JSON.stringify([e.child, e.childColumns, keyOf(parent), e.parentColumns]), e);
        }
      }
  return [...out.values()];
}

interface Loaded {
  table: Table;
  columns: string[];
  types: string[];
  overriding: boolean;
  rows: (string | null)[][];
  seen: Set<string>;
}

async function columnsOf(live: Queryable, t: Table): Promise<Omit<Loaded, 'rows' | 'seen' | 'table'>> {
  const r = await live.query<{ name: string; type: string; identity: string; generated: string }>(
    `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attidentity::text AS identity, a.attgenerated::text AS generated
       FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [rel(t)],
  );
  const cols = r.rows.filter((c) => c.generated === '');
  return {
    columns: cols.map((c) => c.name),
    types: cols.map((c) => c.type),
    overriding: cols.some((c) => c.identity === 'a'),
  };
}

const selectList = (cols: readonly string[]) =>
  cols.length === 0 ? `ARRAY[]::text[] AS r` : `ARRAY[${cols.map((c) => `${quoteIdent(c)}::text`).join(', ')}] AS r`;

/**
 * Reads up to `limit` rows of each of `tables` from the live database, and the rows they reference
 * (module comment), in one READ ONLY, REPEATABLE READ transaction.
 */
export async function readRowSample(
  live: Queryable,
  tables: readonly Table[],
  models: { readonly live: DatabaseModel; readonly desired: DatabaseModel },
  options: { readonly limit: number; readonly timeoutMs?: number },
): Promise<RowSample> {
  const { limit } = options;
  const loaded = new Map<string, Loaded>();
  const edges = foreignKeys(models.live, models.desired);
  await live.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await live.query(
      setLocalSql({
        statement_timeout: `${options.timeoutMs ?? DEFAULT_ROWS_TIMEOUT_MS}ms`,
        lock_timeout: `${LOCK_TIMEOUT_MS}ms`,
        DateStyle: 'ISO, YMD',
        IntervalStyle: 'postgres',
        extra_float_digits: '3',
      }),
    );
    const table = async (t: Table): Promise<Loaded> => {
      let l = loaded.get(keyOf(t));
      if (!l) {
        l = { table: t, ...(await columnsOf(live, t)), rows: [], seen: new Set() };
        loaded.set(keyOf(t), l);
      }
      return l;
    };
    /** Adds the rows not copied yet; returns how many were new. */
    const add = (l: Loaded, rows: readonly (string | null)[][]): (string | null)[][] => {
      const fresh = rows.filter((r) => {
        const k = JSON.stringify(r);
        if (l.seen.has(k)) return false;
        l.seen.add(k);
        return true;
      });
      l.rows.push(...fresh);
      return fresh;
    };
    let pending = new Map<string, (string | null)[][]>();
    for (const t of tables) {
      const l = await table(t);
      const only = t.partitionBy ? '' : 'ONLY ';
      const r = await live.query<{ r: (string | null)[] }>(
        `SELECT ${selectList(l.columns)} FROM ${only}${rel(t)} LIMIT ${Math.floor(limit)}`,
      );
      pending.set(
        keyOf(t),
        add(
          l,
          r.rows.map((x) => x.r),
        ),
      );
    }
    let rounds = 0;
    let unfollowed = false;
    while ([...pending.values()].some((rows) => rows.length > 0) && rounds < MAX_PARENT_ROUNDS) {
      rounds++;
      const next = new Map<string, (string | null)[][]>();
      for (const [child, rows] of pending) {
        if (rows.length === 0) continue;
        const c = loaded.get(child)!;
        for (const e of edges.filter((x) => x.child === child)) {
          const at = e.childColumns.map((n) => c.columns.indexOf(n));
          if (at.some((i) => i < 0)) continue; // a key over a column this plan adds: no live values
          const p = await table(e.parent);
          const pAt = e.parentColumns.map((n) => p.columns.indexOf(n));
          if (pAt.some((i) => i < 0)) {
            // A key to columns this plan adds to the parent: which rows match is not known before the plan runs.
            unfollowed = true;
            continue;
          }
          const have = new Set(p.rows.map((r) => JSON.stringify(pAt.map((i) => r[i]))));
          const wanted = new Map<string, string[]>();
          for (const r of rows) {
            const k = at.map((i) => r[i]);
            if (k.some((v) => v === null)) continue; // MATCH SIMPLE: a NULL in the key references nothing
            const s = JSON.stringify(k);
            if (!have.has(s)) wanted.set(s, k as string[]);
          }
          if (wanted.size === 0) continue;
          const keys = [...wanted.values()];
          const cols = e.parentColumns.map((_, j) => `k${j}`);
          const r = await live.query<{ r: (string | null)[] }>(
            `SELECT ${selectList(p.columns)} FROM ${rel(e.parent)}
              WHERE (${identList(e.parentColumns)}) IN (
                SELECT ${cols.map((k, j) => `u.${k}::${p.types[pAt[j]!]}`).join(', ')}
                  FROM pg_catalog.unnest(${cols.map((_, j) => `$${j + 1}::text[]`).join(', ')}) AS u(${cols.join(', ')}))`,
            cols.map((_, j) => keys.map((k) => k[j])),
          );
          const fresh = add(
            p,
            r.rows.map((x) => x.r),
          );
          next.set(keyOf(p.table), [...(next.get(keyOf(p.table)) ?? []), ...fresh]);
        }
      }
      pending = next;
    }
    const parentsComplete = !unfollowed && ![...pending.values()].some((rows) => rows.length > 0);
    return {
      limit,
      parentsComplete,
      tables: [...loaded.values()].map((l) => ({
        table: { schema: l.table.schema, name: l.table.name },
        columns: l.columns,
        types: l.types,
        overriding: l.overriding,
        rows: l.rows,
      })),
    };
  } catch (err) {
    const state = sqlStateOf(err);
    const why =
      state === '57014'
        ? 'it did not finish within the statement timeout'
        : state === '55P03'
          ? 'a table is locked (ACCESS EXCLUSIVE held or queued)'
          : messageOf(err);
    throw new ScratchError(
      `cannot read the rows to rehearse with (--rehearse-rows ${limit}) from the live database: ${why} ` +
        '(a smaller --rehearse-rows, or 0 to rehearse on the schema only)',
      { cause: err },
    );
  } finally {
    await live.query('ROLLBACK').catch(() => {});
  }
}

/** `id="4", note=NULL` (each value cut at 60 characters). */
export function describeCopiedRow(columns: readonly string[], row: readonly (string | null)[]): string {
  return columns
    .map((c, i) => {
      const v = row[i] ?? null;
      return `${c}=${v === null ? 'NULL' : JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
    })
    .join(', ');
}

const insertSql = (t: SampledTable, rows: number): string => {
  const n = t.columns.length;
  const values = Array.from(
    { length: rows },
    (_, r) => `(${t.columns.map((_, c) => `$${r * n + c + 1}`).join(', ')})`,
  ).join(', ');
  return (
    `INSERT INTO ${rel(t.table)} (${identList(t.columns)})` +
    `${t.overriding ? ' OVERRIDING SYSTEM VALUE' : ''} VALUES ${values}`
  );
};

/**
 * Writes `sample` into the scratch copy (module comment); returns rows copied per table.
 *
 * @throws ScratchError when the scratch role may not set session_replication_role; RehearsalDataError
 *   naming the row the copy cannot take.
 */
export async function loadRowSample(scratch: pg.Client, sample: RowSample): Promise<Record<string, number>> {
  try {
    await scratch.query('SET session_replication_role = replica');
  } catch (err) {
    throw new ScratchError(
      `cannot rehearse with rows (--rehearse-rows ${sample.limit}): the scratch server's role may not set ` +
        `session_replication_role (${messageOf(err)}), which zdm needs to load the rows without firing the tables' ` +
        'triggers and foreign key checks: give --scratch-url a superuser, leave --scratch-url out (zdm then starts ' +
        'its own server), or rehearse on the schema only (--rehearse-rows 0)',
      { cause: err },
    );
  }
  const copied: Record<string, number> = {};
  try {
    for (const t of sample.tables) {
      // A table of generated columns only: no value to write (its rows are not copied).
      copied[keyOf(t.table)] = t.columns.length === 0 ? 0 : t.rows.length;
      if (t.columns.length === 0) continue;
      const per = Math.max(1, Math.floor(MAX_PARAMS / t.columns.length));
      for (let i = 0; i < t.rows.length; i += per) {
        const batch = t.rows.slice(i, i + per);
        try {
          await scratch.query(insertSql(t, batch.length), batch.flat());
        } catch {
          // The batch went in whole or not at all: find the row it stumbled on.
          for (const row of batch) {
            try {
              await scratch.query(insertSql(t, 1), [...row]);
            } catch (err) {
              const state = sqlStateOf(err);
              if (!isDataError(state)) {
                throw new ScratchError(
                  `cannot copy the live rows of ${keyOf(t.table)} into the scratch copy to rehearse the plan ` +
                    `(--rehearse-rows ${sample.limit}): ${messageOf(err)} (--rehearse-rows 0 rehearses on the schema only)`,
                  { cause: err },
                );
              }
              throw new RehearsalDataError(
                `cannot copy a live row of ${keyOf(t.table)} into the scratch copy to rehearse the plan ` +
                  `(--rehearse-rows ${sample.limit}): PostgreSQL said: ${messageOf(err)}; the row: ` +
                  `${describeCopiedRow(t.columns, row)}\n` +
                  'the live data does not satisfy the table as its schema is (a NOT VALID constraint it violates?): ' +
                  'this is the data, not a zdm bug; nothing was written',
                { cause: err },
              );
            }
          }
        }
      }
    }
  } finally {
    await scratch.query('RESET session_replication_role');
  }
  return copied;
}
