/**
 * The pure core of a fleet apply: which targets (group, shard), what each one's probe means for the
 * phase (ready, resuming, already done, drifted, not ready), whether the run may start at all, the
 * canaries, a bounded pool, and the exit code of the whole run. No database here: `run.ts` probes the
 * targets and calls the one-database apply engine.
 */
import { createHash } from 'node:crypto';
import { describeDifferences } from '../apply/checks.js';
import { ExitCode } from '../errors.js';
import { ABSENT, compareObjects, type ObjectDifference } from '../model/objects.js';
import { PHASES, type PhaseName, type Plan } from '../plan/types.js';
import { FleetError } from './errors.js';
import type { FleetTarget } from './targets.js';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** `--shard 2/4` → `{ index: 2, count: 4 }`. @throws FleetError (exit 1) */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new FleetError('refused', `--shard ${JSON.stringify(text)}: expected I/N with 1 ≤ I ≤ N, e.g. 1/4`);
  }
  return { index, count };
}

/**
 * The shard (1-based) a target belongs to among `count`: from a hash of its name, so a target stays
 * in its shard when others are added, removed or reordered, and every worker computes the same.
 */
export function shardOf(name: string, count: number): number {
  const h = createHash('sha256').update(name).digest();
  return (h.readUInt32BE(0) % count) + 1;
}

export interface Selection {
  readonly group?: string;
  readonly shard?: Shard;
}

/** The targets of `--group` (and of `--shard`), in file order. @throws FleetError on an unknown group */
export function selectTargets(targets: readonly FleetTarget[], selection: Selection): FleetTarget[] {
  let out = [...targets];
  if (selection.group !== undefined) {
    const group = selection.group;
    out = out.filter((t) => t.groups.includes(group));
    if (out.length === 0) {
      const known = [...new Set(targets.flatMap((t) => t.groups))].sort();
      throw new FleetError(
        'refused',
        `--group ${group}: no target is in that group (groups in the file: ${known.join(', ') || 'none'})`,
      );
    }
  }
  if (selection.shard) {
    const { index, count } = selection.shard;
    out = out.filter((t) => shardOf(t.name, count) === index);
  }
  return out;
}

/** What a target's journal and live schema say, read by `run.ts`. */
export interface TargetProbe {
  /** The journal's state of each phase of this plan on the target (absent: never started). */
  readonly phases: Readonly<Partial<Record<PhaseName, 'in-progress' | 'done'>>>;
  /** Steps done per phase, for messages. */
  readonly stepsDone: Readonly<Partial<Record<PhaseName, number>>>;
  /** Fingerprint of the live schema (zdm's journal left out) and of each object; absent when not read. */
  readonly live?: { readonly fingerprint: string; readonly objects: Readonly<Record<string, string>> };
}

export type Readiness =
  | { readonly state: 'ready' }
  /** The phase was started there and not finished: the engine resumes it. */
  | { readonly state: 'resume' }
  | { readonly state: 'done' }
  | {
      readonly state: 'drifted';
      readonly expected: string;
      readonly actual: string;
      readonly differences: readonly ObjectDifference[];
    }
  /** An earlier phase of the plan is not done there. */
  | { readonly state: 'not-ready'; readonly incomplete: readonly { phase: PhaseName; progress: string }[] }
  /** Its journal or schema could not be read (no connection, a journal from a newer zdm…). */
  | { readonly state: 'unreadable'; readonly error: string; readonly exitCode: number };

/** The earlier phases of `phase` in `plan` that the probe does not show done. */
function incompletePhases(plan: Plan, phase: PhaseName, probe: TargetProbe) {
  const index = PHASES.indexOf(phase);
  return plan.phases
    .filter((p) => PHASES.indexOf(p.name) < index && probe.phases[p.name] !== 'done')
    .map((p) => ({
      phase: p.name,
      progress:
        probe.phases[p.name] === 'in-progress'
          ? `in progress, ${probe.stepsDone[p.name] ?? 0} of ${p.steps.length} steps done`
          : 'not started',
    }));
}

/** Whether the phase can run on a target, from its probe. */
export function readiness(plan: Plan, phase: PhaseName, probe: TargetProbe): Readiness {
  if (probe.phases[phase] === 'done') return { state: 'done' };
  const incomplete = incompletePhases(plan, phase, probe);
  if (incomplete.length > 0) return { state: 'not-ready', incomplete };
  if (probe.phases[phase] === 'in-progress') return { state: 'resume' };
  const p = plan.phases.find((x) => x.name === phase);
  if (!p || !probe.live || probe.live.fingerprint === p.before) return { state: 'ready' };
  const differences = compareObjects(p.objects, probe.live.objects);
  return { state: 'drifted', expected: p.before, actual: probe.live.fingerprint, differences };
}

export interface RunOptions {
  readonly phase: PhaseName;
  readonly allOrNothing?: boolean;
  /** Run the first K runnable targets, then stop unless `continueAfterCanary`. */
  readonly canary?: number;
  readonly continueAfterCanary?: boolean;
}

export type SkipReason =
  | { readonly reason: 'drifted'; readonly detail: string }
  | { readonly reason: 'not-ready'; readonly detail: string }
  | { readonly reason: 'held-back'; readonly detail: string };

/** The decision before anything runs. */
export interface RunDecision {
  /** Targets whose probe failed: they count as failed. */
  readonly unreadable: ReadonlyMap<string, { readonly error: string; readonly exitCode: number }>;
  /** Targets to run first, then stop if any fails (all the runnable ones without `--canary`). */
  readonly first: readonly string[];
  /** Targets to run after `first` succeeded (empty when the canary holds the rest back). */
  readonly rest: readonly string[];
  readonly alreadyDone: readonly string[];
  readonly skipped: ReadonlyMap<string, SkipReason>;
}

export function describeDrift(r: Extract<Readiness, { state: 'drifted' }>): string {
  const objects =
    r.differences.length > 0
      ? describeDifferences(r.differences)
          .split('\n')
          .map((l) => l.trim())
          .join(', ')
      : 'the objects the phase touches are as planned: the difference is elsewhere in the schema';
  return `schema ${r.actual}, the plan expects ${r.expected}: ${objects}`;
}

function describeIncomplete(r: Extract<Readiness, { state: 'not-ready' | 'unreadable' }>): string {
  if (r.state === 'unreadable') return `its journal could not be read: ${r.error}`;
  return r.incomplete.map((i) => `${i.phase} ${i.progress}`).join('; ');
}

/**
 * What to run, from every selected target's readiness (in file order). Refuses the whole run
 * (`FleetError` 'refused', nothing changed anywhere) when contract is asked while any target has not
 * finished the earlier phases, or with `allOrNothing` when any target drifted or is not ready.
 */
export function decideRun(
  targets: readonly { name: string; readiness: Readiness }[],
  options: RunOptions,
  /** Targets not run here (other shards) that contract must still wait for. */
  others: readonly { name: string; readiness: Readiness }[] = [],
): RunDecision {
  const skipped = new Map<string, SkipReason>();
  const unreadable = new Map<string, Extract<Readiness, { state: 'unreadable' }>>();
  const alreadyDone: string[] = [];
  const runnable: string[] = [];
  for (const { name, readiness: r } of targets) {
    if (r.state === 'done') alreadyDone.push(name);
    else if (r.state === 'ready' || r.state === 'resume') runnable.push(name);
    else if (r.state === 'drifted') skipped.set(name, { reason: 'drifted', detail: describeDrift(r) });
    else if (r.state === 'unreadable') unreadable.set(name, r);
    else skipped.set(name, { reason: 'not-ready', detail: describeIncomplete(r) });
  }
  const everyone = [...targets, ...others];
  const lagging = everyone.flatMap((t) =>
    t.readiness.state === 'not-ready' || t.readiness.state === 'unreadable' ? [{ name: t.name, r: t.readiness }] : [],
  );
  if (options.phase === 'contract' && lagging.length > 0) {
    throw new FleetError(
      'refused',
      `phase contract refused: ${lagging.length} of ${everyone.length} targets have not finished the earlier ` +
        `phases, and contract runs nowhere until every database has:\n${lagging
          .map((t) => `  ${t.name}: ${describeIncomplete(t.r)}`)
          .join('\n')}\nNothing was changed on any target.`,
      { targets: lagging.map((t) => t.name) },
    );
  }
  if (options.allOrNothing && skipped.size + unreadable.size > 0) {
    throw new FleetError(
      'refused',
      `--all-or-nothing: ${skipped.size + unreadable.size} of ${targets.length} targets cannot run phase ${options.phase}:\n${[
        ...[...skipped].map(([n, s]) => `  ${n} (${s.reason}): ${s.detail}`),
        ...[...unreadable].map(([n, r]) => `  ${n} (unreadable): ${r.error}`),
      ].join('\n')}\nNothing was changed on any target.`,
      { targets: [...skipped.keys(), ...unreadable.keys()] },
    );
  }
  if (options.canary === undefined) return { first: runnable, rest: [], alreadyDone, skipped, unreadable };
  const first = runnable.slice(0, options.canary);
  const rest = runnable.slice(options.canary);
  if (options.continueAfterCanary) return { first, rest, alreadyDone, skipped, unreadable };
  for (const name of rest) {
    skipped.set(name, {
      reason: 'held-back',
      detail: `after the ${first.length} canar${first.length === 1 ? 'y' : 'ies'}: run again with --continue`,
    });
  }
  return { first, rest: [], alreadyDone, skipped, unreadable };
}

export type TargetOutcome =
  | { readonly status: 'applied' | 'already-applied' }
  | { readonly status: 'failed'; readonly error: string; readonly exitCode: number }
  | ({ readonly status: 'skipped' } & SkipReason);

/**
 * The exit code of a fleet run: 0 when the phase is done on every selected target; 3 when any target
 * failed; 2 when none failed but some were skipped (drifted, not ready, held back by the canary).
 */
export function fleetExitCode(outcomes: Iterable<TargetOutcome>): number {
  let skipped = false;
  for (const o of outcomes) {
    if (o.status === 'failed') return ExitCode.database;
    if (o.status === 'skipped') skipped = true;
  }
  return skipped ? ExitCode.drift : ExitCode.ok;
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, starting them in order. Stops
 * starting new ones once `stop()` says so; resolves when every started call has settled (their
 * rejections are the caller's to catch inside `fn`).
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/**
 * How a target's schema differs from the reference target's (per-object fingerprints of both, as
 * `liveSchema` reads them): objects changed, missing on the target, or on the target only.
 */
export function compareSchemas(
  reference: Readonly<Record<string, string>>,
  target: Readonly<Record<string, string>>,
): ObjectDifference[] {
  const expected: Record<string, string> = { ...reference };
  for (const object of Object.keys(target)) if (!Object.hasOwn(reference, object)) expected[object] = ABSENT;
  return compareObjects(expected, target);
}
