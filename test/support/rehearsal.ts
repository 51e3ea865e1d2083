/** What the acceptance suites check of a rehearsed plan (src/workflow/rehearse.ts). */
import { expect } from 'vitest';
import { undeclaredLocks } from '../../src/apply/observe-locks.js';
import type { Plan } from '../../src/plan/types.js';

/**
 * The plan (made with `rehearse: true`) carries its rehearsal: every step, in order, with locks its
 * declared locks cover. rehearsePlan already refuses a plan where they do not; this checks that the
 * section written says so, and that no step went unrehearsed.
 */
export function expectRehearsed(plan: Plan): void {
  const steps = plan.phases.flatMap((p) => p.steps);
  if (steps.length === 0) {
    expect(plan.rehearsal, 'an empty plan has nothing to rehearse').toBeUndefined();
    return;
  }
  const r = plan.rehearsal;
  if (!r?.rehearsed) throw new Error(`plan ${plan.id} was not rehearsed`);
  expect(r.steps.map((s) => s.id)).toEqual(steps.map((s) => s.id));
  for (const [i, step] of steps.entries()) {
    expect(
      undeclaredLocks(step.locks, r.steps[i]!.locks),
      `${step.id} ${step.summary}: locks beyond the declared`,
    ).toEqual([]);
  }
}
