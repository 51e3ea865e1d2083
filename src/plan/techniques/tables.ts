/**
 * Tables and partitions.
 *
 * - A new table is empty and unused: one transaction creates it with its columns, keys, checks,
 *   exclusion constraints, indexes (plain CREATE INDEX: nothing to wait for) and partitions. Its
 *   foreign keys come later (constraints.ts), once every table they may reference exists.
 * - A new partition of an existing partitioned table: `CREATE TABLE … (LIKE parent INCLUDING
 *   DEFAULTS INCLUDING CONSTRAINTS)` then `ALTER TABLE parent ATTACH PARTITION …`, which takes only
 *   SHARE UPDATE EXCLUSIVE on the parent; `CREATE TABLE … PARTITION OF` would take ACCESS EXCLUSIVE on
 *   it (pg-locks.md). With a default partition, ATTACH scans the default partition under ACCESS
 *   EXCLUSIVE to prove none of its rows belongs to the new one.
 * - Drops are in contract and lose data. A partition is detached CONCURRENTLY first where
 *   PostgreSQL allows it (no default partition), so the parent never waits.
 */

import type {
  AddPartition,
  CreateTable,
  DropPartition,
  DropTable,
  RelationRef,
  SetTableLogged,
} from '../../diff/changes.js';
import { withoutDirectives } from '../../model/directives.js';
import { notNullNamesIn, qualifiedRef } from '../../model/names.js';
import { inheritsParent } from '../../model/objects.js';
import type { Column, Partition, RelationParts, Table } from '../../model/types.js';
import { displayType } from '../../model/types-text.js';
import { dropConstraintSql, renameConstraintSql } from '../../sql/constraints.js';
import {
  attachPartitionSql,
  boundPredicateSql,
  createPartitionLikeSql,
  detachPartitionConcurrentlySql,
  moveFromDefaultSql,
} from '../../sql/partitions.js';
import { createTableSql, dropTableSql, newPartitionsSql, relationPartsSql, setLoggedSql } from '../../sql/tables.js';
import { at, lock, type Placement, type PlanContext, rootTable, sqlStep, tableTouch } from '../context.js';
import { chain, dropOwnedSequences, mapRelation, mapSchema, noEdit, omit } from '../model-edit.js';
import type { Hazard, LockInfo } from '../types.js';
import { columnDependents, lockFirstSql, rebuildColumnDependents } from './column-dependents.js';
import { NOT_NULL_NAMES_MAJOR } from './not-null-names.js';

/** A new relation as the model shows it right after its creation step: no foreign keys, no comments yet. */
export function asCreated<T extends Table | Partition>(r: T): T {
  const base = omit(r, 'comment') as T;
  const stripped = {
    ...base,
    foreignKeys: [],
    indexes: r.indexes.map((i) => omit(i, 'comment')),
    partitions: r.partitions.map(asCreated),
  };
  if (stripped.kind === 'table') {
    return {
      ...stripped,
      columns: stripped.columns.map((c: Column) => omit(withoutDirectives(c), 'comment')),
    } as T;
  }
  return stripped;
}

const hasNotValid = (r: RelationParts): boolean => r.checks.some((c) => !c.valid) || r.partitions.some(hasNotValid);

function countPartitions(r: RelationParts): number {
  return r.partitions.reduce((n, p) => n + 1 + countPartitions(p), 0);
}

export function planCreateTable(ctx: PlanContext, ch: CreateTable): void {
  const t = ch.table;
  const ref = { schema: t.schema, name: t.name };
  // Its policies are created after it (techniques/policies.ts): they may use what comes later.
  const { policies: _policies, ...created } = asCreated(t);
  const sql = [
    createTableSql({ ...t, columns: t.columns.map((c) => ({ ...c, type: displayType(c.type) })) }, ctx.schemas),
    ...relationPartsSql(ref, t, ctx.schemas, true),
    ...newPartitionsSql(ref, t, ctx.schemas),
  ];
  const parts = countPartitions(t);
  const detail = [`${t.columns.length} column${t.columns.length === 1 ? '' : 's'}`];
  if (t.indexes.length > 0) detail.push(`${t.indexes.length} index${t.indexes.length === 1 ? '' : 'es'}`);
  if (parts > 0) detail.push(`${parts} partition${parts === 1 ? '' : 's'}`);
  ctx.add(
    at.expand('tables'),
    sqlStep(`create table ${qualifiedRef(ref)} (${detail.join(', ')})`, sql, {
      // A child of INHERITS takes SHARE UPDATE EXCLUSIVE on each parent (seen by rehearsal).
      locks: [
        lock(ref, 'ACCESS EXCLUSIVE'),
        ...(t.inherits ?? []).map((p) => lock(inheritsParent(p), 'SHARE UPDATE EXCLUSIVE')),
      ],
      hazards: hasNotValid(t) ? ['not-validated'] : [],
    }),
    (m) => mapSchema(m, t.schema, (s) => ({ ...s, tables: [...s.tables, created] })),
    [tableTouch(ref)],
  );
}

export function planDropTable(ctx: PlanContext, ch: DropTable): void {
  const t = ch.table;
  const ref = { schema: t.schema, name: t.name };
  // Views that read the table are changed or dropped before (techniques/views.ts, in contract's
  // first group); policies of other tables and SQL-standard bodies that read it are taken along
  // (column-dependents.ts); objects zdm does not manage cannot be.
  const refusal = ctx.unmanagedRefusal(ref, undefined, 'drop it', columnDependents(ctx, ref, undefined));
  if (refusal !== undefined) {
    ctx.issue(`table ${qualifiedRef(ref)}`, refusal);
    return;
  }
  // Foreign keys of other dropped tables that reference this one go first (PostgreSQL refuses to
  // drop a referenced table), in the dropForeignKeys group like every other FK drop.
  for (const [owner, fk] of ctx.liveForeignKeysTo(ref)) {
    if (ctx.desiredRelation(owner) !== undefined || (owner.schema === ref.schema && owner.name === ref.name)) continue;
    ctx.add(
      at.contract('dropForeignKeys'),
      sqlStep(
        `drop foreign key ${fk.name} on ${qualifiedRef(owner)} → ${qualifiedRef(ref)} (both tables are dropped)`,
        [dropConstraintSql(owner, fk.name)],
        { locks: [lock(owner, 'ACCESS EXCLUSIVE'), lock(ref, 'ACCESS EXCLUSIVE')] },
      ),
      (m) => mapRelation(m, owner, (r) => ({ ...r, foreignKeys: r.foreignKeys.filter((f) => f.name !== fk.name) })),
      [tableTouch(owner), tableTouch(ref)],
    );
  }
  // Dropping a table drops its foreign keys, which removes their triggers on the referenced tables.
  const refLocks: LockInfo[] = t.foreignKeys
    .filter((fk) => fk.references.schema !== t.schema || fk.references.table !== t.name)
    .map((fk) => lock({ schema: fk.references.schema, name: fk.references.table }, 'ACCESS EXCLUSIVE'));
  const deps = rebuildColumnDependents(ctx, ref, undefined, 'contract');
  ctx.add(
    at.contract('dropTables'),
    sqlStep(
      `drop table ${qualifiedRef(ref)} and its data${t.partitions.length > 0 ? ` (with its ${countPartitions(t)} partitions)` : ''}` +
        (deps ? `; ${deps.note}` : ''),
      [...lockFirstSql(ref, deps), ...(deps?.before ?? []), dropTableSql(ref), ...(deps?.after ?? [])],
      { locks: [lock(ref, 'ACCESS EXCLUSIVE'), ...refLocks, ...(deps?.locks ?? [])], hazards: ['data-loss'] },
    ),
    chain(
      (m) =>
        dropOwnedSequences(
          mapSchema(m, t.schema, (s) => ({ ...s, tables: s.tables.filter((x) => x.name !== t.name) })),
          ref,
        ),
      deps?.edit ?? noEdit,
    ),
    [tableTouch(ref), ...(deps?.touches ?? [])],
  );
}

export function planSetTableLogged(ctx: PlanContext, ch: SetTableLogged): void {
  const empty = ctx.isEmpty(ch.table);
  const hazards: Hazard[] = empty ? [] : ['table-rewrite', 'blocks-reads'];
  ctx.add(
    at.expand('tableOptions'),
    sqlStep(
      `make ${qualifiedRef(ch.table)} ${ch.unlogged ? 'UNLOGGED' : 'LOGGED'}` +
        (empty ? '' : ' (no online technique: rewrites the table under ACCESS EXCLUSIVE, reads and writes wait)'),
      [setLoggedSql(ch.table, ch.unlogged)],
      { locks: [lock(ch.table, 'ACCESS EXCLUSIVE', empty ? 'instant' : 'scan')], hazards },
    ),
    (m) => mapRelation(m, ch.table, (r) => ({ ...(r as Table), unlogged: ch.unlogged })),
    [tableTouch(ch.table)],
  );
}

export function planAddPartition(ctx: PlanContext, ch: AddPartition): void {
  const { parent, partition: p } = ch;
  if (ctx.isNew(parent)) return; // created with its parent
  const ref = { schema: p.schema, name: p.name };
  const root = rootTable(ctx.live, parent);
  const generated = root?.columns.some((c) => c.generated !== undefined) ?? false;
  const sql = [
    createPartitionLikeSql(ref, parent, generated, p.partitionBy, p.with),
    ...likeNotNullRenames(ctx, parent, ref, p),
    ...relationPartsSql(ref, p, ctx.schemas, false),
    ...newPartitionsSql(ref, p, ctx.schemas),
    attachPartitionSql(parent, ref, p.bound),
  ];
  const locks: LockInfo[] = [lock(parent, 'SHARE UPDATE EXCLUSIVE'), lock(ref, 'ACCESS EXCLUSIVE')];
  const hazards: Hazard[] = [];
  let note = '';
  const liveParent = ctx.liveRelation(parent);
  const defaultPart = liveParent?.partitions.find((x) => x.bound.kind === 'default');
  if (defaultPart && p.bound.kind !== 'default' && !(ch.replaces && ch.replaces.bound.kind === 'default')) {
    const d = { schema: defaultPart.schema, name: defaultPart.name };
    locks.push(lock(d, 'ACCESS EXCLUSIVE', 'scan'));
    hazards.push('blocks-reads');
    note = ` (scans the default partition ${qualifiedRef(d)} under ACCESS EXCLUSIVE to prove none of its rows belongs here)`;
    // Rows of the default partition the new one covers move into it first (src/sql/partitions.ts, moveFromDefaultSql).
    const predicate = liveParent?.partitionBy ? boundPredicateSql(liveParent.partitionBy, p.bound) : undefined;
    if (predicate !== undefined && !ctx.isEmpty(d) && root) {
      const columns = root.columns.filter((c) => c.generated === undefined).map((c) => c.name);
      const move = moveFromDefaultSql(d, ref, columns, predicate, ctx.freshName(ref.schema, [p.name], 'zdm_bound'));
      sql.splice(sql.length - 1, 0, ...move.before);
      sql.push(...move.after);
      note = ` (moves the rows it covers out of the default partition ${qualifiedRef(d)} first, then scans the default partition ${qualifiedRef(d)} under ACCESS EXCLUSIVE to prove none is left)`;
    }
  }
  if (hasNotValid(p)) hazards.push('not-validated');
  const place: Placement = ch.replaces ? at.contract('addPartitions') : at.expand('partitions');
  ctx.add(
    place,
    sqlStep(`create ${qualifiedRef(ref)} and attach it as a partition of ${qualifiedRef(parent)}${note}`, sql, {
      locks,
      hazards,
    }),
    (m) => mapRelation(m, parent, (r) => ({ ...r, partitions: [...r.partitions, asCreated(p)] })),
    [tableTouch(parent), tableTouch(ref)],
  );
}

/**
 * `LIKE parent INCLUDING CONSTRAINTS` copies the parent's NOT NULL constraint names (PostgreSQL 18),
 * and ATTACH PARTITION keeps the table's own: the names the partition wants otherwise are given to
 * the new, still detached table, which no one else can see yet.
 */
function likeNotNullRenames(ctx: PlanContext, parent: RelationRef, ref: RelationRef, p: Partition): string[] {
  if (p.notNullNames === undefined || ctx.input.serverMajor < NOT_NULL_NAMES_MAJOR) return [];
  const root = rootTable(ctx.live, parent);
  const inherited = root ? notNullNamesIn(root, parent) : undefined;
  return Object.entries(p.notNullNames).flatMap(([column, name]) => {
    const from = inherited?.get(column);
    return from === undefined || from === name ? [] : [renameConstraintSql(ref, from, name)];
  });
}

export function planDropPartition(ctx: PlanContext, ch: DropPartition): void {
  const { parent, partition: p } = ch;
  if (ctx.desiredRelation(parent) === undefined) return; // goes with its parent
  const ref = { schema: p.schema, name: p.name };
  const liveParent = ctx.liveRelation(parent);
  const hasDefault = liveParent?.partitions.some((x) => x.bound.kind === 'default') ?? false;
  const remove = (m: Parameters<typeof mapRelation>[0]) =>
    mapRelation(m, parent, (r) => ({
      ...r,
      partitions: r.partitions.filter((x) => x.schema !== p.schema || x.name !== p.name),
    }));
  const touches = [tableTouch(parent), tableTouch(ref)];
  if (!hasDefault) {
    // DETACH … CONCURRENTLY (PostgreSQL 14+) waits for queries on the parent instead of locking them out;
    // it is refused when the parent has a default partition.
    ctx.add(
      at.contract('dropPartitions'),
      sqlStep(
        `detach partition ${qualifiedRef(ref)} from ${qualifiedRef(parent)} concurrently`,
        [detachPartitionConcurrentlySql(parent, ref)],
        // Its second transaction takes ACCESS EXCLUSIVE on the partition (the PostgreSQL manual; seen by rehearsal).
        { transaction: false, locks: [lock(parent, 'SHARE UPDATE EXCLUSIVE'), lock(ref, 'ACCESS EXCLUSIVE')] },
      ),
      (m) => m,
      touches,
    );
  }
  ctx.add(
    at.contract('dropPartitions'),
    sqlStep(
      `drop ${hasDefault ? 'partition' : 'detached partition'} ${qualifiedRef(ref)} and its data` +
        (ch.replacedBy ? ' (its bound changes: recreated empty below)' : ''),
      [dropTableSql(ref)],
      {
        locks: hasDefault
          ? [lock(parent, 'ACCESS EXCLUSIVE'), lock(ref, 'ACCESS EXCLUSIVE')]
          : [lock(ref, 'ACCESS EXCLUSIVE')],
        hazards: ['data-loss'],
      },
    ),
    remove,
    touches,
  );
}
