import type { DatabaseModel } from '../../../src/model/types.js';
import { type PlanOptions, type PlanResult, planChanges } from '../../../src/plan/planner.js';
import type { PhaseName, Step } from '../../../src/plan/types.js';

export const OPTIONS: PlanOptions = {
  id: '20261125T120000Z-test',
  createdAt: '2026-11-25T12:00:00Z',
  zdmVersion: '0.1.0',
  desiredSha256: `sha256:${'ab'.repeat(32)}`,
  serverVersion: 'PostgreSQL 16.4',
};

export function plan(live: DatabaseModel, desired: DatabaseModel, options: Partial<PlanOptions> = {}): PlanResult {
  return planChanges(live, desired, { ...OPTIONS, ...options });
}

export type FlatStep = Step & { readonly phase: PhaseName };

/** Every step of the plan with its phase, in execution order. */
export function flat(r: PlanResult): FlatStep[] {
  return r.plan.phases.flatMap((p) => p.steps.map((s) => ({ ...s, phase: p.name })));
}

/** All SQL statements of the plan, in execution order. */
export function allSql(r: PlanResult): string[] {
  return flat(r).flatMap((s) => s.sql);
}
