/**
 * Indexes of existing relations.
 *
 * - `CREATE INDEX CONCURRENTLY` (outside a transaction, SHARE UPDATE EXCLUSIVE while it builds:
 *   reads and writes go on). A plain CREATE INDEX holds SHARE: writes wait for the whole build.
 * - On a partitioned table CONCURRENTLY is refused: `CREATE INDEX … ON ONLY parent` (an invalid
 *   shell, SHARE instant), `CREATE INDEX CONCURRENTLY` on each partition, then `ALTER INDEX parent
 *   ATTACH PARTITION child`; the parent index becomes valid when every partition has one attached.
 * - A changed index is built under a fresh name in expand; contract drops the old one and gives the
 *   new one its name, so queries never lack an index.
 * - `DROP INDEX CONCURRENTLY` in contract (a partitioned index cannot be dropped concurrently: plain
 *   DROP INDEX, ACCESS EXCLUSIVE instant).
 * - An INVALID index (a failed CONCURRENTLY build) matching the desired one: `REINDEX INDEX
 *   CONCURRENTLY` (PostgreSQL 12+), in expand.
 */
import type { CreateIndex, DropIndex, RelationRef, RepairIndex } from '../../diff/changes.js';
import { renameColumnInExpression } from '../../diff/renames.js';
import { stableStringify } from '../../model/canonical.js';
import { indexColumnNames, qualified, qualifiedRef } from '../../model/names.js';
import type { Index, Partition } from '../../model/types.js';
import { commentSql } from '../../sql/comments.js';
import {
  attachIndexSql,
  createIndexSql,
  dropIndexSql,
  reindexConcurrentlySql,
  renameIndexSql,
} from '../../sql/indexes.js';
import { at, lock, type Placement, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapRelation, removeNamed, upsert, withOptional } from '../model-edit.js';
import type { Hazard } from '../types.js';
import { adoptableIndex, isLeftoverOfKey } from './constraints.js';

export function planCreateIndex(ctx: PlanContext, ch: CreateIndex): void {
  const { table, index } = ch;
  if (ctx.isNew(table)) return; // built in the relation's creation step
  // On a column a shadow column replaces: built on the shadow (the diff lists the column's change first).
  if (!ch.replaces && ctx.indexesBuiltByReplacement.has(qualified(table.schema, index.name))) return;
  const buildName = ch.replaces ? ctx.freshName(table.schema, [index.name], 'new') : index.name;
  const built: Index = withOptional({ ...index, name: buildName, valid: true }, 'comment', undefined);
  const where = onBackfilledColumn(ctx, table, index) ? at.backfill('indexes') : at.expand('indexes');
  if (ctx.isPartitioned(table)) buildPartitioned(ctx, table, index, buildName, where);
  else {
    buildConcurrently(
      ctx,
      table,
      built,
      where,
      ch.replaces
        ? `build index ${buildName} on ${qualifiedRef(table)} to replace ${index.name} (definition changed)`
        : `create index ${index.name} on ${qualifiedRef(table)}`,
    );
  }
  if (!ch.replaces) return;

  // contract: the old index goes, the new one takes its name (and its comment).
  dropIndexStep(ctx, table, ch.replaces, uniqueScopeChanged(ch.replaces, index) ? ['unique-scope-change'] : []);
  const sql = [renameIndexSql(table.schema, buildName, index.name)];
  if (index.comment !== undefined) {
    sql.push(commentSql({ kind: 'index', schema: table.schema, table: table.name, name: index.name }, index.comment));
  }
  ctx.add(
    at.contract('dropIndexes'),
    sqlStep(`rename index ${buildName} to ${index.name}`, sql, {
      locks: [lock({ schema: table.schema, name: buildName }, 'SHARE UPDATE EXCLUSIVE')],
    }),
    (m) =>
      mapRelation(m, table, (r) => ({
        ...r,
        indexes: upsert(removeNamed(r.indexes, buildName), { ...index, valid: true }),
      })),
    [tableTouch(table)],
  );
}

/**
 * An index on a column a backfill of this plan fills (a new column, a rename's new column): built
 * after the backfill, or every batch would write its entries too, and no batch update could be HOT.
 * Expressions and predicates count when they name the column.
 */
function onBackfilledColumn(ctx: PlanContext, table: RelationRef, index: Index): boolean {
  const prefix = `${qualified(table.schema, table.name)}.`;
  const filled = [...ctx.backfilledColumns].filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length));
  if (filled.length === 0) return false;
  const columns = new Set([...index.keys.flatMap((k) => (k.column !== undefined ? [k.column] : [])), ...index.include]);
  const texts = [...index.keys.flatMap((k) => (k.expression !== undefined ? [k.expression] : [])), index.where ?? ''];
  return filled.some((c) => columns.has(c) || texts.some((t) => namesColumn(t, c)));
}

/** Whether an expression names the column (renameColumnInExpression's reading: string literals left out). */
const namesColumn = (text: string, column: string): boolean =>
  renameColumnInExpression(text, column, `${column}_`) !== text;

/** `CREATE INDEX CONCURRENTLY` of `index` (under its own name) on a plain table, as one step. */
export function buildConcurrently(
  ctx: PlanContext,
  table: RelationRef,
  index: Index,
  where: Placement,
  summary: string,
): void {
  ctx.add(
    where,
    sqlStep(summary, [createIndexSql(table, index, { concurrently: true, schemas: ctx.schemas })], {
      transaction: false,
      locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
      concurrentIndex: { schema: table.schema, name: index.name },
    }),
    (m) => mapRelation(m, table, (r) => ({ ...r, indexes: [...r.indexes, index] })),
    [tableTouch(table)],
  );
}

/** The partitions of a relation, as the plan has them when the index is built. */
export type PartitionsOf = (ref: RelationRef) => readonly Partition[];

/**
 * ON ONLY parent, CONCURRENTLY per partition (recursively for sub-partitioned ones), ATTACH each.
 * `partitionsOf` for a table the plan makes under a name neither model has (a partition swap's shadow).
 */
export function buildPartitioned(
  ctx: PlanContext,
  table: RelationRef,
  index: Index,
  buildName: string,
  where: Placement = at.expand('indexes'),
  partitionsOf: PartitionsOf = (r) => ctx.partitionsDuringExpand(r),
): void {
  const touches = [tableTouch(table)];
  ctx.add(
    where,
    sqlStep(
      `create index ${buildName} on ${qualifiedRef(table)} alone (ON ONLY: invalid until every partition's index is attached)`,
      [createIndexSql(table, index, { only: true, name: buildName, schemas: ctx.schemas })],
      { locks: [lock(table, 'SHARE')] },
    ),
    (m) =>
      mapRelation(m, table, (r) => ({
        ...r,
        // Valid once the last partition's index is attached, which happens within this phase.
        indexes: [...r.indexes, withOptional({ ...index, name: buildName, valid: true }, 'comment', undefined)],
      })),
    touches,
  );
  attachPartitionIndexes(ctx, table, index, buildName, where, partitionsOf);
}

function attachPartitionIndexes(
  ctx: PlanContext,
  parent: RelationRef,
  index: Index,
  parentIndex: string,
  where: Placement,
  partitionsOf: PartitionsOf,
): void {
  for (const p of partitionsOf(parent)) {
    const part: RelationRef = { schema: p.schema, name: p.name };
    // The name PostgreSQL gives it when the same index is created on the parent by hand.
    const child = ctx.pgIndexName(p.schema, p.name, indexColumnNames(index.keys, index.include), 'idx');
    if (p.partitionBy !== undefined) {
      ctx.add(
        where,
        sqlStep(
          `create index ${child} on ${qualifiedRef(part)} alone (ON ONLY)`,
          [createIndexSql(part, index, { only: true, name: child, schemas: ctx.schemas })],
          { locks: [lock(part, 'SHARE')] },
        ),
        (m) => m,
        [tableTouch(parent)],
      );
      attachPartitionIndexes(ctx, part, index, child, where, partitionsOf);
    } else {
      ctx.add(
        where,
        sqlStep(
          `create index ${child} on partition ${qualifiedRef(part)}`,
          [createIndexSql(part, index, { concurrently: true, name: child, schemas: ctx.schemas })],
          {
            transaction: false,
            locks: [lock(part, 'SHARE UPDATE EXCLUSIVE', 'scan')],
            concurrentIndex: { schema: p.schema, name: child },
          },
        ),
        (m) => m,
        [tableTouch(parent)],
      );
    }
    const parentSchema = parent.schema;
    ctx.add(
      where,
      sqlStep(
        `attach index ${child} to ${parentIndex}`,
        [attachIndexSql({ schema: parentSchema, name: parentIndex }, { schema: p.schema, name: child })],
        {
          locks: [
            lock({ schema: parentSchema, name: parentIndex }, 'SHARE UPDATE EXCLUSIVE'),
            lock(part, 'SHARE'),
            lock({ schema: p.schema, name: child }, 'ACCESS EXCLUSIVE'),
          ],
        },
      ),
      (m) => m,
      [tableTouch(parent)],
    );
  }
}

/** Whether the set of rows treated as duplicates differs between two versions of an index. */
function uniqueScopeChanged(a: Index, b: Index): boolean {
  if (!a.unique && !b.unique) return false;
  const scope = (i: Index) => stableStringify([i.unique, i.keys, i.where, i.nullsNotDistinct, i.method]);
  return scope(a) !== scope(b);
}

function dropIndexStep(ctx: PlanContext, table: RelationRef, index: Index, hazards: Hazard[]): void {
  const partitioned = ctx.isPartitioned(table);
  const ix = { schema: table.schema, name: index.name };
  ctx.add(
    at.contract('dropIndexes'),
    partitioned
      ? sqlStep(
          `drop index ${qualified(table.schema, index.name)} on ${qualifiedRef(table)} (partitioned: not concurrently)`,
          [dropIndexSql(ix)],
          { locks: [lock(table, 'ACCESS EXCLUSIVE')], hazards },
        )
      : sqlStep(
          `drop index ${qualified(table.schema, index.name)} on ${qualifiedRef(table)}`,
          [dropIndexSql(ix, { concurrently: true })],
          {
            transaction: false,
            locks: [lock(table, 'SHARE UPDATE EXCLUSIVE')],
            hazards,
          },
        ),
    (m) => mapRelation(m, table, (r) => ({ ...r, indexes: removeNamed(r.indexes, index.name) })),
    [tableTouch(table)],
  );
}

export function planDropIndex(ctx: PlanContext, ch: DropIndex): void {
  if (ch.replacedBy || ctx.desiredRelation(ch.table) === undefined) return;
  // The leftover of a failed build of a key's index: the key's build step replaces it.
  if (isLeftoverOfKey(ctx, ch.table, ch.index.name)) return;
  // An index a new key of its name takes over (USING INDEX): it stays, as the key's index.
  if (adoptableIndex(ctx, ch.table, ch.index.name) !== undefined) return;
  dropIndexStep(ctx, ch.table, ch.index, ch.index.unique ? ['unique-scope-change'] : []);
}

export function planRepairIndex(ctx: PlanContext, ch: RepairIndex): void {
  const { table, index } = ch;
  ctx.add(
    at.expand('indexes'),
    sqlStep(
      `rebuild invalid index ${qualified(table.schema, index.name)} on ${qualifiedRef(table)} (left by a failed build)`,
      [reindexConcurrentlySql({ schema: table.schema, name: index.name })],
      {
        transaction: false,
        locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
        // Lets apply drop the `_ccnew` copy a failed REINDEX CONCURRENTLY leaves behind.
        concurrentIndex: { schema: table.schema, name: index.name },
      },
    ),
    (m) =>
      mapRelation(m, table, (r) => ({
        ...r,
        indexes: r.indexes.map((i) => (i.name === index.name ? { ...i, valid: true } : i)),
      })),
    [tableTouch(table)],
  );
}
