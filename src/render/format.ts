/** Small pieces the renderers share. */
import { assertNever } from '../errors.js';
import type { Hazard, LockInfo, Phase, Plan, Step } from '../plan/types.js';

export const lockText = (l: LockInfo): string => `${l.mode} on ${l.relation} (${l.hold})`;

export function locksText(locks: readonly LockInfo[]): string {
  return locks.length === 0 ? 'no table lock' : locks.map(lockText).join(', ');
}

/** Hazards that block traffic or lose data (shown red), as opposed to the ones that need care (yellow). */
export const SEVERE_HAZARDS: ReadonlySet<Hazard> = new Set([
  'data-loss',
  'table-rewrite',
  'blocks-reads',
  'blocks-writes',
]);

export const stepCount = (n: number): string => `${n} step${n === 1 ? '' : 's'}`;

export function phaseHazards(phase: Phase): Hazard[] {
  return [...new Set(phase.steps.flatMap((s) => s.hazards))].sort();
}

export function planHazards(plan: Plan): Hazard[] {
  return [...new Set(plan.phases.flatMap(phaseHazards))].sort();
}

export const outsideTransaction = (s: Step): boolean => !s.transaction;

/** How apply runs a step, in a few words ('' for the plain case: one transaction). */
export function stepRunText(s: Step): string {
  switch (s.kind) {
    case 'sql':
      return s.transaction ? '' : 'outside a transaction';
    case 'backfill':
    case 'copy':
      return `batches of ${s.batchSize} rows`;
    case 'verify':
      return 'one read-only snapshot';
    default:
      return assertNever(s);
  }
}

/** Short form of a fingerprint for prose: `sha256:0164a29c…`. */
export const shortFingerprint = (f: string): string => (f.startsWith('sha256:') ? `${f.slice(0, 15)}…` : f);
