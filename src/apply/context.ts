import type { Queryable } from '../db/connection.js';
import type { LockInfo, Phase, Plan } from '../plan/types.js';
import { ApplyError, messageOf, sqlStateOf } from './errors.js';
import { type GuardOptions, type GuardSettings, guardedTries, type SideConnection, type SideSession } from './guard.js';
import type { ApplyEvent, ApplyOptions, ApplyTestHooks } from './types.js';

/**
 * Lock waits (src/apply/guard.ts): a try that queues the application waits at most 200 ms, the
 * stall the application can feel from zdm (measured in BENCHMARKS.md: "long reader"); a step waits
 * for its locks 10 min in all, long enough for a report or a batch job to end while zdm waits
 * without queueing (which costs the application nothing), the same as the statement_timeout of a
 * step, and short enough that a forgotten session makes a deploy fail in minutes, not hours,
 * naming it. Tries are not counted (the patience bounds them) unless `--retries` is given.
 */
export const DEFAULTS = {
  lockTimeoutMs: 200,
  lockWaitMs: 600_000,
  statementTimeoutMs: 600_000,
  backfillStatementTimeoutMs: 0,
  maxLockRetries: Number.POSITIVE_INFINITY,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 10_000,
  guardPollMs: 100,
  pauseMs: 0,
  pauseRatio: 0.25,
  maxBatchMs: 200,
  maxReplicaLagMs: 5000,
  maxWalRate: 0,
  vacuumEvery: 0.1,
} as const;

export interface Settings extends GuardSettings {
  readonly statementTimeoutMs: number;
  readonly backfillStatementTimeoutMs: number;
  readonly batchSize: number | undefined;
  readonly pauseMs: number;
  readonly pauseRatio: number;
  readonly maxBatchMs: number;
  readonly hooks: ApplyTestHooks;
  readonly sideConnection: (() => Promise<SideConnection>) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly maxReplicaLagMs: number;
  /** Bytes of WAL per second (0: no cap). */
  readonly maxWalRate: number;
  /** Share of the table's rows between two VACUUMs of a backfill (0: none). */
  readonly vacuumEvery: number;
  readonly replicaLag: ((c: Queryable) => Promise<number | undefined>) | undefined;
}

/**
 * Stops the run when it was asked to (ApplyOptions.signal): called between batches and steps, when
 * everything before is committed and journaled.
 */
export function stopIfAsked(s: Settings, plan: { readonly id: string }, phase: string, where: string): void {
  if (s.signal?.aborted !== true) return;
  throw new ApplyError(
    'interrupted',
    `stopped on request ${where}; everything done so far is journaled: run \`zdm apply ${plan.id} --phase ${phase}\` again to resume`,
  );
}

/** What every part of a run needs: the session, the plan and phase, the settings, the event sink. */
export interface RunContext {
  readonly c: Queryable;
  readonly plan: Plan;
  readonly phase: Phase;
  readonly s: Settings;
  emit(event: ApplyEvent): void;
  /** The second session that watches concurrent builds while they wait (absent in dry runs). */
  readonly side?: SideSession;
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
  const cancelAfter = o.cancelBlockersAfterMs;
  if (o.terminateBlockers === true && cancelAfter === undefined) {
    throw new ApplyError('invalid-plan', 'option terminateBlockers needs cancelBlockersAfterMs (after how long)');
  }
  return {
    lockTimeoutMs: num('lockTimeoutMs', o.lockTimeoutMs, DEFAULTS.lockTimeoutMs, 1),
    lockWaitMs: num('lockWaitMs', o.lockWaitMs, DEFAULTS.lockWaitMs, 0),
    cancelBlockersAfterMs: cancelAfter === undefined ? undefined : num('cancelBlockersAfterMs', cancelAfter, 0, 0),
    terminateBlockers: o.terminateBlockers === true,
    guardPollMs: DEFAULTS.guardPollMs,
    sideConnection: o.sideConnection,
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
    signal: o.signal,
    maxReplicaLagMs: num('maxReplicaLagMs', o.maxReplicaLagMs, DEFAULTS.maxReplicaLagMs, 0),
    maxWalRate: num('maxWalRate', o.maxWalRate, DEFAULTS.maxWalRate, 0),
    vacuumEvery: num('vacuumEvery', o.vacuumEvery, DEFAULTS.vacuumEvery, 0),
    replicaLag: o.replicaLag === undefined ? undefined : () => o.replicaLag!(),
  };
}

/**
 * Runs `attempt` under the lock-queue guard (src/apply/guard.ts): looks for long holders before each
 * try of a step that queues the application, retries lock timeouts and deadlocks with jittered
 * backoff within `lockWaitMs`, and fails as `lock-timeout` naming who held the lock. `attempt` gets
 * the `lock_timeout` of its try and must leave no transaction open when it throws.
 */
export async function withLockRetry<T>(
  ctx: RunContext,
  stepId: string,
  wanted: readonly LockInfo[],
  attempt: (n: number, t: { readonly lockTimeoutMs: number }) => Promise<T>,
  options: GuardOptions = {},
): Promise<{ value: T; attempts: number }> {
  return guardedTries(
    { ...ctx, emit: ctx.emit, journal: { planId: ctx.plan.id, phase: ctx.phase.name } },
    stepId,
    wanted,
    attempt,
    options,
  );
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
