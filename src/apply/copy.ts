/**
 * The copy and verify steps of a partition swap (src/plan/techniques/partition-swap/).
 *
 * Copy: the source is walked in key order, one transaction per batch:
 *   1. `SELECT key … WHERE key > $cursor ORDER BY key OFFSET size-1 LIMIT 1`: the batch's upper bound
 *      (a plain read, no row locks);
 *   2. `INSERT INTO shadow (cols) SELECT cols FROM live WHERE key > $cursor AND key <= $upper ORDER BY
 *      key FOR SHARE ON CONFLICT DO NOTHING`;
 *   3. the cursor moves to `$upper` in the same transaction; commit.
 * FOR SHARE: a concurrent DELETE or UPDATE of a row being copied waits for the batch to commit, and
 * its trigger then mirrors it over the copied version; a row deleted before the batch read it is not
 * read (nothing is resurrected). ON CONFLICT DO NOTHING: a row the trigger already wrote is newer
 * than or equal to what the batch read, and is kept.
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
import type { CopyStep, LockInfo, VerifyStep } from '../plan/types.js';
import { compareChecksumsSql, copyBatchSql, copyUpperSql, keyset, rowDifferenceSql } from '../sql/rows.js';
import { setLocalSql } from '../sql/session.js';
import { type BatchLoopOutcome, batched, earlierRuns, runBatchLoop } from './batches.js';
import type { RunContext } from './context.js';
import { ApplyError } from './errors.js';
import { ensureCursor, type JournalCursor, stepDone, stepStarting } from './journal.js';
import { elapsedMs, failedStep, finishedStep, startedStep } from './outcome.js';
import { msSetting } from './timing.js';
import type { StepOutcome } from './types.js';

/** Every row, or an error: never the rows row level security lets through (see the module comment). */
const ALL_ROWS = { row_security: 'off' } as const;

/** Below PostgreSQL's default deadlock_timeout (1 s); see the module comment. */
const COPY_LOCK_TIMEOUT_MS = 500;

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
  const wanted: LockInfo[] = [{ relation: display, mode: 'ROW SHARE', hold: 'scan' }];
  const { rowsDone, batchesDone } = earlierRuns(cursor);
  let run: BatchLoopOutcome;
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
      lockTimeoutMs: Math.min(s.lockTimeoutMs, COPY_LOCK_TIMEOUT_MS),
      settings: ALL_ROWS,
      targetSize: s.batchSize ?? step.batchSize,
      start: last,
      rowsDone,
      batchesDone,
      batch: async (cur, size) => {
        const u = await c.query<{ key: string[] }>(copyUpperSql(step, ks, cur !== null), [...(cur ?? []), size - 1]);
        const upper = u.rows[0]?.key ?? null;
        const r = await c.query(copyBatchSql(step, ks, cur !== null, upper !== null), [
          ...(cur ?? []),
          ...(upper ?? []),
        ]);
        return { rows: r.rowCount ?? 0, next: upper ?? cur, last: upper === null };
      },
      progress: ({ done, rowsDone: total, batchesDone: batches, rowsPerSecond }) => ({
        estimatedTotal: null,
        etaSeconds: done ? 0 : null,
        message: `${step.id}: ${total} rows copied in ${batches} batches, ${rowsPerSecond} rows/s`,
      }),
    });
  } catch (err) {
    throw await failedStep(ctx, step.id, `copy ${display}`, err, s.backfillStatementTimeoutMs);
  }
  const durationMs = elapsedMs(t0);
  finishedStep(
    ctx,
    step.id,
    run.maxAttempts,
    durationMs,
    `${step.id}: copied ${run.rowsThisRun} rows in ${run.batchesThisRun} batches in ${durationMs} ms (${run.rowsDone} rows in all)`,
  );
  return {
    id: step.id,
    outcome: 'applied',
    attempts: run.maxAttempts,
    durationMs,
    backfill: batched('primary-key', run),
  };
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
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      await c.query(setLocalSql({ statement_timeout: msSetting(s.backfillStatementTimeoutMs), ...ALL_ROWS }));
      const r = await c.query<{ live_rows: string; live_sum: string; copy_rows: string; copy_sum: string }>(
        compareChecksumsSql(liveSql, copySql),
      );
      const row = r.rows[0]!;
      if (row.live_rows !== row.copy_rows || row.live_sum !== row.copy_sum) {
        const d = await c.query<{ missing: string; extra: string }>(rowDifferenceSql(step.from, step.to, step.columns));
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
      await c.query('COMMIT');
      ctx.emit({
        type: 'warning',
        message: `${step.id}: ${row.live_rows} rows, checksums agree (${row.live_sum})`,
      });
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    await stepDone(c, plan.id, step.id);
  } catch (err) {
    throw await failedStep(ctx, step.id, step.summary, err, s.backfillStatementTimeoutMs);
  }
  const durationMs = elapsedMs(t0);
  finishedStep(ctx, step.id, 1, durationMs);
  return { id: step.id, outcome: 'applied', attempts: 1, durationMs };
}
