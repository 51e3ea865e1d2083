/**
 * What reads a column that PostgreSQL refuses to drop or retype under (pg_depend: "cannot alter type
 * of a column used in a policy definition", "… used by a function or procedure", "… used in a
 * trigger definition"; DROP COLUMN: "other objects depend on it"), and that a step changing the
 * column takes along in its own transaction, as the desired state has it:
 *
 * - policies, of the table or of another one whose subquery reads the column: dropped before the
 *   change, created after it (techniques/policies.ts rebuildPolicies). Another table is locked
 *   first (`LOCK TABLE`), in the order a query of it locks the two: its own, then what its policy reads;
 * - triggers of the table whose UPDATE OF or WHEN names the column: dropped and created again
 *   (techniques/routines.ts rebuildTriggers);
 * - routines with a SQL-standard body that read the column: replaced by a body that reads nothing,
 *   then as the desired state has them (techniques/routines.ts rebuildRoutines): never dropped, so
 *   their privileges and whatever uses them stay. In contract, one the desired state drops is
 *   emptied (it is dropped after the columns, group dropFunctions).
 *
 * Views have their own rebuild (techniques/views.ts). The caller adds the step's own lock (ACCESS
 * EXCLUSIVE on the table); `locks` are the others.
 */
import type { RelationRef } from '../../diff/changes.js';
import { qualified } from '../../model/names.js';
import { lockTablesSql } from '../../sql/session.js';
import { type PlanContext, type Touch, tableTouch } from '../context.js';
import { chain, type ModelEdit, noEdit } from '../model-edit.js';
import type { LockInfo } from '../types.js';
import { policiesReading, rebuildPolicies } from './policies.js';
import { rebuildRoutines, rebuildTriggers, routinesReading, triggersNaming } from './routines.js';

export interface DependentsRebuild {
  /** Tables other than the column's that must be locked first (ACCESS EXCLUSIVE), in this order. */
  readonly lockFirst: readonly RelationRef[];
  readonly before: readonly string[];
  readonly after: readonly string[];
  readonly locks: readonly LockInfo[];
  readonly edit: ModelEdit;
  readonly touches: readonly Touch[];
  /** For the step's summary: `policy p on public.t dropped and created again around it; …`. */
  readonly note: string;
}

/** Keys of what `rebuildColumnDependents` takes along (for the refusals, which leave them out). */
export function columnDependents(
  ctx: PlanContext,
  table: RelationRef,
  column: string | undefined,
  desiredColumn?: string,
): Set<string> {
  return new Set([
    ...policiesReading(ctx, table, column, desiredColumn),
    ...(column === undefined ? [] : triggersNaming(ctx, table, column, desiredColumn)),
    ...routinesReading(ctx, table, column, desiredColumn),
  ]);
}

/**
 * The policies, triggers and routines that read `column` of `table` (live), or `desiredColumn`
 * (desired), dropped or emptied before the change and created again after it; undefined when there
 * is none. Each is taken out of the rest of the planning of its kind. Without a column (the table is
 * dropped): the policies of other tables and the routines that read the table.
 */
export function rebuildColumnDependents(
  ctx: PlanContext,
  table: RelationRef,
  column: string | undefined,
  phase: 'expand' | 'contract',
  desiredColumn?: string,
  /** Routines already replaced to read something else (`replaceRoutinesBeforeSwap`): left alone. */
  replacedBefore: ReadonlySet<string> = new Set(),
): DependentsRebuild | undefined {
  const routines = rebuildRoutines(
    ctx,
    routinesReading(ctx, table, column, desiredColumn, phase === 'contract').filter((k) => !replacedBefore.has(k)),
    phase,
  );
  const policies = rebuildPolicies(ctx, policiesReading(ctx, table, column, desiredColumn));
  const triggers =
    column === undefined ? undefined : rebuildTriggers(ctx, triggersNaming(ctx, table, column, desiredColumn));
  if (routines === undefined && policies === undefined && triggers === undefined) return undefined;
  const own = qualified(table.schema, table.name);
  const lockFirst = (policies?.tables ?? []).filter((t) => qualified(t.schema, t.name) !== own);
  return {
    lockFirst,
    before: [...(routines?.before ?? []), ...(policies?.drop ?? []), ...(triggers?.drop ?? [])],
    after: [...(routines?.after ?? []), ...(policies?.create ?? []), ...(triggers?.create ?? [])],
    locks: [...(routines?.locks ?? []), ...(policies?.locks ?? [])],
    edit: chain(routines?.edit ?? noEdit, policies?.edit ?? noEdit, triggers?.edit ?? noEdit),
    touches: [...lockFirst.map(tableTouch), ...(routines?.touches ?? []), ...(triggers?.touches ?? [])],
    note: [routines?.note, policies?.note, triggers?.note].filter((n) => n !== undefined).join('; '),
  };
}

/**
 * `LOCK TABLE` of the other tables whose policies a step re-creates, then the table: the order in
 * which a query of such a table locks them (its own, then what its policy's subquery reads).
 */
export function lockFirstSql(table: RelationRef, deps: DependentsRebuild | undefined): string[] {
  return deps !== undefined && deps.lockFirst.length > 0
    ? [lockTablesSql([...deps.lockFirst, table], 'ACCESS EXCLUSIVE')]
    : [];
}
