/**
 * The backfill engine: a batched UPDATE, one short transaction per batch, resumable.
 *
 * Batches walk the table in key order: the primary key, else a unique index over NOT NULL plain
 * columns (keys are compared as row values, `(a, b) > ($1, $2)`, which a btree serves directly), else
 * ranges of heap blocks (`ctid >= '(n,0)' AND ctid < '(m,0)'`, a TID range scan since PG14).
 *
 * One batch (keyset), its steps 1 and 2 one statement (src/sql/rows.ts, backfillRangeSql):
 *   1. `SELECT key … WHERE key > $cursor AND (where) ORDER BY key OFFSET size-1 LIMIT 1`: the upper
 *      bound of the next `size` rows that need the update. A plain read: it takes no row locks.
 *   2. `UPDATE t SET col = (expr) WHERE key > $cursor AND key <= $upper AND (where)`: an index range
 *      update of those rows (and of any row inserted into the range meanwhile).
 *   3. The cursor moves to `$upper` with the batch's counters, in the same transaction; commit.
 * When step 1 finds no upper bound, the last batch updates everything past the cursor and marks the
 * step done in its transaction.
 *
 * Why not `FOR UPDATE SKIP LOCKED`: a row the application holds locked would be skipped, the cursor
 * would move past it, and it would never be backfilled. Instead the UPDATE waits for the row lock,
 * bounded by lock_timeout (the batch holds the row locks it already took while it waits, so the
 * wait must be short); on a timeout the batch is rolled back and retried with backoff, like a DDL
 * step. A row updated by the application meanwhile is re-checked against `where` by PostgreSQL
 * (READ COMMITTED re-evaluates the UPDATE's WHERE on the newest row version), so a row the new
 * application version already filled is left alone.
 *
 * Only the `set` columns are assigned: never a key column to itself (`SET id = id` fails on a
 * GENERATED ALWAYS identity column and would fire column triggers for nothing).
 *
 * ctid ranges: the range end is fixed when the step starts (the table's size in blocks then), so the
 * walk ends even though every updated row version may land in a later block. A row the application
 * updates moves too, possibly to a block already walked; that is harmless when, as in every zdm plan,
 * the expand phase installed the sync trigger that fills the new column on every write.
 *
 * Every `--vacuum-every` share of the rows (and after the last batch) the table is vacuumed between
 * two batches, so that the next batches write their row versions into the space of the ones they
 * replaced (src/apply/vacuum.ts).
 */
import type { BackfillStep, LockInfo } from '../plan/types.js';
import { backfillCtidSql, backfillRangeSql, backfillUpdateSql, type Keyset, keyset } from '../sql/rows.js';
import { type BatchLoopOutcome, batched, earlierRuns, runBatchLoop } from './batches.js';
import type { RunContext } from './context.js';
import { ApplyError } from './errors.js';
import { ensureCursor, type JournalCursor, resetCursorKey, stepStarting } from './journal.js';
import { elapsedMs, failedStep, finishedStep } from './outcome.js';
import type { BackfillStrategy, StepOutcome } from './types.js';
import { VacuumRounds, vacuumInterval } from './vacuum.js';

export interface BackfillKey {
  readonly strategy: BackfillStrategy;
  /** Key columns (empty for ctid). */
  readonly columns: readonly string[];
  /** Their types as `format_type` prints them without typmod, for casting the journaled text values. */
  readonly types: readonly string[];
  /** The index that serves the walk. */
  readonly index?: string;
}

interface TableFacts {
  readonly oid: number;
  readonly partitioned: boolean;
  readonly reltuples: number;
  readonly relpages: number;
  readonly blocks: number;
}

type Position =
  | {
      readonly strategy: 'primary-key' | 'unique-key';
      readonly columns: readonly string[];
      readonly last: readonly string[] | null;
    }
  | { readonly strategy: 'ctid'; readonly nextBlock: number; readonly endBlock: number };

async function tableFacts(ctx: RunContext, step: BackfillStep): Promise<TableFacts> {
  const r = await ctx.c.query<{ oid: number; relkind: string; reltuples: number; relpages: number; blocks: string }>(
    `SELECT c.oid::int8 AS oid, c.relkind, c.reltuples::float8 AS reltuples, c.relpages,
            (pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::int8)::int8 AS blocks
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [step.table.schema, step.table.name],
  );
  const row = r.rows[0];
  if (!row) {
    throw new ApplyError(
      'step-failed',
      `step ${step.id}: table ${step.table.schema}.${step.table.name} does not exist`,
      {
        stepId: step.id,
      },
    );
  }
  return {
    oid: Number(row.oid),
    partitioned: row.relkind === 'p',
    reltuples: row.reltuples,
    relpages: row.relpages,
    blocks: Number(row.blocks),
  };
}

/** The primary key, else the narrowest unique index on NOT NULL plain columns, else ctid. */
export async function chooseKey(ctx: RunContext, step: BackfillStep, oid: number): Promise<BackfillKey> {
  const r = await ctx.c.query<{
    primary: boolean;
    index: string;
    columns: string[];
    types: string[];
    not_null: boolean;
  }>(
    `SELECT i.indisprimary AS primary, ic.relname AS index,
            ARRAY(SELECT a.attname::text FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS columns,
            ARRAY(SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS types,
            (SELECT pg_catalog.bool_and(a.attnotnull) FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= i.indnkeyatts) AS not_null
       FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
        AND NOT (0 = ANY (i.indkey::int2[]))
      ORDER BY i.indisprimary DESC, i.indnkeyatts, ic.relname`,
    [oid],
  );
  const assigned = new Set(Object.keys(step.set));
  for (const row of r.rows) {
    // A key the backfill assigns would move under the cursor.
    if (!row.not_null || row.columns.some((col) => assigned.has(col))) continue;
    return {
      strategy: row.primary ? 'primary-key' : 'unique-key',
      columns: row.columns,
      types: row.types,
      index: row.index,
    };
  }
  return { strategy: 'ctid', columns: [], types: [] };
}

/** What one batch runs, with the cursor as placeholders: for dry runs and the docs. */
export async function describeBackfill(
  ctx: RunContext,
  step: BackfillStep,
): Promise<{ key: BackfillKey; sql: string[] }> {
  const facts = await tableFacts(ctx, step);
  const key = await chooseKey(ctx, step, facts.oid);
  if (key.strategy === 'ctid') return { key, sql: [backfillCtidSql(step, 0, 8)] };
  const ks = keyset(key.columns, key.types);
  return { key, sql: [backfillRangeSql(step, ks, true), backfillUpdateSql(step, ks, true, false)] };
}

function startPosition(key: BackfillKey, facts: TableFacts): Position {
  return key.strategy === 'ctid'
    ? { strategy: 'ctid', nextBlock: 0, endBlock: facts.blocks }
    : { strategy: key.strategy, columns: key.columns, last: null };
}

/** The journaled position, if it was made by the same key walk. */
function parsePosition(saved: unknown, key: BackfillKey): Position | null {
  if (saved === null || typeof saved !== 'object') return null;
  const p = saved as Record<string, unknown>;
  if (key.strategy === 'ctid') {
    return p.strategy === 'ctid' && typeof p.nextBlock === 'number' && typeof p.endBlock === 'number'
      ? { strategy: 'ctid', nextBlock: p.nextBlock, endBlock: p.endBlock }
      : null;
  }
  const cols = p.columns;
  const last = p.last;
  if (p.strategy === 'ctid' || !Array.isArray(cols) || cols.join('\u0000') !== key.columns.join('\u0000')) return null;
  if (last !== null && !(Array.isArray(last) && last.length === key.columns.length)) return null;
  return { strategy: key.strategy, columns: key.columns, last: last as string[] | null };
}

export async function runBackfillStep(
  ctx: RunContext,
  step: BackfillStep,
  cursor: JournalCursor | undefined,
): Promise<StepOutcome> {
  const { c, plan, phase, s } = ctx;
  const display = `${step.table.schema}.${step.table.name}`;
  const t0 = performance.now();
  const wanted: LockInfo[] = [{ relation: display, mode: 'ROW EXCLUSIVE', hold: 'scan' }];
  const { rowsDone, batchesDone } = earlierRuns(cursor);
  let strategy: BackfillStrategy = 'ctid';
  let run: BatchLoopOutcome;
  let vacuums: VacuumRounds | undefined;
  try {
    const facts = await tableFacts(ctx, step);
    const key = await chooseKey(ctx, step, facts.oid);
    strategy = key.strategy;
    if (key.strategy === 'ctid' && facts.partitioned) {
      throw new ApplyError(
        'step-failed',
        `step ${step.id}: ${display} is partitioned and has neither a primary key nor a unique NOT NULL key: ` +
          'zdm cannot walk it in batches (ctid ranges are per partition)',
        { stepId: step.id },
      );
    }
    await stepStarting(c, plan.id, phase.name, step.id);
    await ensureCursor(c, plan.id, step.id);
    const saved = parsePosition(cursor?.lastKey ?? null, key);
    const resumed = saved !== null && (rowsDone > 0 || batchesDone > 0);
    let pos: Position;
    if (saved !== null) pos = saved;
    else {
      if (cursor && cursor.lastKey !== null && cursor.lastKey !== undefined) {
        ctx.emit({
          type: 'warning',
          message: `${step.id}: the journaled cursor was made by another key walk than ${key.strategy} (${key.columns.join(', ') || 'ctid'}): starting the walk over`,
        });
      }
      pos = startPosition(key, facts);
      await resetCursorKey(c, plan.id, step.id, pos);
    }
    const estimatedTotal = facts.reltuples >= 0 && facts.relpages > 0 ? Math.round(facts.reltuples) : null;
    ctx.emit({
      type: 'backfill-start',
      stepId: step.id,
      table: display,
      strategy: key.strategy,
      key: key.columns,
      resumed,
      rowsDone,
      batchesDone,
      estimatedTotal,
      message:
        `${step.id}: backfill ${display} by ${key.strategy === 'ctid' ? 'ctid ranges' : `${key.strategy} (${key.columns.join(', ')})`}` +
        (resumed ? `, resuming after ${rowsDone} rows in ${batchesDone} batches` : '') +
        (estimatedTotal !== null ? `, ~${estimatedTotal} rows in the table` : ''),
    });
    await s.hooks.beforeStep?.(step.id);

    const tuplesPerBlock =
      facts.relpages > 0 && facts.reltuples > 0 ? Math.max(1, facts.reltuples / facts.relpages) : 50;
    const ks: Keyset | null = key.strategy === 'ctid' ? null : keyset(key.columns, key.types);
    const vacuumEvery = vacuumInterval(s.vacuumEvery, estimatedTotal, Math.round(facts.blocks * tuplesPerBlock));
    const rounds = new VacuumRounds(ctx, step.id, step.table, vacuumEvery, rowsDone);
    vacuums = rounds;
    run = await runBatchLoop<Position>(ctx, {
      stepId: step.id,
      what: 'backfill batch',
      display,
      wanted,
      lockTimeoutMs: s.lockTimeoutMs,
      targetSize: s.batchSize ?? step.batchSize,
      start: pos,
      rowsDone,
      batchesDone,
      batch: async (p, size) => {
        if (p.strategy === 'ctid') {
          const from = p.nextBlock;
          const to = Math.min(p.endBlock, from + Math.max(1, Math.round(size / tuplesPerBlock)));
          const rows = from >= p.endBlock ? 0 : ((await c.query(backfillCtidSql(step, from, to))).rowCount ?? 0);
          const next = { ...p, nextBlock: Math.max(from, to) };
          return { rows, next, last: next.nextBlock >= p.endBlock };
        }
        const cur = p.last;
        const cursorValues = cur ?? [];
        // The bound and the UPDATE up to it in one statement; fewer rows than `size` left: the last
        // batch, everything past the cursor.
        const b = await c.query<{ key: string[] | null; rows: string }>(backfillRangeSql(step, ks!, cur !== null), [
          ...cursorValues,
          size - 1,
        ]);
        const upper = b.rows[0]?.key ?? null;
        if (upper !== null) return { rows: Number(b.rows[0]!.rows), next: { ...p, last: upper }, last: false };
        const r = await c.query(backfillUpdateSql(step, ks!, cur !== null, false), cursorValues);
        return { rows: r.rowCount ?? 0, next: { ...p, last: cur }, last: true };
      },
      between: ({ rowsDone: total, done }) => rounds.between(total, done),
      progress: ({ position, done, rowsDone: total, batchesDone: batches, rowsPerSecond, elapsedSeconds }) => {
        let etaSeconds: number | null = null;
        if (done) etaSeconds = 0;
        else if (position.strategy === 'ctid' && position.endBlock > 0 && elapsedSeconds > 0) {
          const walked = position.nextBlock / position.endBlock;
          etaSeconds = walked > 0 ? Math.round((elapsedSeconds / walked) * (1 - walked)) : null;
        } else if (estimatedTotal !== null && rowsPerSecond > 0 && total < estimatedTotal) {
          etaSeconds = Math.round((estimatedTotal - total) / rowsPerSecond);
        }
        return {
          estimatedTotal,
          etaSeconds,
          message:
            `${step.id}: ${total}${estimatedTotal !== null ? `/~${estimatedTotal}` : ''} rows, ` +
            `${batches} batches, ${rowsPerSecond} rows/s${etaSeconds !== null && !done ? `, ETA ${etaSeconds}s` : ''}`,
        };
      },
    });
    await rounds.close(false);
  } catch (err) {
    await vacuums?.close(true);
    throw await failedStep(ctx, step.id, `backfill ${display}`, err, s.backfillStatementTimeoutMs);
  }
  const durationMs = elapsedMs(t0);
  const { rowsThisRun, batchesThisRun } = run;
  ctx.emit({
    type: 'backfill-done',
    stepId: step.id,
    rowsDone: run.rowsDone,
    batchesDone: run.batchesDone,
    rowsThisRun,
    batchesThisRun,
    durationMs,
    message: `${step.id}: backfill of ${display} done: ${rowsThisRun} rows in ${batchesThisRun} batches in this run (${run.rowsDone} rows in ${run.batchesDone} batches in all), ${durationMs} ms`,
  });
  finishedStep(ctx, step.id, run.maxAttempts, durationMs);
  return { id: step.id, outcome: 'applied', attempts: run.maxAttempts, durationMs, backfill: batched(strategy, run) };
}
