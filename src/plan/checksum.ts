import { sha256, stableStringify } from '../model/canonical.js';
import type { Plan } from './types.js';

/**
 * `sha256:` over the canonical JSON (src/model/canonical.ts `stableStringify`: keys sorted at every
 * level) of everything in the plan but its checksum: the same however the YAML is laid out,
 * different as soon as any value is edited.
 */
export function planChecksum(plan: Omit<Plan, 'checksum'> | Plan): string {
  const { checksum: _ignored, ...body } = plan as Plan;
  return sha256(stableStringify(body));
}

/** The plan with its checksum (computed over the rest). */
export function withChecksum(plan: Omit<Plan, 'checksum'> | Plan): Plan {
  const { checksum: _ignored, ...body } = plan as Plan;
  return { ...body, checksum: planChecksum(body) };
}

/** The same as planChecksum (both names are in use). */
export const computeChecksum = planChecksum;
