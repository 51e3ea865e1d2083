/**
 * The NOT NULL recipe. `SET NOT NULL` alone scans the whole table under ACCESS EXCLUSIVE (318 ms on
 * 3M rows, pg-locks.md): reads and writes wait. Instead:
 *   1. `ADD CONSTRAINT <t>_<c>_zdm_not_null CHECK (c IS NOT NULL) NOT VALID`  ACCESS EXCLUSIVE, instant
 *   2. `VALIDATE CONSTRAINT …` in its own transaction                    SHARE UPDATE EXCLUSIVE, scan
 *   3. `SET NOT NULL` + drop the helper, one transaction                  ACCESS EXCLUSIVE, instant:
 *      PostgreSQL 12+ sees the validated check and skips the scan.
 */
import type { RelationRef } from '../../diff/changes.js';
import { qualified } from '../../model/names.js';
import { quoteIdent } from '../../render/quote.js';
import { at, lock, type Placement, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapColumn, mapRelation, removeNamed } from '../model-edit.js';
import { NOT_NULL_HELPER_ROLE } from '../names.js';
import { rel } from '../sql.js';

/**
 * The helper check's expression as `pg_get_expr()` prints it, so that the model after expand
 * equals what introspection reads back.
 */
export function notNullCheckExpression(column: string): string {
  return `(${quoteIdent(column)} IS NOT NULL)`;
}

export interface NotNullOptions {
  /** Where the NOT VALID helper check goes: expand (the default), or backfill after the data copy. */
  readonly addAt?: Placement;
}

/** Plans the three steps of the recipe for `table.column`; returns the helper check's name. */
export function planNotNull(ctx: PlanContext, table: RelationRef, column: string, o: NotNullOptions = {}): string {
  const name = ctx.freshName(table.schema, [table.name, column], NOT_NULL_HELPER_ROLE);
  const t = rel(table);
  const c = quoteIdent(column);
  const n = quoteIdent(name);
  const display = `${qualified(table.schema, table.name)}.${column}`;
  const touches = [tableTouch(table)];
  ctx.add(
    o.addAt ?? at.expand('checks'),
    sqlStep(
      `add check ${name} (${column} IS NOT NULL) NOT VALID on ${qualified(table.schema, table.name)}`,
      [`ALTER TABLE ${t} ADD CONSTRAINT ${n} CHECK (${c} IS NOT NULL) NOT VALID`],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) =>
      mapRelation(m, table, (r) => ({
        ...r,
        checks: [
          ...r.checks,
          { kind: 'check', name, expression: notNullCheckExpression(column), noInherit: false, valid: false },
        ],
      })),
    touches,
  );
  ctx.add(
    at.backfill('validateChecks'),
    sqlStep(
      `validate check ${name} on ${qualified(table.schema, table.name)} (proves ${display} has no NULLs)`,
      [`ALTER TABLE ${t} VALIDATE CONSTRAINT ${n}`],
      { locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')] },
    ),
    (m) =>
      mapRelation(m, table, (r) => ({
        ...r,
        checks: r.checks.map((k) => (k.name === name ? { ...k, valid: true } : k)),
      })),
    touches,
  );
  ctx.add(
    at.contract('setNotNull'),
    sqlStep(
      `set ${display} NOT NULL (no scan: check ${name} is validated) and drop the check`,
      [`ALTER TABLE ${t} ALTER COLUMN ${c} SET NOT NULL`, `ALTER TABLE ${t} DROP CONSTRAINT ${n}`],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) =>
      mapRelation(
        mapColumn(m, table, column, (col) => ({ ...col, nullable: false })),
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
