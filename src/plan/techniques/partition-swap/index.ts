/**
 * Partition swap: a plain live table becomes a partitioned table while the application keeps
 * reading and writing it.
 *
 * - expand: a shadow table `<t>_zdm_shadow`, `PARTITION BY …` with every desired partition, key,
 *   check, unique index and foreign key, built while it is empty (plain CREATE INDEX: nothing to wait
 *   for); its other indexes wait for the copy (backfill, below). Its keys and indexes carry temporary
 *   names: index names are unique per schema and the live table still holds the desired ones. Then an AFTER INSERT/UPDATE/DELETE row trigger (and an AFTER
 *   TRUNCATE one) on the live table that mirrors every write into the shadow in the writer's own
 *   transaction. An UPDATE is mirrored as delete + insert, so one that moves the row to another
 *   partition or changes its key is mirrored like any other.
 * - backfill: a copy step (src/apply/copy.ts) walks the live table in key order, one transaction per
 *   batch: the rows whose copy the shadow does not have yet (a newer version the trigger already
 *   wrote is kept), streamed through COPY from a second connection under the `repair` guard, else
 *   `INSERT … SELECT … WHERE NOT EXISTS`. A concurrent write of a row being copied is kept by the step's guard
 *   (decide.ts `copyGuard`, CopyGuard in src/plan/types.ts): `repair` where the new table is unique on
 *   the key (and partition key) only: no row lock, the trigger's insert is an upsert that waits for
 *   and overwrites a batch's uncommitted copy, and the rows a delete racing a batch left in the
 *   shadow are deleted after the last batch; else `for-share`: the batch reads the rows FOR SHARE, so
 *   a concurrent DELETE or UPDATE of a row being copied waits for it (its trigger then mirrors it over
 *   the copy) and a row deleted before the batch read it is not read at all. Then a
 *   verify step compares row count and an order-independent checksum of both tables in one snapshot.
 *   Then the shadow's non-unique indexes (steps.ts `shadowIndexSteps`): built while it was empty,
 *   every copied row would have written an entry in each (issue 17); CONCURRENTLY, partition by
 *   partition, because the sync trigger writes the shadow in the application's transactions.
 * - contract: the verify step once more (no lock: the trigger keeps both tables equal in every
 *   snapshot), then one transaction under lock_timeout (retried): lock both tables, check that the
 *   sync triggers are still there and enabled (counting rows here would hold ACCESS EXCLUSIVE for
 *   ~0.5 s per million rows), recreate views over the table, drop the trigger, rename the live table to `<t>_zdm_retired` and the shadow to `<t>`
 *   (keys and indexes to their desired names), move sequence ownership and identity state past the
 *   old maximum, re-point the foreign keys of other tables `NOT VALID` (validated in the next step,
 *   under SHARE UPDATE EXCLUSIVE), and carry over the table's triggers, privileges, row level
 *   security and policies, and replace the routines whose SQL-standard body reads it, set its replica
 *   identity and CLUSTER ON, and give it (and its partitions) the table's owner (steps.ts
 *   `carriedSql`). Materialized views over the table are then built again over the new table,
 *   swapped in by rename and the old ones dropped (materialized-views.ts). Dropping the retired
 *   table is its own step (`data-loss`).
 *
 * The technique in three parts: rules.ts (why it cannot be planned), decide.ts (what happens, as
 * data) and steps.ts (the steps, with their SQL, locks and model edits).
 */
import type { PartitionTable, RewriteTable, UnpartitionTable } from '../../../diff/changes.js';
import { docPath } from '../../../diff/paths.js';
import { qualified } from '../../../model/names.js';
import type { PlanContext } from '../../context.js';
import { decideSwap, partitionColumns, uncoveredRanges } from './decide.js';
import { type SwapFacts, swapRefusals } from './rules.js';
import { swapSteps } from './steps.js';

export function planPartitionTable(ctx: PlanContext, ch: PartitionTable): void {
  const uncovered = uncoveredRanges(ch.to);
  if (uncovered.length > 0) {
    ctx.warn(
      `table ${qualified(ch.from.schema, ch.from.name)}: no partition and no default partition for rows ${uncovered.join('; ')}: once the sync trigger is installed, ` +
        'the application cannot write such rows (add a default partition to accept them)',
    );
  }
  planSwap(ctx, ch, { partitionColumns: partitionColumns(ch.to) });
}

/**
 * Partitioned → plain ("unpartition"): the swap in reverse, by the same steps. The shadow is a plain
 * table with the desired shape; the sync triggers go on the partitioned table (its row trigger is
 * cloned to every partition, so writes addressed to a partition directly are mirrored too); the copy
 * walks the partitioned table by its row key; contract swaps the names, re-points the foreign keys of
 * other tables and drops the retired partitioned table with its partitions.
 */
export function planUnpartitionTable(ctx: PlanContext, ch: UnpartitionTable): void {
  planSwap(ctx, ch, { partitionColumns: [], reverse: true });
}

/**
 * A column type change that would rewrite a plain table, planned as a table swap (`typeChanges:
 * swap`): the same steps, the shadow a plain table with the desired column types. The mirror writes
 * each changed column as `(NEW."col")::type`, the copy reads it as `"col"::type` (through COPY, one
 * WAL record per page of rows) and the verify step compares the live side converted the same way.
 * Contract swaps the names as for a partition swap. What it saves over the replacement column
 * (columns.ts): every row is written once, into a table that starts empty (no new row version in the
 * live table, so no update of its indexes and no dead tuples left behind), and the new table's
 * indexes other than its keys are built once, after the copy.
 */
export function planRewriteTable(ctx: PlanContext, ch: RewriteTable): void {
  planSwap(ctx, ch, { partitionColumns: [], rewrite: true });
}

/** Every refusal reported at the table's desired-state path (or the other object's), else the steps. */
function planSwap(
  ctx: PlanContext,
  ch: PartitionTable | UnpartitionTable | RewriteTable,
  how: Pick<SwapFacts, 'partitionColumns' | 'reverse' | 'rewrite'>,
): void {
  const live = ch.from;
  const want = ch.to;
  const ref = { schema: live.schema, name: live.name };
  const object = `table ${qualified(ref.schema, ref.name)}`;
  const refusals = swapRefusals({ ctx, live, want, ref, ...how });
  for (const r of refusals) {
    if (r.object !== undefined) ctx.issue(r.object.name, r.message, r.object.path);
    else ctx.issue(object, r.message, docPath(['schemas', want.schema, 'tables', want.name, ...(r.at ?? [])]));
  }
  if (refusals.length > 0) return;
  swapSteps(ctx, decideSwap(ctx, ch));
}
