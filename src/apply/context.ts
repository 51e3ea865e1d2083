import type { Queryable } from '../db/connection.js';
import type { LockInfo, Phase, Plan } from '../plan/types.js';
import { ApplyError, messageOf, sqlStateOf } from './errors.js';
import { describeHolders, describeWanted, lockHolders } from './locks.js';
import { backoffMs, sleep } from './timing.js';
import type { ApplyEvent, ApplyOptions, ApplyTestHooks } from './types.js';

export const DEFAULTS = {
  lockTimeoutMs: 3000,
  statementTimeoutMs: 600_000,
  backfillStatementTimeoutMs: 0,
  maxLockRetries: 8,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 10_000,
  pauseMs: 0,
  pauseRatio: 0.25,
  maxBatchMs: 200,
} as const;

export interface Settings {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly backfillStatementTimeoutMs: number;
  readonly maxLockRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly batchSize: number | undefined;
  readonly pauseMs: number;
  readonly pauseRatio: number;
  readonly maxBatchMs: number;
  readonly hooks: ApplyTestHooks;
}

/** What every part of a run needs: the session, the plan and phase, the settings, the event sink. */
export interface RunContext {
  readonly c: Queryable;
  readonly plan: Plan;
  readonly phase: Phase;
  readonly s: Settings;
  emit(event: ApplyEvent): void;
}

export function resolveSettings(o: Omit<ApplyOptions, 'phase'>): Settings {
  const num = (name: string, v: number | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isFinite(v) || v < min) {
      throw new ApplyError('invalid-plan', `option ${name}: expected a number ≥ ${min}, got ${v}`);
    }
    return v;
  };
  const batchSize = o.batchSize === undefined ? undefined : Math.floor(num('batchSize', o.batchSize, 1, 1));
  return {
    lockTimeoutMs: num('lockTimeoutMs', o.lockTimeoutMs, DEFAULTS.lockTimeoutMs, 1),
    statementTimeoutMs: num('statementTimeoutMs', o.statementTimeoutMs, DEFAULTS.statementTimeoutMs, 0),
    backfillStatementTimeoutMs: num(
      'backfillStatementTimeoutMs',
      o.backfillStatementTimeoutMs,
      DEFAULTS.backfillStatementTimeoutMs,
      0,
    ),
    maxLockRetries: Math.floor(num('maxLockRetries', o.maxLockRetries, DEFAULTS.maxLockRetries, 0)),
    retryBaseDelayMs: num('retryBaseDelayMs', o.retryBaseDelayMs, DEFAULTS.retryBaseDelayMs, 0),
    retryMaxDelayMs: num('retryMaxDelayMs', o.retryMaxDelayMs, DEFAULTS.retryMaxDelayMs, 0),
    batchSize,
    // Either one given: the other is 0 (a caller that asks for a fixed pause gets just that).
    ...(o.pauseMs === undefined && o.pauseRatio === undefined
      ? { pauseMs: DEFAULTS.pauseMs, pauseRatio: DEFAULTS.pauseRatio }
      : { pauseMs: num('pauseMs', o.pauseMs, 0, 0), pauseRatio: num('pauseRatio', o.pauseRatio, 0, 0) }),
    maxBatchMs: num('maxBatchMs', o.maxBatchMs, DEFAULTS.maxBatchMs, 1),
    hooks: o.testHooks ?? {},
  };
}

/**
 * SQLSTATEs after which the whole try is rolled back and repeated: 55P03 lock_not_available (our
 * lock_timeout fired), 40P01 deadlock_detected (the server chose our transaction as the victim),
 * 40001 serialization_failure.
 */
export const RETRIABLE = new Set(['55P03', '40P01', '40001']);

/**
 * Runs `attempt` until it succeeds, retrying on a lock timeout or deadlock with jittered exponential
 * backoff, up to `maxLockRetries` retries; then fails with `lock-timeout`, naming the lock the step
 * wanted and who held it. `attempt` must leave no transaction open when it throws.
 */
export async function withLockRetry<T>(
  ctx: RunContext,
  stepId: string,
  wanted: readonly LockInfo[],
  attempt: (n: number) => Promise<T>,
  options: { readonly rowLocks?: boolean; readonly beforeRetry?: () => Promise<void>; readonly what?: string } = {},
): Promise<{ value: T; attempts: number }> {
  for (let n = 1; ; n++) {
    const t0 = performance.now();
    try {
      return { value: await attempt(n), attempts: n };
    } catch (err) {
      const state = sqlStateOf(err);
      if (state === undefined || !RETRIABLE.has(state)) throw err;
      const waitedMs = Math.round(performance.now() - t0);
      const holders = await lockHolders(ctx.c, wanted, options.rowLocks ? { rowLocks: true } : {}).catch(
        (lookup: unknown) => {
          ctx.emit({ type: 'warning', message: `${stepId}: cannot read who holds the lock: ${messageOf(lookup)}` });
          return [];
        },
      );
      const why = state === '55P03' ? `lock_timeout (${ctx.s.lockTimeoutMs} ms)` : messageOf(err);
      if (n > ctx.s.maxLockRetries) {
        throw new ApplyError(
          'lock-timeout',
          `step ${stepId}${options.what ? ` (${options.what})` : ''}: could not get its lock after ${n} tries ` +
            `(${why} each): it waits for ${describeWanted(wanted)}; ${describeHolders(holders)}. ` +
            'Nothing of this step was left applied; run the same command again when the holder is done, ' +
            'or raise --lock-timeout / --lock-retries.',
          { stepId, sqlState: state, holders, attempts: n },
          { cause: err },
        );
      }
      const delayMs = backoffMs(n, ctx.s.retryBaseDelayMs, ctx.s.retryMaxDelayMs);
      ctx.emit({
        type: 'lock-retry',
        stepId,
        attempt: n,
        waitedMs,
        delayMs,
        sqlState: state,
        holders,
        message:
          `${stepId}: try ${n} gave up after ${waitedMs} ms (${why}); retrying in ${delayMs} ms` +
          (holders.length ? ` — ${describeHolders(holders)}` : ''),
      });
      await options.beforeRetry?.();
      await sleep(delayMs);
    }
  }
}

/** Wraps an unexpected error of a step as `step-failed` (an ApplyError passes through). */
export function stepError(stepId: string, what: string, err: unknown, timeoutMs?: number): ApplyError {
  if (err instanceof ApplyError) return err;
  const state = sqlStateOf(err);
  const hint =
    state === '57014' && timeoutMs
      ? ` (statement_timeout ${timeoutMs} ms expired: raise --statement-timeout for this step)`
      : '';
  return new ApplyError(
    'step-failed',
    `step ${stepId} (${what}) failed: ${messageOf(err)}${state ? ` [SQLSTATE ${state}]` : ''}${hint}`,
    { stepId, ...(state ? { sqlState: state } : {}) },
    { cause: err },
  );
}
