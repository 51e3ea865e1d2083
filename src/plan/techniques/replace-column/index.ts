/**
 * Column rename (`renamedFrom`) and type changes that are not binary-coercible, through a second
 * column beside the old one. `ALTER TABLE … RENAME COLUMN` breaks the running application at once;
 * `ALTER COLUMN … TYPE` rewrites the table under ACCESS EXCLUSIVE. Instead:
 *
 *   expand    one transaction: ADD COLUMN new (nullable, no default), CHECK (new IS NOT NULL)
 *             NOT VALID when the column must end NOT NULL, and the two-way sync trigger
 *             (src/sql/triggers.ts), so that no write lands between the column and its
 *             trigger. Then the column's indexes and keys are built again on the new column
 *             CONCURRENTLY under temporary names, its checks and foreign keys copied NOT VALID.
 *   backfill  new := conv(old) in keyset batches where new is still NULL (a row written since expand
 *             is in sync already); VALIDATE what expand added.
 *   contract  one short transaction: drop the trigger and its function, move sequence ownership,
 *             drop the old column, (type change: rename the shadow), give the indexes and
 *             constraints their names, primary/unique keys USING INDEX, re-add foreign keys that
 *             point at the column NOT VALID, SET NOT NULL through the validated check, set the default.
 *
 * The trigger's two directions are the column's `using` (old → new) and `reverse` (new → old), each a
 * plain cast by default; a type pair with no cast known in a direction needs the expression (refused
 * at plan time, naming the key). A rename carries the column's keys, indexes and constraints the
 * desired state keeps unchanged (and re-points foreign keys of other tables to the new name); what
 * it adds, drops or changes on the new column is planned by the diff like any other change.
 * Partitioned tables: the trigger goes on the parent, indexes are built ON ONLY + per partition;
 * keys and foreign keys on the column are refused (see rules.ts). Generated columns: refused
 * (a trigger cannot write them), except a virtual one's type change, which is in place.
 *
 * The new column has no default while the sync runs: a NULL in an INSERT is how the trigger tells
 * "left out" from "written". The new application version's inserts that leave the column out get
 * the old column's default copied over, which is the same default.
 *
 * The technique in three parts: rules.ts (why it cannot be planned), decide.ts (what moves, as
 * data) and steps.ts (the steps, with their SQL, locks and model edits).
 */
import type { ReplaceColumn } from '../../../diff/changes.js';
import { docPath } from '../../../diff/paths.js';
import { qualified } from '../../../model/names.js';
import { type PlanContext, rootTable } from '../../context.js';
import { decideCarried, decideReplacement } from './decide.js';
import {
  CARRY_RULES,
  COLUMN_RULES,
  firstRefusal,
  isVirtualTypeChange,
  type ReplaceFacts,
  SHADOW_RULES,
  VIRTUAL_RULES,
} from './rules.js';
import { replacementSteps, virtualTypeChangeStep } from './steps.js';

export function planReplaceColumn(ctx: PlanContext, ch: ReplaceColumn): void {
  const { table, from, to } = ch;
  const live = rootTable(ctx.live, table);
  if (live === undefined) return;
  const rename = from.name !== to.name;
  const refused = (why: string | undefined): boolean => {
    if (why === undefined) return false;
    const what = rename ? `renaming ${from.name} to ${to.name}` : `changing the type ${from.type} → ${to.type}`;
    ctx.issue(
      `column ${qualified(table.schema, table.name)}.${to.name}`,
      `${what}: ${why}`,
      docPath(['schemas', table.schema, 'tables', table.name, 'columns', to.name, rename ? 'renamedFrom' : 'type']),
    );
    return true;
  };
  const facts: ReplaceFacts = { ctx, change: ch, live };
  if (refused(firstRefusal(COLUMN_RULES, facts))) return;
  if (isVirtualTypeChange(ch)) {
    if (!refused(firstRefusal(VIRTUAL_RULES, facts))) virtualTypeChangeStep(ctx, ch);
    return;
  }
  if (refused(firstRefusal(SHADOW_RULES, facts))) return;
  const replacement = decideReplacement(ctx, ch, live);
  const carried = decideCarried(ctx, table, live, replacement.names);
  if (carried === undefined) return;
  if (refused(firstRefusal(CARRY_RULES, { ...facts, names: replacement.names, carried }))) return;
  replacementSteps(ctx, ch, live, replacement, carried);
}
