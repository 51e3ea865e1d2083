/**
 * The copy and verify steps of a partition swap (src/plan/techniques/partition-swap/).
 *
 * Copy: the source is walked in key order, one transaction per batch:
 *   1. `SELECT key … WHERE key > $cursor ORDER BY key OFFSET size-1 LIMIT 1`: the batch's upper bound
 *      (a plain read, no row locks);
 *   2. the rows of the range whose copy the shadow does not have, as the step's `insert` says
 *      (CopyInsert, copyBatchSql in src/sql/rows.ts): `INSERT INTO shadow (cols) SELECT cols FROM
 *      live WHERE key > $cursor AND key <= $upper AND NOT EXISTS (its copy) ORDER BY key [FOR SHARE]`
 *      (`anti-join`), or those rows read on a second connection by `COPY (…) TO STDOUT` and streamed
 *      into `COPY shadow FROM STDIN` (`copy`: CopyReader below); a batch that meets a copy the
 *      trigger wrote beside it (a unique violation) is rolled back and redone `INSERT … ON CONFLICT
 *      DO NOTHING` (`on-conflict`, what plans made before `insert` run for every batch);
 *   3. the cursor moves to `$upper` in the same transaction; commit.
 * A row the trigger already wrote is newer than or equal to what the batch read, and is kept. What
 * keeps a concurrent write of a row being copied is the step's guard (CopyGuard in
 * src/plan/types.ts):
 *   for-share  the batch reads the rows FOR SHARE: a concurrent DELETE or UPDATE of a row being copied
 *              waits for the batch to commit, and its trigger then mirrors it over the copied version;
 *              a row deleted before the batch read it is not read (nothing is resurrected). It costs
 *              a lock record and a dirtied page (a full-page image after a checkpoint) per live row.
 *   repair     no row lock. The mirror's insert is an upsert: an UPDATE that meets a batch's
 *              uncommitted copy waits for the batch and overwrites the copy. A DELETE (or an UPDATE
 *              of the key) whose mirror ran beside a batch that copied the row does not see the copy,
 *              which stays in the shadow; so after the last batch the copy waits until every
 *              transaction that was running then has ended (any later one sees every copy: its
 *              mirror deletes what it deletes), polling pg_locks, blocking no one, and deletes the
 *              rows of the shadow whose key the live table no longer has (copyRepairSql). The last
 *              batch does not journal the step done: a copy killed before the repair repairs on resume.
 *
 * The batch waits for row locks under a lock_timeout shorter than PostgreSQL's default
 * deadlock_timeout (1 s): a batch that waits on a row held by a transaction that in turn waits on a
 * row of the batch gives up (and is retried) before the deadlock detector could pick the
 * application's transaction as the victim.
 *
 * Both read the live table with `row_security = off`: where row level security would apply to the
 * role applying the plan (FORCE ROW LEVEL SECURITY subjects the table's owner to the policies; a
 * member of the owning role is subject to them anyway), PostgreSQL fails the statement instead of
 * leaving the rows the policies hide out of the copy and the comparison, which the swap would lose.
 * A superuser or a BYPASSRLS role reads every row (the planner refuses FORCE kept for others).
 *
 * Verify: one statement (so one snapshot: the trigger writes both tables in the writer's own
 * transaction, so any snapshot sees them equal) computes the row count and an order-independent
 * checksum of both tables; when they differ, the rows missing on each side are counted with EXCEPT ALL.
 */

import type pg from 'pg';
import { canStreamCopy, streamCopy } from '../db/copy-stream.js';
import { sqlStateOf } from '../errors.js';
import type { CopyStep, LockInfo, VerifyStep } from '../plan/types.js';
import {
  compareChecksumsSql,
  copyBatchSql,
  copyOutSql,
  copyReadSql,
  copyRepairSql,
  copyUpperSql,
  copyWriteSql,
  keyset,
  literalKeyset,
  rowDifferenceSql,
} from '../sql/rows.js';
import { setLocalSql, setSessionSql } from '../sql/session.js';
import { type BatchLoopOutcome, batched, batchSettings, earlierRuns, runBatchLoop } from './batches.js';
import type { RunContext, Settings } from './context.js';
import { ApplyError } from './errors.js';
import { SideSession } from './guard.js';
import { ensureCursor, type JournalCursor, stepDone, stepStarting } from './journal.js';
import { WAITING_FOR_OLDER_KEY } from './locks.js';
import { elapsedMs, failedStep, finishedStep, startedStep } from './outcome.js';
import { msSetting } from './timing.js';
import type { StepOutcome } from './types.js';

/** Every row, or an error: never the rows row level security lets through (see the module comment). */
const ALL_ROWS = { row_security: 'off' } as const;

/**
 * The settings text passes through between `COPY … TO` on the reader and `COPY … FROM` on the batch's
 * connection (`insert: copy`), as pg_dump sets them: dates and intervals in the one style every
 * input reads back the same, floats with every digit (a role or database with `extra_float_digits`
 * below 1 would print them rounded). Set on both sides (on the batch's, for its transaction only).
 */
const TEXT_ROUND_TRIP = { DateStyle: 'ISO', IntervalStyle: 'postgres', extra_float_digits: '3' } as const;

/** What an anti-join batch meets when the mirror wrote one of its rows beside it: redone ON CONFLICT. */
const UNIQUE_VIOLATION = '23505';

/** Below PostgreSQL's default deadlock_timeout (1 s); see the module comment. */
const COPY_LOCK_TIMEOUT_MS = 500;

/** The lock_timeout of a copy batch, and of its reader's session. */
const copyLockTimeoutMs = (s: Settings): number => Math.min(s.lockTimeoutMs, COPY_LOCK_TIMEOUT_MS);

async function keyTypes(ctx: RunContext, step: CopyStep): Promise<string[]> {
  const r = await ctx.c.query<{ name: string; type: string }>(
    `SELECT a.attname::text AS name, pg_catalog.format_type(a.atttypid, NULL) AS type
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [step.from.schema, step.from.name],
  );
  return step.key.map((k) => {
    const t = r.rows.find((x) => x.name === k)?.type;
    if (t === undefined) {
      throw new ApplyError('step-failed', `step ${step.id}: ${step.from.schema}.${step.from.name} has no column ${k}`, {
        stepId: step.id,
      });
    }
    return t;
  });
}

export async function runCopyStep(
  ctx: RunContext,
  step: CopyStep,
  cursor: JournalCursor | undefined,
): Promise<StepOutcome> {
  const { c, plan, phase, s } = ctx;
  const display = `${step.from.schema}.${step.from.name}`;
  const t0 = performance.now();
  const repair = step.guard === 'repair';
  const wanted: LockInfo[] = [{ relation: display, mode: repair ? 'ACCESS SHARE' : 'ROW SHARE', hold: 'scan' }];
  const { rowsDone, batchesDone } = earlierRuns(cursor);
  let run: BatchLoopOutcome;
  let removed = 0;
  // The batch being redone ON CONFLICT DO NOTHING (it met a copy the mirror wrote beside it), and
  // how many were.
  let redoing = false;
  let redone = 0;
  // `insert: copy`: the connection that reads the rows (where apply can open one).
  const reader = step.insert === 'copy' && canStreamCopy(c) ? new CopyReader(ctx, c) : undefined;
  try {
    const types = await keyTypes(ctx, step);
    await stepStarting(c, plan.id, phase.name, step.id);
    await ensureCursor(c, plan.id, step.id);
    const saved = cursor?.lastKey;
    const last: string[] | null =
      Array.isArray(saved) && saved.length === step.key.length ? saved.map((v) => String(v)) : null;
    const ks = keyset(step.key, types);
    ctx.emit({
      type: 'step-start',
      stepId: step.id,
      summary: step.summary,
      attempt: 1,
      message: `${step.id}: ${step.summary}${last !== null ? `, resuming after ${rowsDone} rows in ${batchesDone} batches` : ''}`,
    });
    await s.hooks.beforeStep?.(step.id);
    run = await runBatchLoop<string[] | null>(ctx, {
      stepId: step.id,
      what: 'copy batch',
      display,
      wanted,
      lockTimeoutMs: copyLockTimeoutMs(s),
      settings: reader === undefined ? ALL_ROWS : { ...ALL_ROWS, ...TEXT_ROUND_TRIP },
      targetSize: s.batchSize ?? step.batchSize,
      start: last,
      rowsDone,
      batchesDone,
      lastMarksDone: !repair,
      batch: async (cur, size) => {
        const u = await c.query<{ key: string[] }>(copyUpperSql(step, ks, cur !== null), [...(cur ?? []), size - 1]);
        const upper = u.rows[0]?.key ?? null;
        const insert = redoing ? 'on-conflict' : step.insert;
        const values = [...(cur ?? []), ...(upper ?? [])];
        if (insert === 'copy' && reader !== undefined) {
          const rows = await reader.copyBatch(step, types, cur !== null, upper !== null, values);
          if (rows !== null) return { rows, next: upper ?? cur, last: upper === null };
        }
        const r = await c.query(copyBatchSql(step, ks, cur !== null, upper !== null, insert), values);
        return { rows: r.rowCount ?? 0, next: upper ?? cur, last: upper === null };
      },
      redo: (err) => {
        if (redoing || step.insert === undefined || step.insert === 'on-conflict') return false;
        if (sqlStateOf(err) !== UNIQUE_VIOLATION) return false;
        redoing = true;
        redone += 1;
        return true;
      },
      between: async () => {
        redoing = false;
      },
      progress: ({ done, rowsDone: total, batchesDone: batches, rowsPerSecond }) => ({
        estimatedTotal: null,
        etaSeconds: done ? 0 : null,
        message: `${step.id}: ${total} rows copied in ${batches} batches, ${rowsPerSecond} rows/s`,
      }),
    });
    if (repair) {
      removed = await repairCopy(ctx, step);
      await stepDone(c, plan.id, step.id);
    }
  } catch (err) {
    throw await failedStep(ctx, step.id, `copy ${display}`, err, s.backfillStatementTimeoutMs);
  } finally {
    await reader?.close();
  }
  const durationMs = elapsedMs(t0);
  finishedStep(
    ctx,
    step.id,
    run.maxAttempts,
    durationMs,
    `${step.id}: copied ${run.rowsThisRun} rows in ${run.batchesThisRun} batches in ${durationMs} ms (${run.rowsDone} rows in all)` +
      (reader !== undefined && reader.streamed > 0 ? ` (${reader.streamed} batches streamed through COPY)` : '') +
      (redone > 0
        ? `; ${redone} batches redone ON CONFLICT DO NOTHING (they met rows the trigger wrote beside them)`
        : '') +
      (repair ? `; ${removed} rows deleted during the copy removed from the copy` : ''),
  );
  return {
    id: step.id,
    outcome: 'applied',
    attempts: run.maxAttempts,
    durationMs,
    backfill: batched('primary-key', run),
  };
}

/**
 * The reading half of `insert: copy` batches (CopyInsert): a connection of its own, on which each
 * batch's rows are read by `COPY (the anti-join's SELECT) TO STDOUT` and streamed into the batch's
 * `COPY … FROM STDIN` (src/db/copy-stream.ts). Its session reads every row (`row_security` off) under
 * the batch's timeouts. A batch that fails leaves it mid-COPY: it is closed, and the next batch opens
 * another. Without a connection to open (`zdm demo`, library use without
 * `sideConnection`), or with one that is not a node-postgres client, `copyBatch` says null and the
 * batch is the anti-join's INSERT.
 *
 * Reading in another transaction than the batch's changes nothing the guard relies on: a row the
 * mirror wrote after the read's snapshot fails the write with a unique violation (the batch is redone
 * ON CONFLICT DO NOTHING); a row deleted after the read and before the write is left behind in the
 * shadow, as one deleted beside an INSERT … SELECT batch is, and the repair removes it.
 */
class CopyReader {
  private readonly side: SideSession;
  private ready: Promise<pg.Client | null> | null = null;
  /** Batches whose rows came through COPY (the last message says so). */
  streamed = 0;
  /** `writer`: the batch's connection (the `COPY … FROM STDIN` runs in its transaction). */
  constructor(
    private readonly ctx: RunContext,
    private readonly writer: pg.Client,
  ) {
    this.side = new SideSession(ctx.s.sideConnection);
  }

  private open(): Promise<pg.Client | null> {
    this.ready ??= this.side.get().then(async (conn) => {
      if (conn === null || !canStreamCopy(conn)) return null;
      await conn.query(
        setSessionSql({
          application_name: 'zdm apply (copy reader)',
          ...ALL_ROWS,
          ...TEXT_ROUND_TRIP,
          ...batchSettings(this.ctx.s, copyLockTimeoutMs(this.ctx.s)),
        }),
      );
      return conn;
    });
    return this.ready;
  }

  /** One batch's rows, read here and written on the batch's connection; null: no reader (the caller inserts them). */
  async copyBatch(
    step: CopyStep,
    types: readonly string[],
    hasCursor: boolean,
    hasUpper: boolean,
    values: readonly string[],
  ): Promise<number | null> {
    const conn = await this.open();
    if (conn === null) return null;
    const ks = literalKeyset(step.key, types, values);
    try {
      const rows = await streamCopy(
        conn,
        copyOutSql(copyReadSql(step, ks, hasCursor, hasUpper)),
        this.writer,
        copyWriteSql(step),
      );
      this.streamed += 1;
      return rows;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.ready = null;
    await this.side.close();
  }
}

/**
 * Every other transaction running now in this database (others cannot write its tables) that has
 * written (an xid) or holds a snapshot (an xmin: a REPEATABLE READ transaction, or a statement
 * running): its virtual transaction id (every backend's transaction holds a lock on its own); and
 * the prepared transactions (they hold none). A transaction with neither has not written and takes
 * its next snapshot after the last batch committed, as CREATE INDEX CONCURRENTLY reasons: left out.
 */
const RUNNING_SQL = `SELECT pg_catalog.array_agg(l.virtualxid::text) AS vxids,
  (SELECT pg_catalog.array_agg(p.gid) FROM pg_catalog.pg_prepared_xacts AS p
    WHERE p.database = pg_catalog.current_database()) AS gids
  FROM pg_catalog.pg_locks AS l JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
 WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
   AND a.datname = pg_catalog.current_database() AND (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)`;

/** Those of them still running: their pids (NULL for a prepared transaction). */
const STILL_RUNNING_SQL = `SELECT pg_catalog.array_agg(l.pid) AS pids FROM pg_catalog.pg_locks AS l
 WHERE l.locktype = 'virtualxid' AND l.granted AND l.virtualxid::text = ANY ($1::text[])
 UNION ALL SELECT pg_catalog.array_agg(NULL::int) FROM pg_catalog.pg_prepared_xacts AS p WHERE p.gid = ANY ($2::text[])`;

const POLL_MS = 50;

/**
 * The repair guard's end (see the module comment): waits for every transaction running now to end,
 * then deletes the rows of the shadow a concurrent delete left behind. Returns how many.
 */
async function repairCopy(ctx: RunContext, step: CopyStep): Promise<number> {
  const { c } = ctx;
  const running = await c.query<{ vxids: string[] | null; gids: string[] | null }>(RUNNING_SQL);
  const vxids = running.rows[0]?.vxids ?? [];
  const gids = running.rows[0]?.gids ?? [];
  await c.query('SELECT pg_catalog.pg_try_advisory_lock($1, $2)', [...WAITING_FOR_OLDER_KEY]);
  try {
    await waitForEnd(ctx, step, vxids, gids);
  } finally {
    await c.query('SELECT pg_catalog.pg_advisory_unlock($1, $2)', [...WAITING_FOR_OLDER_KEY]).catch(() => {});
  }
  const d = await allRowsTransaction(ctx, 'READ COMMITTED', () =>
    c.query<{ rows: string }>(copyRepairSql(step, step.match ?? step.key)),
  );
  return Number(d.rows[0]?.rows ?? 0);
}

/**
 * `work` in one transaction (`mode`: its isolation level and access), under the backfill statement
 * timeout and reading every row (ALL_ROWS); rolled back when `work` throws.
 */
async function allRowsTransaction<T>(ctx: RunContext, mode: string, work: () => Promise<T>): Promise<T> {
  const { c, s } = ctx;
  await c.query(`BEGIN ISOLATION LEVEL ${mode}`);
  try {
    await c.query(setLocalSql({ statement_timeout: msSetting(s.backfillStatementTimeoutMs), ...ALL_ROWS }));
    const result = await work();
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Polls until none of `vxids` and `gids` is running; fails after the backfill statement timeout (when set). */
async function waitForEnd(ctx: RunContext, step: CopyStep, vxids: string[], gids: string[]): Promise<void> {
  const { c, s } = ctx;
  const t0 = performance.now();
  let told = false;
  for (;;) {
    const r = await c.query<{ pids: (number | null)[] | null }>(STILL_RUNNING_SQL, [vxids, gids]);
    const pids = [...new Set(r.rows.flatMap((x) => x.pids ?? []))];
    if (pids.length === 0) return;
    const waited = performance.now() - t0;
    const which = pids.map((p) => p ?? 'prepared').join(', ');
    if (s.backfillStatementTimeoutMs > 0 && waited > s.backfillStatementTimeoutMs) {
      throw new ApplyError(
        'step-failed',
        `step ${step.id}: transactions that were running when the copy's last batch committed are still running after ` +
          `${Math.round(waited)} ms (pids ${which}): the rows they may have deleted cannot be removed from the copy ` +
          'yet; apply again once they have ended',
        { stepId: step.id },
      );
    }
    if (!told && waited > 1000) {
      told = true;
      ctx.emit({
        type: 'warning',
        message: `${step.id}: waiting for ${pids.length} transactions that were running when the last batch committed to end (pids ${which})`,
      });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function runVerifyStep(ctx: RunContext, step: VerifyStep): Promise<StepOutcome> {
  const { c, plan, s } = ctx;
  const t0 = performance.now();
  try {
    await startedStep(ctx, step, 1);
    await s.hooks.beforeStep?.(step.id);
    const [liveSql, copySql] = step.sql;
    if (liveSql === undefined || copySql === undefined) {
      throw new ApplyError('step-failed', `step ${step.id}: a verify step needs two queries`, { stepId: step.id });
    }
    const row = await allRowsTransaction(ctx, 'REPEATABLE READ READ ONLY', async () => {
      const r = await c.query<{ live_rows: string; live_sum: string; copy_rows: string; copy_sum: string }>(
        compareChecksumsSql(liveSql, copySql),
      );
      const row = r.rows[0]!;
      if (row.live_rows !== row.copy_rows || row.live_sum !== row.copy_sum) {
        const d = await c.query<{ missing: string; extra: string }>(
          rowDifferenceSql(step.from, step.to, step.columns, step.casts),
        );
        const diff = d.rows[0]!;
        throw new ApplyError(
          'step-failed',
          `step ${step.id}: ${step.to.schema}.${step.to.name} does not have the rows of ${step.from.schema}.${step.from.name}: ` +
            `${row.live_rows} rows against ${row.copy_rows}; ${diff.missing} rows of the live table are missing from the copy ` +
            `and ${diff.extra} rows of the copy are not in the live table. The swap must not run: find what wrote around ` +
            'the sync trigger (session_replication_role = replica, a disabled trigger), then copy again',
          { stepId: step.id },
        );
      }
      return row;
    });
    ctx.emit({
      type: 'warning',
      message: `${step.id}: ${row.live_rows} rows, checksums agree (${row.live_sum})`,
    });
    await stepDone(c, plan.id, step.id);
  } catch (err) {
    throw await failedStep(ctx, step.id, step.summary, err, s.backfillStatementTimeoutMs);
  }
  const durationMs = elapsedMs(t0);
  finishedStep(ctx, step.id, 1, durationMs);
  return { id: step.id, outcome: 'applied', attempts: 1, durationMs };
}
