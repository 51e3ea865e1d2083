/**
 * `zdm apply --targets`: one phase of one plan across a fleet. Every target is probed first (its
 * journal, and its live schema against the phase's expected fingerprint), the run decided by the pure
 * core (core.ts), then each runnable target is handed to the one-database engine (`applyPhase`) as
 * it is, on its own connection, at most `concurrency` at a time. Each target has its own journal and
 * advisory lock, so a killed fleet run resumes, target by target, where each one stopped.
 */
import type pg from 'pg';
import { findPhase, validatePlan, verifyChecksum } from '../apply/checks.js';
import { type ApplyEvent, type ApplyOptions, applyPhase, liveSchema } from '../apply/index.js';
import { readPlanJournal } from '../apply/journal.js';
import { type ConnectionTarget, connect } from '../db/connection.js';
import { ExitCode, messageOf, ZdmError } from '../errors.js';
import type { PhaseName, Plan } from '../plan/types.js';
import { refuseCitus } from '../workflow/citus.js';
import {
  decideRun,
  fleetExitCode,
  type Readiness,
  type RunDecision,
  readiness,
  runPool,
  type TargetOutcome,
  type TargetProbe,
} from './core.js';
import type { FleetTarget } from './targets.js';

export type FleetEvent =
  | { readonly type: 'probed'; readonly target: string; readonly readiness: Readiness }
  | { readonly type: 'decided'; readonly decision: RunDecision }
  | { readonly type: 'target-start'; readonly target: string }
  | { readonly type: 'target-event'; readonly target: string; readonly event: ApplyEvent }
  | { readonly type: 'target-end'; readonly target: string; readonly outcome: TargetOutcome };

export interface FleetApplyOptions {
  readonly phase: PhaseName;
  /** The targets to run (after `--group` and `--shard`), in file order. */
  readonly targets: readonly FleetTarget[];
  /** Targets of the other shards: contract also waits for them (probed, never changed). */
  readonly otherShards?: readonly FleetTarget[];
  /** At most this many targets applying at once (each one connection, plus its watcher while a step waits). */
  readonly concurrency: number;
  readonly canary?: number;
  readonly continueAfterCanary?: boolean;
  readonly allOrNothing?: boolean;
  /** The one-database options, as `zdm apply` takes them. */
  readonly apply: Omit<ApplyOptions, 'phase' | 'onEvent' | 'sideConnection'>;
  readonly onEvent?: (event: FleetEvent) => void;
}

export interface FleetResult {
  readonly planId: string;
  readonly phase: PhaseName;
  /** Every selected target, in file order. */
  readonly targets: readonly { readonly name: string; readonly outcome: TargetOutcome }[];
  readonly exitCode: number;
}

export function connectionOf(t: FleetTarget): ConnectionTarget {
  return { url: t.url, source: 'targets file' };
}

/** What the journal and the live schema of one target say about the phase. */
export async function probeTarget(c: pg.Client, plan: Plan, phase: PhaseName): Promise<TargetProbe> {
  await refuseCitus(c, 'zdm apply');
  const journal = await readPlanJournal(c, plan.id);
  const phases: Partial<Record<PhaseName, 'in-progress' | 'done'>> = {};
  const stepsDone: Partial<Record<PhaseName, number>> = {};
  for (const p of plan.phases) {
    const row = journal?.phases.get(p.name);
    if (row) phases[p.name] = row.status === 'done' ? 'done' : 'in-progress';
    stepsDone[p.name] = p.steps.filter((s) => journal?.steps.get(s.id)?.status === 'done').length;
  }
  const probe: TargetProbe = { phases, stepsDone };
  // The live schema only matters where the phase would start from scratch.
  const bare = readiness(plan, phase, probe);
  return bare.state === 'ready' ? { ...probe, live: await liveSchema(c) } : probe;
}

function exitCodeOf(err: unknown): number {
  return err instanceof ZdmError ? err.exitCode : ExitCode.internal;
}

async function probeAll(
  plan: Plan,
  phase: PhaseName,
  targets: readonly FleetTarget[],
  concurrency: number,
): Promise<Map<string, Readiness>> {
  const out = new Map<string, Readiness>();
  await runPool(targets, concurrency, async (t) => {
    let client: pg.Client | undefined;
    try {
      client = await connect(connectionOf(t), 'zdm apply (fleet probe)');
      out.set(t.name, readiness(plan, phase, await probeTarget(client, plan, phase)));
    } catch (err) {
      out.set(t.name, { state: 'unreadable', error: messageOf(err), exitCode: exitCodeOf(err) });
    } finally {
      await client?.end().catch(() => {});
    }
  });
  return out;
}

/**
 * Runs one phase across the targets. Resolves with every target's outcome and the run's exit code;
 * rejects (FleetError, exit 1) only when the run is refused before anything changed.
 */
export async function applyFleet(plan: Plan, options: FleetApplyOptions): Promise<FleetResult> {
  const emit = (e: FleetEvent): void => options.onEvent?.(e);
  const { phase, targets } = options;
  // What needs no database is refused once, not once per target.
  validatePlan(plan);
  verifyChecksum(plan, null);
  findPhase(plan, phase);
  const probes = await probeAll(plan, phase, targets, options.concurrency);
  const others =
    phase === 'contract' && options.otherShards?.length
      ? await probeAll(plan, phase, options.otherShards, options.concurrency)
      : new Map<string, Readiness>();
  for (const t of targets) emit({ type: 'probed', target: t.name, readiness: probes.get(t.name)! });
  const decision = decideRun(
    targets.map((t) => ({ name: t.name, readiness: probes.get(t.name)! })),
    { phase, ...pick(options) },
    [...others].map(([name, r]) => ({ name, readiness: r })),
  );
  emit({ type: 'decided', decision });

  const outcomes = new Map<string, TargetOutcome>();
  const end = (name: string, outcome: TargetOutcome): void => {
    outcomes.set(name, outcome);
    emit({ type: 'target-end', target: name, outcome });
  };
  for (const name of decision.alreadyDone) end(name, { status: 'already-applied' });
  for (const [name, s] of decision.skipped) end(name, { status: 'skipped', ...s });
  for (const [name, u] of decision.unreadable) end(name, { status: 'failed', error: u.error, exitCode: u.exitCode });

  const byName = new Map(targets.map((t) => [t.name, t]));
  const runOne = async (name: string): Promise<void> => {
    const t = byName.get(name)!;
    emit({ type: 'target-start', target: name });
    let client: pg.Client | undefined;
    try {
      client = await connect(connectionOf(t), 'zdm apply (fleet)');
      const r = await applyPhase(client, plan, {
        ...options.apply,
        phase,
        onEvent: (event) => emit({ type: 'target-event', target: name, event }),
        sideConnection: () => connect(connectionOf(t), 'zdm apply (watching a wait)'),
      });
      end(name, { status: r.status === 'already-applied' ? 'already-applied' : 'applied' });
    } catch (err) {
      end(name, { status: 'failed', error: messageOf(err), exitCode: exitCodeOf(err) });
    } finally {
      await client?.end().catch(() => {});
    }
  };
  await runPool(decision.first, options.concurrency, runOne);
  const canaryFailed = decision.first.some((n) => outcomes.get(n)?.status === 'failed');
  if (canaryFailed && decision.rest.length > 0) {
    for (const name of decision.rest) {
      end(name, { status: 'skipped', reason: 'held-back', detail: 'a canary failed: fix it, then run again' });
    }
  } else {
    await runPool(decision.rest, options.concurrency, runOne);
  }
  const list = targets.map((t) => ({ name: t.name, outcome: outcomes.get(t.name)! }));
  return { planId: plan.id, phase, targets: list, exitCode: fleetExitCode(list.map((l) => l.outcome)) };
}

function pick(o: FleetApplyOptions) {
  return {
    ...(o.allOrNothing ? { allOrNothing: true } : {}),
    ...(o.canary !== undefined ? { canary: o.canary } : {}),
    ...(o.continueAfterCanary ? { continueAfterCanary: true } : {}),
  };
}
