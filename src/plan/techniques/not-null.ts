/**
 * The NOT NULL recipe. `SET NOT NULL` alone scans the whole table under ACCESS EXCLUSIVE (318 ms on
 * 3M rows, pg-locks.md): reads and writes wait. Instead:
 *   1. `ADD CONSTRAINT <t>_<c>_zdm_not_null CHECK (c IS NOT NULL) NOT VALID`  ACCESS EXCLUSIVE, instant
 *   2. `VALIDATE CONSTRAINT …` in its own transaction                    SHARE UPDATE EXCLUSIVE, scan
 *   3. `SET NOT NULL` + drop the helper, one transaction                  ACCESS EXCLUSIVE, instant:
 *      PostgreSQL 12+ sees the validated check and skips the scan.
 */
import type { RelationRef } from '../../diff/changes.js';
import { defaultNotNullName, qualified } from '../../model/names.js';
import type { CheckConstraint } from '../../model/types.js';
import { setNotNullSql } from '../../sql/columns.js';
import {
  addConstraintSql,
  checkSql,
  dropConstraintSql,
  notNullExpression,
  renameConstraintSql,
} from '../../sql/constraints.js';
import { at, lock, type Placement, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapColumn, mapRelation, removeNamed, withOptional } from '../model-edit.js';
import { NOT_NULL_HELPER_ROLE } from '../names.js';
import { planValidation } from './validate.js';

/** The NOT VALID helper check `(c IS NOT NULL)` named `name`, as the model holds it. */
export function notNullCheck(name: string, column: string): CheckConstraint {
  return { kind: 'check', name, expression: notNullExpression(column), noInherit: false, valid: false };
}

export interface NotNullOptions {
  /** Where the NOT VALID helper check goes: expand (the default), or backfill after the data copy. */
  readonly addAt?: Placement;
  /**
   * PostgreSQL 18: the NOT NULL constraint's name when it is not the one SET NOT NULL gives
   * (`<table>_<column>_not_null`); renamed in the SET NOT NULL step, under the same lock.
   */
  readonly notNullName?: string | undefined;
}

/** Plans the three steps of the recipe for `table.column`; returns the helper check's name. */
export function planNotNull(ctx: PlanContext, table: RelationRef, column: string, o: NotNullOptions = {}): string {
  const name = ctx.freshName(table.schema, [table.name, column], NOT_NULL_HELPER_ROLE);
  const check = notNullCheck(name, column);
  const display = `${qualified(table.schema, table.name)}.${column}`;
  const touches = [tableTouch(table)];
  ctx.add(
    o.addAt ?? at.expand('checks'),
    sqlStep(
      `add check ${name} (${column} IS NOT NULL) NOT VALID on ${qualified(table.schema, table.name)}`,
      [addConstraintSql(table, checkSql(check, true))],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) => mapRelation(m, table, (r) => ({ ...r, checks: [...r.checks, check] })),
    touches,
  );
  planValidation(ctx, at.backfill('validateChecks'), table, {
    kind: 'check',
    name,
    summary: `validate check ${name} on ${qualified(table.schema, table.name)} (proves ${display} has no NULLs)`,
  });
  const named = o.notNullName;
  ctx.add(
    at.contract('setNotNull'),
    sqlStep(
      `set ${display} NOT NULL (no scan: check ${name} is validated)${named === undefined ? '' : `, name its constraint ${named}`} and drop the check`,
      [
        setNotNullSql(table, column),
        ...(named === undefined ? [] : [renameConstraintSql(table, defaultNotNullName(table.name, column), named)]),
        dropConstraintSql(table, name),
      ],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) =>
      mapRelation(
        mapColumn(m, table, column, (col) => withOptional({ ...col, nullable: false }, 'notNullName', named)),
        table,
        (r) => ({
          ...r,
          checks: removeNamed(r.checks, name),
        }),
      ),
    touches,
  );
  return name;
}
