/** What the acceptance suites check of a rehearsed plan (src/workflow/rehearse.ts). */
import { expect } from 'vitest';
import type { Plan, Step } from '../../src/plan/types.js';
import { REHEARSAL_PURPOSE } from '../../src/workflow/rehearse.js';
import { PlanScratch } from '../../src/workflow/scratch.js';
import { adminUrl } from './db.js';

/**
 * What kind of step a step is, for choosing which plans a suite rehearses: its kind, whether it runs
 * in a transaction, and the first two words of its summary (`create index`, `validate check`, …).
 */
function signature(step: Step): string {
  const tx = step.kind === 'sql' && step.transaction ? 'tx' : 'no-tx';
  return `${step.kind} ${tx} ${step.summary.split(' ').slice(0, 2).join(' ')}`;
}

/**
 * Which plans of a suite to rehearse: every plan (what CI runs); with ZDM_REHEARSE=kinds, for a
 * quicker run by hand, a plan with at least one kind of step (`signature`) no plan rehearsed before
 * it in this run had, so that every kind of step the suite plans is still rehearsed once.
 */
export function rehearsalSelector(): (plan: Plan) => boolean {
  const all = process.env.ZDM_REHEARSE !== 'kinds';
  const seen = new Set<string>();
  return (plan) => {
    const fresh = plan.phases.flatMap((p) => p.steps.map(signature)).filter((s) => !seen.has(s));
    for (const s of fresh) seen.add(s);
    return all || fresh.length > 0;
  };
}

/**
 * The scratch server a suite rehearses on: the test server itself (a database `zdm_scratch_…` per
 * rehearsal), shared by the suite's cases as `zdm plan` shares one; `ahead()` at the start of a
 * case makes its database while the case sets up and plans.
 */
export function suiteScratch(major: number): PlanScratch {
  return new PlanScratch({ major, url: adminUrl(), purpose: REHEARSAL_PURPOSE });
}

/**
 * The plan carries its rehearsal, every step in order. rehearsePlan has already refused a plan with
 * a step that failed or took a lock its declared locks do not cover (partitions of a declared
 * partitioned table count as covered); this checks that no step went unrehearsed.
 */
export function expectRehearsed(plan: Plan): void {
  const steps = plan.phases.flatMap((p) => p.steps);
  const r = plan.rehearsal;
  if (!r?.rehearsed) throw new Error(`plan ${plan.id} was not rehearsed`);
  expect(r.steps.map((s) => s.id)).toEqual(steps.map((s) => s.id));
}
