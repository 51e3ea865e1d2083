/**
 * The refusals: everything apply verifies before it changes anything.
 */
import { compareObjects, type ObjectDifference } from '../model/objects.js';
import { computeChecksum } from '../plan/checksum.js';
import { HAZARDS, type Hazard, PHASES, type Phase, type PhaseName, type Plan, type Step } from '../plan/types.js';
import { ApplyError } from './errors.js';
import type { PlanJournal } from './journal.js';

/** Every step kind apply can run: a new kind must be added here (and to the runner in apply.ts). */
const STEP_KINDS: Readonly<Record<Step['kind'], true>> = { sql: true, backfill: true, copy: true, verify: true };

/** The plan's shape as far as apply relies on it (the plan schema validates the rest when loading). */
export function validatePlan(plan: Plan): void {
  const problems: string[] = [];
  if (plan.version !== 1) problems.push(`version ${String(plan.version)}: this zdm reads plan version 1`);
  if (typeof plan.id !== 'string' || plan.id === '') problems.push('no plan id');
  const seenPhases = new Set<string>();
  const seenSteps = new Set<string>();
  let lastIndex = -1;
  for (const phase of plan.phases ?? []) {
    const index = (PHASES as readonly string[]).indexOf(phase.name);
    if (index < 0) problems.push(`unknown phase "${phase.name}"`);
    else if (seenPhases.has(phase.name)) problems.push(`phase ${phase.name} appears twice`);
    else if (index < lastIndex) problems.push(`phase ${phase.name} is out of order (expand, backfill, contract)`);
    seenPhases.add(phase.name);
    lastIndex = Math.max(lastIndex, index);
    for (const step of phase.steps) {
      if (seenSteps.has(step.id)) problems.push(`step id ${step.id} appears twice`);
      seenSteps.add(step.id);
      if (!Object.hasOwn(STEP_KINDS, step.kind)) {
        problems.push(`step ${String((step as Step).id)}: unknown kind "${String((step as { kind: unknown }).kind)}"`);
      }
      for (const h of step.hazards) {
        if (!(HAZARDS as readonly string[]).includes(h)) problems.push(`step ${step.id}: unknown hazard "${h}"`);
      }
    }
  }
  if (problems.length > 0) {
    throw new ApplyError('invalid-plan', `plan ${plan.id}: ${problems.join('; ')}`);
  }
}

export function verifyChecksum(plan: Plan, journal: PlanJournal | null): void {
  const actual = computeChecksum(plan);
  if (actual !== plan.checksum) {
    throw new ApplyError(
      'checksum',
      `plan ${plan.id}: its checksum says ${plan.checksum} but its content hashes to ${actual}: the plan was ` +
        'edited after `zdm plan` wrote it. Plans are reviewed as written; make a new one with `zdm plan`.',
    );
  }
  if (journal && journal.checksum !== plan.checksum) {
    throw new ApplyError(
      'checksum',
      `plan ${plan.id} was applied to this database with checksum ${journal.checksum}; this file has ` +
        `${plan.checksum}: it is another plan under the same id. Give the new plan its own id.`,
    );
  }
}

export function findPhase(plan: Plan, name: PhaseName): Phase {
  const phase = plan.phases.find((p) => p.name === name);
  if (!phase) {
    throw new ApplyError(
      'invalid-plan',
      `plan ${plan.id} has no phase ${name} (it has ${plan.phases.map((p) => p.name).join(', ') || 'none'})`,
    );
  }
  return phase;
}

function phaseProgress(phase: Phase, journal: PlanJournal | null): string {
  const row = journal?.phases.get(phase.name);
  if (!row) return 'not started';
  const done = phase.steps.filter((s) => journal?.steps.get(s.id)?.status === 'done').length;
  return `in progress, ${done} of ${phase.steps.length} steps done`;
}

/** Every earlier phase of the plan must be journaled `done`. */
export function checkPhaseOrder(plan: Plan, phase: Phase, journal: PlanJournal | null): void {
  const index = PHASES.indexOf(phase.name);
  const earlier = plan.phases.filter((p) => PHASES.indexOf(p.name) < index);
  const incomplete = earlier.filter((p) => journal?.phases.get(p.name)?.status !== 'done');
  if (incomplete.length === 0) return;
  const first = incomplete[0]!;
  throw new ApplyError(
    'phase-order',
    `cannot apply phase ${phase.name} of plan ${plan.id}: ` +
      incomplete.map((p) => `phase ${p.name} is not complete (${phaseProgress(p, journal)})`).join('; ') +
      `. Run \`zdm apply ${plan.id} --phase ${first.name}\` first.`,
    { incompletePhases: incomplete.map((p) => p.name) },
  );
}

/** Steps not yet done whose hazards were not allowed: all of them, with the exact flag to pass. */
export function checkHazards(phase: Phase, allowed: readonly Hazard[], journal: PlanJournal | null): void {
  const pending = phase.steps.filter((s) => journal?.steps.get(s.id)?.status !== 'done');
  const offending = pending.flatMap((s) =>
    s.hazards.filter((h) => !allowed.includes(h)).map((hazard) => ({ stepId: s.id, hazard })),
  );
  if (offending.length === 0) return;
  const needed = HAZARDS.filter((h) => pending.some((s) => s.hazards.includes(h)));
  const flag = `--allow-hazards ${needed.join(',')}`;
  throw new ApplyError(
    'hazards',
    `phase ${phase.name} has steps with hazards that were not allowed:\n` +
      offending.map((o) => `  ${o.stepId}: ${o.hazard}`).join('\n') +
      `\nReview them in the plan, then pass: ${flag}`,
    { hazards: offending, allowHazardsFlag: flag },
  );
}

export function describeDifferences(diffs: readonly ObjectDifference[]): string {
  const word = { changed: 'differs', missing: 'is missing', unexpected: 'exists but should not' } as const;
  return diffs.map((d) => `  ${d.object} ${word[d.difference]}`).join('\n');
}

/** The live schema must be the one the phase was planned against. */
export function checkDrift(
  plan: Plan,
  phase: Phase,
  live: { readonly fingerprint: string; readonly objects: Readonly<Record<string, string>> },
): void {
  if (live.fingerprint === phase.before) return;
  const diffs = compareObjects(phase.objects, live.objects);
  const where =
    diffs.length > 0
      ? `Objects this phase touches that differ from the plan:\n${describeDifferences(diffs)}`
      : 'The objects this phase touches are as planned: the difference is elsewhere in the schema.';
  throw new ApplyError(
    'drift',
    `the database drifted from plan ${plan.id}: phase ${phase.name} expects schema ${phase.before}, the ` +
      `database has ${live.fingerprint}.\n${where}\nNothing was changed. Make a new plan against the ` +
      'current database with `zdm plan`.',
    { objects: diffs, expectedFingerprint: phase.before, actualFingerprint: live.fingerprint },
  );
}

/** After the phase the live schema must be the one the plan expects. */
export function checkAfter(
  plan: Plan,
  phase: Phase,
  live: { readonly fingerprint: string; readonly objects: Readonly<Record<string, string>> },
): void {
  if (live.fingerprint === phase.after) return;
  const diffs = phase.objectsAfter ? compareObjects(phase.objectsAfter, live.objects) : [];
  const where = !phase.objectsAfter
    ? 'The plan records no per-object fingerprints for after the phase (objectsAfter): zdm cannot say which objects differ.'
    : diffs.length > 0
      ? `Objects that came out differently:\n${describeDifferences(diffs)}`
      : 'The objects this phase touches came out as planned: the difference is elsewhere in the schema.';
  throw new ApplyError(
    'post-check',
    `every step of phase ${phase.name} of plan ${plan.id} ran, but the schema is not the planned one: ` +
      `expected ${phase.after}, found ${live.fingerprint}.\n${where}\nThe phase stays open in the journal; ` +
      'inspect the database (`zdm plan` shows the difference from the desired state).',
    { objects: diffs, expectedFingerprint: phase.after, actualFingerprint: live.fingerprint },
  );
}
