/**
 * Running one SQL step.
 *
 * A transactional step runs all its statements and its journal row's `done` in one transaction:
 * killed at any point, either all of it committed (and the journal says so) or none of it did.
 *
 * A non-transactional step (CREATE INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE before PG12, …) runs its
 * statements one by one in autocommit mode, journaling how many committed. A run killed in the middle
 * reruns the statement that was in flight: statements must be safe to run again (`IF NOT EXISTS`), and
 * for concurrent index builds zdm makes them so (see `dropLeftovers`).
 */
import type { SqlStep } from '../plan/types.js';
import { dropIndexSql } from '../sql/indexes.js';
import { setConfigSql, setLocalSql } from '../sql/session.js';
import { type RunContext, withLockRetry } from './context.js';
import { waitKindOf } from './guard.js';
import type { JournalStep } from './journal.js';
import { stepDone, stepRetried, stepStatementsDone } from './journal.js';
import { elapsedMs, failedStep, finishedStep, startedStep } from './outcome.js';
import { msSetting, oneLine } from './timing.js';
import type { StepOutcome } from './types.js';

const CREATE_INDEX_CONCURRENTLY = /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i;
const REINDEX_CONCURRENTLY = /^\s*REINDEX\b[\s\S]*\bCONCURRENTLY\b/i;

export async function runSqlStep(
  ctx: RunContext,
  step: SqlStep,
  journaled: JournalStep | undefined,
): Promise<StepOutcome> {
  return step.transaction ? runTransactional(ctx, step) : runAutocommit(ctx, step, journaled);
}

async function runTransactional(ctx: RunContext, step: SqlStep): Promise<StepOutcome> {
  const { c, plan, s } = ctx;
  const t0 = performance.now();
  try {
    const { attempts } = await withLockRetry(
      ctx,
      step.id,
      step.locks,
      async (n, t) => {
        await startedStep(ctx, step, n, n > 1 ? ` (try ${n})` : '');
        if (n === 1) await s.hooks.beforeStep?.(step.id);
        await c.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        try {
          // SET LOCAL: the timeouts end with the transaction, whatever happens to it.
          await c.query(setLocalSql({ lock_timeout: msSetting(t.lockTimeoutMs) }));
          await c.query(setLocalSql({ statement_timeout: msSetting(s.statementTimeoutMs) }));
          for (const sql of step.sql) {
            ctx.emit({ type: 'statement', stepId: step.id, sql, message: `  ${oneLine(sql)}` });
            await c.query(sql);
          }
          await s.hooks.beforeCommit?.(step.id);
          await stepDone(c, plan.id, step.id);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw err;
        }
      },
      { what: step.summary, wait: waitKindOf(step.sql, step.locks) },
    );
    const durationMs = elapsedMs(t0);
    finishedStep(ctx, step.id, attempts, durationMs);
    return { id: step.id, outcome: 'applied', attempts, durationMs };
  } catch (err) {
    throw await failedStep(ctx, step.id, step.summary, err, s.statementTimeoutMs);
  }
}

async function setSessionTimeouts(ctx: RunContext, lockTimeoutMs: number): Promise<void> {
  // Session level (not LOCAL): these statements run outside any transaction block. apply.ts restores
  // the session's own values when the run ends.
  await ctx.c.query(setConfigSql(['lock_timeout', 'statement_timeout']), [
    msSetting(lockTimeoutMs),
    msSetting(ctx.s.statementTimeoutMs),
  ]);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');

interface IndexState {
  readonly valid: boolean;
  readonly table: string;
}

async function indexState(ctx: RunContext, schema: string, name: string): Promise<IndexState | null> {
  const r = await ctx.c.query<{ valid: boolean; ready: boolean; table: string }>(
    `SELECT i.indisvalid AS valid, i.indisready AS ready, tn.nspname || '.' || t.relname AS table
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE n.nspname = $1 AND ic.relname = $2`,
    [schema, name],
  );
  const row = r.rows[0];
  return row ? { valid: row.valid && row.ready, table: row.table } : null;
}

/**
 * A failed or killed `CREATE INDEX CONCURRENTLY` leaves an INVALID index behind: not used by
 * queries, but maintained by every write, and its name blocks the next try. A failed `REINDEX …
 * CONCURRENTLY` leaves INVALID `<name>_ccnew` / `<name>_ccold` copies. Drop them (CONCURRENTLY,
 * so writes go on) before (re)running the build. The index a REINDEX repairs is never dropped.
 */
async function dropLeftovers(ctx: RunContext, step: SqlStep, reindex: boolean): Promise<void> {
  const target = step.concurrentIndex;
  if (!target) return;
  const r = await ctx.c.query<{ name: string; table: string }>(
    `SELECT ic.relname AS name, tn.nspname || '.' || t.relname AS table
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE n.nspname = $1 AND NOT i.indisvalid AND pg_catalog.left(ic.relname, pg_catalog.length($2)) = $2
      ORDER BY ic.relname`,
    [target.schema, target.name],
  );
  const copies = new RegExp(`^${escapeRegExp(target.name)}_cc(new|old)[0-9]*$`);
  const leftovers = r.rows.filter((x) => (x.name === target.name && !reindex) || copies.test(x.name));
  for (const leftover of leftovers) {
    const sql = dropIndexSql({ schema: target.schema, name: leftover.name }, { concurrently: true, ifExists: true });
    const locks = [{ relation: leftover.table, mode: 'SHARE UPDATE EXCLUSIVE', hold: 'instant' }] as const;
    await withLockRetry(
      ctx,
      step.id,
      locks,
      async (_n, t) => {
        await setSessionTimeouts(ctx, t.lockTimeoutMs);
        ctx.emit({ type: 'statement', stepId: step.id, sql, message: `  ${sql}` });
        await ctx.c.query(sql);
      },
      { what: `drop INVALID leftover index ${target.schema}.${leftover.name}`, wait: waitKindOf([sql], locks) },
    );
    ctx.emit({
      type: 'leftover-dropped',
      stepId: step.id,
      index: `${target.schema}.${leftover.name}`,
      message: `${step.id}: dropped INVALID index ${target.schema}.${leftover.name} left by an earlier failed build`,
    });
  }
}

async function runAutocommit(ctx: RunContext, step: SqlStep, journaled: JournalStep | undefined): Promise<StepOutcome> {
  const { c, plan, s } = ctx;
  const t0 = performance.now();
  let attempts = 0;
  let ranSomething = false;
  const firstStatement = journaled && journaled.status !== 'done' ? journaled.statementsDone : 0;
  try {
    await startedStep(ctx, step, 1, firstStatement > 0 ? ` (resuming at statement ${firstStatement + 1})` : '');
    await s.hooks.beforeStep?.(step.id);
    for (let i = firstStatement; i < step.sql.length; i++) {
      const sql = step.sql[i]!;
      const builds = CREATE_INDEX_CONCURRENTLY.test(sql);
      const reindex = REINDEX_CONCURRENTLY.test(sql);
      if (step.concurrentIndex && builds) {
        const state = await indexState(ctx, step.concurrentIndex.schema, step.concurrentIndex.name);
        if (state?.valid) {
          // An earlier run's build finished (the server completes a CONCURRENTLY build even when the
          // client that started it was killed) but did not live to journal it.
          ctx.emit({
            type: 'step-skipped',
            stepId: step.id,
            reason: 'index-valid',
            message: `${step.id}: index ${step.concurrentIndex.schema}.${step.concurrentIndex.name} already exists and is VALID: not rebuilt`,
          });
          await stepStatementsDone(c, plan.id, step.id, i + 1);
          continue;
        }
      }
      const cleanup = async (): Promise<void> => {
        if (step.concurrentIndex && (builds || reindex)) await dropLeftovers(ctx, step, reindex);
      };
      await cleanup();
      const r = await withLockRetry(
        ctx,
        step.id,
        step.locks,
        async (_n, t) => {
          await setSessionTimeouts(ctx, t.lockTimeoutMs);
          ctx.emit({ type: 'statement', stepId: step.id, sql, message: `  ${oneLine(sql)}` });
          await c.query(sql);
        },
        {
          what: step.summary,
          // A concurrent build waits for older transactions as long as --lock-wait allows, in one try:
          // a timeout would throw its table scan away (the retry drops the INVALID index and builds again).
          wait: waitKindOf([sql], step.locks),
          beforeRetry: async () => {
            await stepRetried(c, plan.id, step.id);
            await cleanup();
          },
        },
      );
      attempts = Math.max(attempts, r.attempts);
      ranSomething = true;
      await stepStatementsDone(c, plan.id, step.id, i + 1);
    }
    await stepDone(c, plan.id, step.id);
  } catch (err) {
    throw await failedStep(ctx, step.id, step.summary, err, s.statementTimeoutMs);
  }
  const durationMs = elapsedMs(t0);
  finishedStep(ctx, step.id, Math.max(1, attempts), durationMs);
  return { id: step.id, outcome: ranSomething ? 'applied' : 'skipped', attempts: Math.max(1, attempts), durationMs };
}
