/**
 * `VALIDATE CONSTRAINT` of a check or foreign key added NOT VALID: its own step (one transaction,
 * SHARE UPDATE EXCLUSIVE while it scans: reads and writes go on), and the model edit that makes the
 * constraint valid. Every technique that adds a constraint NOT VALID validates it through this.
 */
import type { RelationRef } from '../../diff/changes.js';
import { validateConstraintSql } from '../../sql/constraints.js';
import { lock, type Placement, type PlanContext, sqlStep, type Touch, tableTouch } from '../context.js';
import { mapRelation } from '../model-edit.js';
import type { LockInfo } from '../types.js';

export interface Validation {
  readonly kind: 'check' | 'foreignKey';
  readonly name: string;
  readonly summary: string;
  /** Default: SHARE UPDATE EXCLUSIVE on the table for the scan (a foreign key also locks the table it references). */
  readonly locks?: readonly LockInfo[];
  /** Default: the table. */
  readonly touches?: readonly Touch[];
}

export function planValidation(ctx: PlanContext, placement: Placement, table: RelationRef, v: Validation): void {
  const valid = <T extends { readonly name: string; readonly valid: boolean }>(xs: readonly T[]): T[] =>
    xs.map((k) => (k.name === v.name ? { ...k, valid: true } : k));
  ctx.add(
    placement,
    sqlStep(v.summary, [validateConstraintSql(table, v.name)], {
      locks: v.locks ?? [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
    }),
    (m) =>
      mapRelation(m, table, (r) =>
        v.kind === 'check' ? { ...r, checks: valid(r.checks) } : { ...r, foreignKeys: valid(r.foreignKeys) },
      ),
    v.touches ?? [tableTouch(table)],
  );
}
