/**
 * `zdm apply`: runs one phase of a plan (or all of them) against a live database.
 *
 * Order of a run, and why:
 * 1. Refusals that need no database: the plan's shape, its checksum.
 * 2. The advisory lock (not for dry runs): from here on no other apply interleaves with our reads.
 * 3. Refusals against the journal and the live schema: the journaled checksum of the same plan id,
 *    earlier phases complete, hazards allowed, no drift. Nothing has been written yet, not even
 *    the journal schema.
 * 4. Journal the plan and phase, run each step not yet done, post-check the live schema, journal the
 *    phase done.
 *
 * The client must be a single session (a `pg.Client`, not a pool): the advisory lock and the
 * session-level timeouts belong to the connection. The caller's session settings (lock_timeout,
 * statement_timeout, application_name) are restored when the run ends.
 */
import type { Queryable } from '../db/connection.js';
import { assertNever } from '../errors.js';
import { introspect } from '../introspect/index.js';
import { fingerprint } from '../model/canonical.js';
import { objectFingerprints, withoutJournal } from '../model/objects.js';
import { PHASES, type Phase, type PhaseName, type Plan, type Step } from '../plan/types.js';
import { setConfigSql } from '../sql/session.js';
import { describeBackfill, runBackfillStep } from './backfill.js';
import {
  checkAfter,
  checkDrift,
  checkHazards,
  checkPhaseOrder,
  findPhase,
  validatePlan,
  verifyChecksum,
} from './checks.js';
import { type RunContext, resolveSettings, stopIfAsked } from './context.js';
import { runCopyStep, runVerifyStep } from './copy.js';
import { SideSession } from './guard.js';
import { ensureJournal, type PlanJournal, phaseDone, phaseStarted, readPlanJournal, recordPlan } from './journal.js';
import { acquireApplyLock, releaseApplyLock } from './locks.js';
import { checkOldWrites, OLD_WRITES_QUIET_MS } from './old-writes.js';
import { runSqlStep } from './steps.js';
import type { ApplyEvent, ApplyOptions, ApplyResult, StepOutcome } from './types.js';

export interface LiveSchema {
  readonly fingerprint: string;
  readonly objects: Record<string, string>;
}

/** Fingerprint and per-object fingerprints of the live schema, zdm's journal left out. */
export async function liveSchema(c: Queryable): Promise<LiveSchema> {
  const model = withoutJournal(await introspect(c));
  return { fingerprint: fingerprint(model), objects: objectFingerprints(model) };
}

/** Steps that may have changed the schema even though they did not finish (autocommit steps). */
function partiallyApplied(step: Step, journal: PlanJournal | null): boolean {
  const row = journal?.steps.get(step.id);
  if (!row) return false;
  if (row.status === 'done') return true;
  return step.kind === 'backfill' || !step.transaction;
}

interface SavedSession {
  readonly lockTimeout: string;
  readonly statementTimeout: string;
  readonly applicationName: string;
}

async function saveSession(c: Queryable): Promise<SavedSession> {
  const r = await c.query<{ lt: string; st: string; an: string }>(
    `SELECT pg_catalog.current_setting('lock_timeout') AS lt, pg_catalog.current_setting('statement_timeout') AS st,
            pg_catalog.current_setting('application_name') AS an`,
  );
  const row = r.rows[0]!;
  return { lockTimeout: row.lt, statementTimeout: row.st, applicationName: row.an };
}

async function restoreSession(c: Queryable, saved: SavedSession): Promise<void> {
  await c.query(setConfigSql(['lock_timeout', 'statement_timeout', 'application_name']), [
    saved.lockTimeout,
    saved.statementTimeout,
    saved.applicationName,
  ]);
}

interface Internal {
  /** `applyPlan` with `dryRun`: later phases are shown as if the earlier ones had run. */
  readonly assumeEarlierDone?: boolean;
  /** The fingerprint the previous phase's post-check read, when the caller trusts it to still hold. */
  readonly liveFingerprint?: string;
  /** The schema fingerprints to check instead of the plan's (`applyPlan`'s `expected`). */
  readonly expected?: ExpectedFingerprints;
}

/**
 * Per phase, the schema fingerprints a rehearsal on a copy of part of the schema checks instead of
 * the plan's (src/plan/scope.ts): the part's fingerprint before and after the phase.
 */
export type ExpectedFingerprints = Readonly<
  Partial<Record<PhaseName, { readonly before: string; readonly after: string }>>
>;

/**
 * Applies one phase of a plan. Resolves with what ran; rejects with an `ApplyError` whose `code`
 * says why it stopped (see errors.ts). Safe to call again after any failure or a killed process: it
 * resumes where the journal says the previous run stopped.
 *
 * @example
 *   const client = await connect(resolveTarget(undefined));
 *   const result = await applyPhase(client, plan, {
 *     phase: 'expand',
 *     allowHazards: ['long-running'],
 *     onEvent: (e) => console.error(e.message),
 *   });
 */
export async function applyPhase(client: Queryable, plan: Plan, options: ApplyOptions): Promise<ApplyResult> {
  return runPhase(client, plan, options, {});
}

async function runPhase(
  client: Queryable,
  plan: Plan,
  options: ApplyOptions,
  internal: Internal,
): Promise<ApplyResult> {
  const t0 = performance.now();
  const emit = (e: ApplyEvent): void => options.onEvent?.(e);
  const s = resolveSettings(options);
  const dryRun = options.dryRun === true;
  const allowed = options.allowHazards ?? [];
  validatePlan(plan);
  verifyChecksum(plan, null);
  const planned = findPhase(plan, options.phase);
  const expected = internal.expected?.[planned.name];
  const phase = expected ? { ...planned, ...expected } : planned;
  emit({ type: 'check', check: 'checksum', message: `plan ${plan.id}: checksum verified` });

  if (!dryRun) await acquireApplyLock(client);
  let saved: SavedSession | null = null;
  const side = new SideSession(dryRun ? undefined : s.sideConnection);
  try {
    const journal = await readPlanJournal(client, plan.id);
    verifyChecksum(plan, journal);
    if (!internal.assumeEarlierDone) {
      checkPhaseOrder(plan, phase, journal);
      emit({ type: 'check', check: 'phase-order', message: `${phase.name}: earlier phases are complete` });
    }
    if (journal?.phases.get(phase.name)?.status === 'done') {
      emit({
        type: 'phase-done',
        planId: plan.id,
        phase: phase.name,
        durationMs: 0,
        message: `phase ${phase.name} of plan ${plan.id} was already applied (${journal.phases.get(phase.name)?.finishedAt}): nothing to do`,
      });
      return {
        planId: plan.id,
        phase: phase.name,
        status: 'already-applied',
        resumed: false,
        steps: phase.steps.map((st) => ({ id: st.id, outcome: 'skipped', attempts: 0, durationMs: 0 })),
        durationMs: Math.round(performance.now() - t0),
      };
    }
    checkHazards(phase, allowed, journal);
    emit({ type: 'check', check: 'hazards', message: `${phase.name}: every hazard of its pending steps is allowed` });
    const resumed = phase.steps.some((st) => partiallyApplied(st, journal));
    if (resumed) {
      // A run of this phase was interrupted after changing the schema: the live schema is somewhere
      // between `before` and `after`. The journal says which steps are done; the post-check verifies
      // the end result.
      emit({
        type: 'check',
        check: 'resume',
        message: `${phase.name}: resuming an interrupted run; the drift check is replaced by the post-check`,
      });
    } else if (internal.liveFingerprint !== undefined && internal.liveFingerprint === phase.before) {
      emit({
        type: 'check',
        check: 'drift',
        message: `${phase.name}: the live schema is the planned one (read by the previous phase's post-check)`,
      });
    } else if (!internal.assumeEarlierDone) {
      checkDrift(plan, phase, await liveSchema(client));
      emit({ type: 'check', check: 'drift', message: `${phase.name}: the live schema is the planned one` });
    }
    await checkOldWrites(client, plan, phase, journal, {
      quietMs: options.oldWritesQuietMs ?? OLD_WRITES_QUIET_MS,
      force: options.force === true,
      emit,
    });

    emit({
      type: 'phase-start',
      planId: plan.id,
      phase: phase.name,
      steps: phase.steps.length,
      resumed,
      dryRun,
      message: `${dryRun ? 'dry run: ' : ''}plan ${plan.id}, phase ${phase.name}: ${phase.steps.length} steps${resumed ? ' (resuming)' : ''}`,
    });
    if (dryRun) return await dryRunPhase(client, plan, phase, journal, s, emit, t0, resumed);

    saved = await saveSession(client);
    await client.query(setConfigSql(['application_name']), [`zdm apply ${plan.id} ${phase.name}`.slice(0, 63)]);
    await ensureJournal(client);
    await recordPlan(client, plan);
    await phaseStarted(client, plan.id, phase.name);
    const ctx: RunContext = { c: client, plan, phase, s, emit, side };
    const outcomes: StepOutcome[] = [];
    for (const step of phase.steps) {
      const row = journal?.steps.get(step.id);
      if (row?.status !== 'done') stopIfAsked(s, plan, phase.name, `before step ${step.id}`);
      if (row?.status === 'done') {
        emit({
          type: 'step-skipped',
          stepId: step.id,
          reason: 'done',
          message: `${step.id}: already done (${row.finishedAt})`,
        });
        outcomes.push({ id: step.id, outcome: 'skipped', attempts: 0, durationMs: 0 });
        continue;
      }
      outcomes.push(await runStep(ctx, step, journal));
      await s.hooks.afterStep?.(step.id);
    }
    const live = await liveSchema(client);
    const ok = live.fingerprint === phase.after;
    emit({
      type: 'post-check',
      ok,
      fingerprint: live.fingerprint,
      message: ok
        ? `${phase.name}: the live schema is the planned result (${live.fingerprint})`
        : `${phase.name}: the live schema is NOT the planned result`,
    });
    checkAfter(plan, phase, live);
    await phaseDone(client, plan.id, phase.name);
    const durationMs = Math.round(performance.now() - t0);
    emit({
      type: 'phase-done',
      planId: plan.id,
      phase: phase.name,
      durationMs,
      message: `phase ${phase.name} of plan ${plan.id} applied in ${durationMs} ms`,
    });
    return {
      planId: plan.id,
      phase: phase.name,
      status: 'applied',
      resumed,
      steps: outcomes,
      fingerprint: live.fingerprint,
      durationMs,
    };
  } finally {
    await side.close();
    if (saved) await restoreSession(client, saved).catch(() => {});
    if (!dryRun) await releaseApplyLock(client).catch(() => {});
  }
}

/** Runs one step by its kind; a kind without a runner is a compile error, not a step run as SQL. */
function runStep(ctx: RunContext, step: Step, journal: PlanJournal | null): Promise<StepOutcome> {
  switch (step.kind) {
    case 'sql':
      return runSqlStep(ctx, step, journal?.steps.get(step.id));
    case 'backfill':
      return runBackfillStep(ctx, step, journal?.cursors.get(step.id));
    case 'copy':
      return runCopyStep(ctx, step, journal?.cursors.get(step.id));
    case 'verify':
      return runVerifyStep(ctx, step);
    default:
      return assertNever(step);
  }
}

/** What a dry run shows of a step not yet done: the SQL it would run and how. */
async function wouldRun(ctx: RunContext, step: Step): Promise<{ sql: readonly string[]; how: string }> {
  const batchSize = (own: number) => ctx.s.batchSize ?? own;
  switch (step.kind) {
    case 'sql':
      return { sql: step.sql, how: step.transaction ? 'in one transaction' : 'outside a transaction' };
    case 'backfill': {
      const d = await describeBackfill(ctx, step);
      const by = d.key.strategy === 'ctid' ? 'ctid ranges' : `${d.key.strategy} (${d.key.columns.join(', ')})`;
      return { sql: d.sql, how: `in batches of ${batchSize(step.batchSize)} by ${by}, one transaction each` };
    }
    case 'copy':
      return {
        sql: step.sql,
        how: `in batches of ${batchSize(step.batchSize)} by (${step.key.join(', ')}), one transaction each`,
      };
    case 'verify':
      return { sql: step.sql, how: 'in one read-only snapshot' };
    default:
      return assertNever(step);
  }
}

async function dryRunPhase(
  client: Queryable,
  plan: Plan,
  phase: Phase,
  journal: PlanJournal | null,
  s: ReturnType<typeof resolveSettings>,
  emit: (e: ApplyEvent) => void,
  t0: number,
  resumed: boolean,
): Promise<ApplyResult> {
  const ctx: RunContext = { c: client, plan, phase, s, emit };
  const outcomes: StepOutcome[] = [];
  for (const step of phase.steps) {
    const alreadyDone = journal?.steps.get(step.id)?.status === 'done';
    const { sql, how } = alreadyDone ? { sql: step.sql, how: '' } : await wouldRun(ctx, step);
    emit({
      type: 'would-run',
      stepId: step.id,
      summary: step.summary,
      transaction: step.kind === 'sql' && step.transaction,
      sql,
      hazards: step.hazards,
      alreadyDone,
      message: alreadyDone
        ? `${step.id}: ${step.summary} — already done`
        : `${step.id}: ${step.summary} — would run ${how}:\n${sql.map((q) => `    ${q}`).join('\n')}`,
    });
    outcomes.push({ id: step.id, outcome: alreadyDone ? 'skipped' : 'would-run', attempts: 0, durationMs: 0 });
  }
  return {
    planId: plan.id,
    phase: phase.name,
    status: 'dry-run',
    resumed,
    steps: outcomes,
    durationMs: Math.round(performance.now() - t0),
  };
}

export interface PlanApplyResult {
  readonly planId: string;
  readonly phases: readonly ApplyResult[];
}

/**
 * `--phase all`: every phase of the plan in order, each as `applyPhase` would (phases already done
 * are reported `already-applied`). Meant for development databases; in production the application
 * is deployed between phases. A dry run shows every phase, later ones as if the earlier had run.
 */
export async function applyPlan(
  client: Queryable,
  plan: Plan,
  options: Omit<ApplyOptions, 'phase'> & {
    /**
     * Nothing but this apply changes the schema (a rehearsal's scratch database): a phase's drift
     * check is the previous phase's post-check, not a second read of the whole schema.
     */
    readonly soleWriter?: boolean;
    /**
     * A rehearsal on a copy of part of the schema (src/plan/scope.ts): the part's fingerprints,
     * checked instead of the plan's whole-schema ones.
     */
    readonly expected?: ExpectedFingerprints;
  },
): Promise<PlanApplyResult> {
  const results: ApplyResult[] = [];
  const ordered = [...plan.phases].sort((a, b) => PHASES.indexOf(a.name) - PHASES.indexOf(b.name));
  let first = true;
  let liveFingerprint: string | undefined;
  for (const phase of ordered) {
    const result = await runPhase(
      client,
      plan,
      { ...options, phase: phase.name },
      {
        assumeEarlierDone: options.dryRun === true && !first,
        ...(options.soleWriter === true && liveFingerprint !== undefined ? { liveFingerprint } : {}),
        ...(options.expected !== undefined ? { expected: options.expected } : {}),
      },
    );
    if (result.status !== 'already-applied') first = false;
    liveFingerprint = result.fingerprint;
    results.push(result);
  }
  return { planId: plan.id, phases: results };
}
