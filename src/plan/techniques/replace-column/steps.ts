/**
 * The steps of a column replacement: the decision (decide.ts) turned into expand, backfill and
 * contract steps, each with its SQL (built by src/sql), its locks and its model edit.
 */
import type { RelationRef, ReplaceColumn } from '../../../diff/changes.js';
import { renameColumnInExpression } from '../../../diff/renames.js';
import { withoutDirectives } from '../../../model/directives.js';
import { makeObjectName, qualified } from '../../../model/names.js';
import { objectKey } from '../../../model/objects.js';
import type {
  CheckConstraint,
  Column,
  DatabaseModel,
  ForeignKey,
  Index,
  PrimaryKey,
  Table,
  UniqueConstraint,
} from '../../../model/types.js';
import { displayType } from '../../../model/types-text.js';
import {
  addColumnSql,
  addIdentitySql,
  columnPropertiesSql,
  columnTypeSql,
  dropColumnSql,
  renameColumnSql,
  setDefaultSql,
  setNotNullSql,
} from '../../../sql/columns.js';
import { commentSql, constraintCommentsSql } from '../../../sql/comments.js';
import {
  addConstraintSql,
  addKeyUsingIndexSql,
  checkSql,
  dropConstraintSql,
  foreignKeySql,
  renameConstraintSql,
  renameNotNullConstraintSql,
} from '../../../sql/constraints.js';
import { createIndexSql, renameIndexSql } from '../../../sql/indexes.js';
import { createOldWritesSql, dropOldWritesSql, oldWritesTracking } from '../../../sql/old-writes.js';
import { castSql, notCopiedSql, replaceBatchSql } from '../../../sql/rows.js';
import { identityContinueSql, setOwnedBySql } from '../../../sql/sequences.js';
import { lockTablesSql } from '../../../sql/session.js';
import { clusterOnSql, replicaIdentitySql } from '../../../sql/tables.js';
import {
  castExpression,
  createSyncTriggerSql,
  dropSyncTriggerSql,
  rowExpression,
  type SyncTriggerSpec,
} from '../../../sql/triggers.js';
import { at, findViewLike, lock, type PlanContext, sqlStep, type Touch, tableTouch } from '../../context.js';
import {
  chain,
  type ModelEdit,
  mapColumn,
  mapRelation,
  mapTable,
  omit,
  removeNamed,
  withOptional,
} from '../../model-edit.js';
import { freshName, generatedName, NOT_NULL_HELPER_ROLE } from '../../names.js';
import type { Hazard, LockInfo } from '../../types.js';
import { rebuildColumnDependents } from '../column-dependents.js';
import { buildPartitioned } from '../indexes.js';
import { notNullCheck } from '../not-null.js';
import { replaceRoutinesBeforeSwap, widenTriggers } from '../routines.js';
import { planValidation } from '../validate.js';
import { rebuildViews, viewsReading } from '../views.js';
import { type Carried, type ColumnNames, finalForeignKey, type Replacement } from './decide.js';

/** What the carry-over adds to the contract transaction. */
interface Carry {
  /** Contract SQL, run in the swap transaction before the old column is dropped. */
  readonly before: string[];
  /** … and after the shadow has the old column's name. */
  readonly after: string[];
  /** Model edits of the contract, applied after the column swap. */
  readonly edits: ModelEdit[];
  readonly locks: LockInfo[];
  readonly touches: Touch[];
  /** Foreign keys re-added NOT VALID in contract, validated right after it. */
  readonly revalidate: { table: RelationRef; fk: ForeignKey }[];
}

/** What the carry-over steps of one column share. */
interface CarryScope {
  readonly ctx: PlanContext;
  readonly table: RelationRef;
  readonly live: Table;
  readonly names: ColumnNames;
  readonly carried: Carried;
  /** For summaries: `the shadow column` (type change) or `the new column x` (rename). */
  readonly side: string;
  readonly carry: Carry;
  /** The column's name in an object rebuilt on the new column. */
  readonly sub: (column: string) => string;
  /** An expression rebuilt on the new column. */
  readonly rewrite: (expression: string) => string;
  /** A model edit of the table. */
  readonly edit: (fn: (t: Table) => Table) => ModelEdit;
}

/**
 * The indexes and constraints of the column, rebuilt on the new column of a rename or the shadow
 * column of a type change: constraints added NOT VALID in expand and validated in backfill, indexes
 * built CONCURRENTLY in backfill once the batches are done (`AFTER_DATA`), renamed to their old names in the contract transaction once the old column (and with
 * it the old objects) is gone. Foreign keys of other tables that reference the column are dropped
 * and re-added NOT VALID in that transaction (on the final column name), then validated.
 */
function carryOverSteps(
  ctx: PlanContext,
  table: RelationRef,
  live: Table,
  names: ColumnNames,
  carried: Carried,
): Carry {
  const { column, shadow, final } = names;
  const s: CarryScope = {
    ctx,
    table,
    live,
    names,
    carried,
    side: column === final ? 'the shadow column' : `the new column ${shadow}`,
    carry: { before: [], after: [], edits: [], locks: [], touches: [], revalidate: [] },
    sub: (c) => (c === column ? shadow : c),
    rewrite: (e) => renameColumnInExpression(e, column, shadow),
    edit: (fn) => (m) => mapTable(m, table, fn),
  };
  carryIndexes(s);
  carryKeys(s);
  carryChecks(s);
  carryForeignKeys(s);
  // Its index went with the old column: the replica identity is set again on the one that took its name.
  const identity = live.replicaIdentity;
  const carriedIndexes = new Set(
    [...carried.indexes, ...(carried.primaryKey ? [carried.primaryKey] : []), ...carried.uniqueConstraints].map(
      (x) => x.name,
    ),
  );
  if (identity?.kind === 'index' && carriedIndexes.has(identity.index)) {
    s.carry.after.push(replicaIdentitySql(table, identity));
  }
  // So is the CLUSTER ON mark.
  if (live.clusterOn !== undefined && carriedIndexes.has(live.clusterOn)) {
    s.carry.after.push(clusterOnSql(table, live.clusterOn));
  }
  // The old column's own indexes, keys and constraints go with it (DROP COLUMN).
  const moved = new Set(
    [...carried.indexes, ...carried.checks, ...carried.foreignKeys, ...carried.uniqueConstraints].map((x) => x.name),
  );
  s.carry.edits.unshift(
    s.edit((r) => ({
      ...r,
      indexes: r.indexes.filter((x) => !moved.has(x.name)),
      checks: r.checks.filter((x) => !moved.has(x.name)),
      foreignKeys: r.foreignKeys.filter((x) => !moved.has(x.name)),
      uniqueConstraints: r.uniqueConstraints.filter((x) => !moved.has(x.name)),
    })),
    (m) => (carried.primaryKey ? mapTable(m, table, (r) => omit(r, 'primaryKey') as Table) : m),
    ...carried.incoming.map(
      ([child, fk]): ModelEdit =>
        (m) =>
          mapRelation(m, child, (r) => ({ ...r, foreignKeys: removeNamed(r.foreignKeys, fk.name) })),
    ),
  );
  return s.carry;
}

/**
 * Where the indexes on the new column are built: in backfill, after the batches (group `indexes`,
 * before the validations). Built in expand, every batch wrote an entry in each of them, and no
 * batch update could be HOT (an update that changes an indexed column never is): measured in
 * BENCHMARKS.md ("The copy path"). Nothing reads them before contract (the old column keeps its
 * own indexes until then), and a unique one still refuses duplicates when it is built.
 */
const AFTER_DATA = at.backfill('indexes');

/** `CREATE INDEX CONCURRENTLY` under a temporary name, as the step that builds it on the shadow. */
function buildIndexStep(s: CarryScope, ix: Index, summary: string): void {
  const { ctx, table } = s;
  ctx.add(
    AFTER_DATA,
    sqlStep(summary, [createIndexSql(table, ix, { concurrently: true, schemas: ctx.schemas })], {
      transaction: false,
      locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
      concurrentIndex: { schema: table.schema, name: ix.name },
    }),
    s.edit((r) => ({ ...r, indexes: [...r.indexes, ix] })),
    [tableTouch(table)],
  );
}

function carryIndexes(s: CarryScope): void {
  const { ctx, table, carry } = s;
  for (const ix of s.carried.indexes) {
    if (!s.live.indexes.some((x) => x.name === ix.name))
      ctx.indexesBuiltByReplacement.add(qualified(table.schema, ix.name));
    const tmp = ctx.freshName(table.schema, [ix.name], 'zdm_new');
    const shadowIx: Index = withOptional(
      {
        ...ix,
        name: tmp,
        valid: true,
        keys: ix.keys.map((k) =>
          k.column !== undefined ? { ...k, column: s.sub(k.column) } : { ...k, expression: s.rewrite(k.expression!) },
        ),
        include: ix.include.map(s.sub),
      },
      'where',
      ix.where === undefined ? undefined : s.rewrite(ix.where),
    );
    const built = omit(shadowIx, 'comment');
    // CONCURRENTLY is refused on a partitioned table: ON ONLY the table, CONCURRENTLY per
    // partition, ATTACH each (src/plan/techniques/indexes.ts).
    if (s.live.partitionBy !== undefined) buildPartitioned(ctx, table, built, tmp, AFTER_DATA);
    else {
      buildIndexStep(
        s,
        built,
        `build index ${tmp} on ${qualified(table.schema, table.name)} (${ix.name} on ${s.side}), concurrently`,
      );
    }
    carry.after.push(renameIndexSql(table.schema, tmp, ix.name));
    if (ix.comment !== undefined) {
      carry.after.push(
        commentSql({ kind: 'index', schema: table.schema, table: table.name, name: ix.name }, ix.comment),
      );
    }
    const want = s.carried.desired.indexes.find((x) => x.name === ix.name)!;
    carry.edits.push(s.edit((r) => ({ ...r, indexes: [...removeNamed(r.indexes, tmp), { ...want, valid: true }] })));
  }
}

/**
 * Primary and unique keys: a unique index built on the shadow, the key added USING INDEX in the
 * contract transaction (it needs the column NOT NULL: the swap sets it before, through the helper
 * check). The foreign keys that reference the key are dropped before and re-added NOT VALID after.
 */
function carryKeys(s: CarryScope): void {
  const { ctx, table, carry, carried } = s;
  const keys: (PrimaryKey | UniqueConstraint)[] = [
    ...(carried.primaryKey ? [carried.primaryKey] : []),
    ...carried.uniqueConstraints,
  ];
  if (keys.length === 0) return;
  for (const [child, fk] of carried.incoming) {
    carry.before.push(dropConstraintSql(child, fk.name));
    carry.locks.push(lock(child, 'ACCESS EXCLUSIVE'));
    carry.touches.push(tableTouch(child));
  }
  for (const key of keys) {
    const tmp = ctx.freshName(table.schema, [key.name], 'zdm_new');
    const ix: Index = {
      kind: 'index',
      name: tmp,
      unique: true,
      method: 'btree',
      keys: key.columns.map((c) => ({ column: s.sub(c), descending: false })),
      include: key.include.map(s.sub),
      nullsNotDistinct: key.kind === 'unique' ? key.nullsNotDistinct : false,
      valid: true,
    };
    buildIndexStep(
      s,
      ix,
      `build unique index ${tmp} on ${qualified(table.schema, table.name)} (for ${key.name} on ${s.side}), concurrently`,
    );
    const want =
      key.kind === 'primaryKey'
        ? carried.desired.primaryKey!
        : carried.desired.uniqueConstraints.find((x) => x.name === key.name)!;
    carry.after.push(addKeyUsingIndexSql(table, key, tmp), ...constraintCommentsSql(table, [want]));
    carry.edits.push(
      s.edit((r) =>
        key.kind === 'primaryKey'
          ? { ...r, indexes: removeNamed(r.indexes, tmp), primaryKey: want as PrimaryKey }
          : {
              ...r,
              indexes: removeNamed(r.indexes, tmp),
              uniqueConstraints: [...removeNamed(r.uniqueConstraints, key.name), want as UniqueConstraint],
            },
      ),
    );
  }
  for (const [child, liveFk] of carried.incoming) {
    const fk = finalForeignKey(liveFk, table, s.names);
    carry.after.push(addConstraintSql(child, foreignKeySql(fk, true)), ...constraintCommentsSql(child, [fk]));
    carry.revalidate.push({ table: child, fk });
    carry.edits.push((m) =>
      mapRelation(m, child, (r) => ({
        ...r,
        foreignKeys: [...removeNamed(r.foreignKeys, fk.name), { ...fk, valid: false }],
      })),
    );
  }
}

/** A check or foreign key of the column, copied to the new column. */
interface CarriedConstraint {
  readonly kind: 'check' | 'foreignKey';
  /** Its name, and the temporary name of its copy. */
  readonly name: string;
  readonly tmp: string;
  /** The original is valid: the copy is validated in backfill. */
  readonly valid: boolean;
  /** `ADD CONSTRAINT tmp … NOT VALID` and its locks. */
  readonly sql: string;
  readonly locks: readonly LockInfo[];
  /** Locks of the VALIDATE (default: the table's, for the scan). */
  readonly validateLocks?: readonly LockInfo[];
  /** The copy added to the table; in contract, the copy replaced by the constraint as the desired state has it. */
  readonly added: (t: Table) => Table;
  readonly settled: (t: Table) => Table;
  /** The constraint as it ends: its comment is set again once it has its name back. */
  readonly final: { readonly name: string; readonly comment?: string };
}

/** Expand: the copy NOT VALID; backfill: its validation; contract: its name back. */
function carryConstraint(s: CarryScope, c: CarriedConstraint): void {
  const { ctx, table } = s;
  const label = c.kind === 'check' ? 'check' : 'foreign key';
  ctx.add(
    at.expand(c.kind === 'check' ? 'checks' : 'foreignKeys'),
    sqlStep(
      `add ${label} ${c.tmp} (${c.name} on ${s.side}) NOT VALID on ${qualified(table.schema, table.name)}`,
      [c.sql],
      { locks: c.locks },
    ),
    s.edit(c.added),
    [tableTouch(table)],
  );
  if (c.valid) {
    planValidation(ctx, at.backfill(c.kind === 'check' ? 'validateChecks' : 'validateForeignKeys'), table, {
      kind: c.kind,
      name: c.tmp,
      summary: `validate ${label} ${c.tmp} on ${qualified(table.schema, table.name)}`,
      ...(c.validateLocks ? { locks: c.validateLocks } : {}),
    });
  }
  s.carry.after.push(renameConstraintSql(table, c.tmp, c.name), ...constraintCommentsSql(table, [c.final]));
  s.carry.edits.push(s.edit(c.settled));
}

function carryChecks(s: CarryScope): void {
  const { ctx, table } = s;
  for (const ck of s.carried.checks) {
    const tmp = ctx.freshName(table.schema, [ck.name], 'zdm_new');
    const shadowCk: CheckConstraint = omit(
      { ...ck, name: tmp, expression: s.rewrite(ck.expression), valid: false },
      'comment',
    );
    const want = s.carried.desired.checks.find((x) => x.name === ck.name)!;
    carryConstraint(s, {
      kind: 'check',
      name: ck.name,
      tmp,
      valid: ck.valid,
      sql: addConstraintSql(table, checkSql(shadowCk, true)),
      locks: [lock(table, 'ACCESS EXCLUSIVE')],
      added: (r) => ({ ...r, checks: [...r.checks, shadowCk] }),
      settled: (r) => ({ ...r, checks: [...removeNamed(r.checks, tmp), { ...want, valid: ck.valid }] }),
      final: want,
    });
  }
}

function carryForeignKeys(s: CarryScope): void {
  const { ctx, table } = s;
  const { column, final } = s.names;
  for (const fk of s.carried.foreignKeys) {
    const tmp = ctx.freshName(table.schema, [fk.name], 'zdm_new');
    const shadowFk: ForeignKey = omit({ ...fk, name: tmp, columns: fk.columns.map(s.sub), valid: false }, 'comment');
    const target = { schema: fk.references.schema, name: fk.references.table };
    // The swap drops the old column and so this foreign key: PostgreSQL takes ACCESS EXCLUSIVE on
    // the referenced table to drop the key's triggers there (seen by rehearsal).
    if (target.schema !== table.schema || target.name !== table.name)
      s.carry.locks.push(lock(target, 'ACCESS EXCLUSIVE'));
    const finalOwn: ForeignKey = {
      ...finalForeignKey(fk, table, s.names),
      columns: fk.columns.map((c) => (c === column ? final : c)),
    };
    carryConstraint(s, {
      kind: 'foreignKey',
      name: fk.name,
      tmp,
      valid: fk.valid,
      sql: addConstraintSql(table, foreignKeySql(shadowFk, true)),
      locks: [lock(table, 'SHARE ROW EXCLUSIVE'), lock(target, 'SHARE ROW EXCLUSIVE')],
      validateLocks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan'), lock(target, 'ROW SHARE')],
      added: (r) => ({ ...r, foreignKeys: [...r.foreignKeys, shadowFk] }),
      settled: (r) => ({ ...r, foreignKeys: [...removeNamed(r.foreignKeys, tmp), finalOwn] }),
      final: finalOwn,
    });
  }
}

/** What the column's own steps share. */
interface ColumnScope {
  readonly ctx: PlanContext;
  readonly change: ReplaceColumn;
  readonly r: Replacement;
  /** The sync trigger (and its function). */
  readonly spec: Omit<SyncTriggerSpec, 'conv' | 'rev'>;
  /** The NOT NULL helper check, when the column ends NOT NULL. */
  readonly helper?: CheckConstraint;
}

/**
 * The replacement's steps. expand: the column (nullable, no default), its NOT VALID `IS NOT NULL`
 * check when it must end NOT NULL, and the two-way sync trigger, in one transaction (no write lands
 * between the column and its trigger); the carried indexes and constraints. backfill: old → new
 * where the new column is still NULL; validations. contract: one transaction that drops the trigger
 * and the old column and gives the new one its name, keys, default, sequences and identity.
 */
export function replacementSteps(
  ctx: PlanContext,
  ch: ReplaceColumn,
  live: Table,
  r: Replacement,
  carried: Carried,
): void {
  const { table, from } = ch;
  const newName = r.names.shadow;
  const name = freshFunctionName(ctx, table, newName);
  // A rename: the old version writes the old name, the new one the new name; the contract gate
  // tells them apart. A type change under the same name is written alike by both: nothing to track.
  const tracking = r.rename
    ? oldWritesTracking(
        generatedName([table.schema, name], 'old_writes'),
        `${qualified(table.schema, table.name)}.${from.name}`,
      )
    : undefined;
  const spec = {
    schema: table.schema,
    table: table.name,
    oldColumn: from.name,
    newColumn: newName,
    name,
    ...(tracking ? { oldWrites: tracking } : {}),
  };
  // The column's indexes and constraints are rebuilt on the new column (rename) or the shadow
  // column (type change), and foreign keys that reference it are re-pointed in contract.
  const carry = carryOverSteps(ctx, table, live, r.names, carried);
  const helper = r.notNull
    ? notNullCheck(ctx.freshName(table.schema, [table.name, newName], NOT_NULL_HELPER_ROLE), newName)
    : undefined;
  const s: ColumnScope = { ctx, change: ch, r, spec, ...(helper ? { helper } : {}) };
  const conversion = expandStep(s);
  // A rename: each version names its own column in UPDATE; triggers UPDATE OF the old one fire for both.
  if (r.rename) widenTriggers(ctx, table, from.name, newName, name);
  backfillSteps(s, live, conversion);
  contractSteps(s, carry);
}

/** Expand: the column, its helper check and the sync trigger, in one transaction. Returns old → new as SQL. */
function expandStep(s: ColumnScope): string {
  const { ctx, change: ch, r, helper } = s;
  const { table, from, to } = ch;
  const newName = r.names.shadow;
  const typeChanged = r.typeChanged;
  const conv =
    to.using !== undefined
      ? rowExpression(to.using, from.name)
      : castExpression(from.name, typeChanged ? to.type : undefined);
  const rev =
    to.reverse !== undefined
      ? rowExpression(to.reverse, newName, to.name)
      : castExpression(newName, typeChanged ? from.type : undefined);
  // The expressions the reviewer must check, when they are the desired state's own.
  const explicit = [
    ...(to.using !== undefined ? [`old → new: ${to.using}`] : []),
    ...(to.reverse !== undefined ? [`new → old: ${to.reverse}`] : []),
  ];
  // Attribute options, the statistics target, storage and compression are the new column's from the
  // start (a rename keeps them).
  const added: Column = {
    kind: 'column',
    name: newName,
    type: to.type,
    nullable: true,
    ...(to.collation !== undefined ? { collation: to.collation } : {}),
    ...(to.options !== undefined ? { options: to.options } : {}),
    ...(to.statistics !== undefined ? { statistics: to.statistics } : {}),
    ...(to.storage !== undefined ? { storage: to.storage } : {}),
    ...(to.compression !== undefined ? { compression: to.compression } : {}),
  };
  const sql = [addColumnSql(table, added, { schemas: ctx.schemas }), ...columnPropertiesSql(table, added)];
  if (helper !== undefined) sql.push(addConstraintSql(table, checkSql(helper, true)));
  if (s.spec.oldWrites !== undefined) sql.push(...createOldWritesSql(s.spec.oldWrites));
  sql.push(...createSyncTriggerSql({ ...s.spec, conv, rev }));
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `add column ${qualified(table.schema, table.name)}.${newName} ${r.rename ? `(${from.name} renamed)` : `(${to.type} shadow of ${from.name})`}` +
        `${helper !== undefined ? `, check ${helper.name} NOT VALID` : ''} and the two-way sync trigger ${s.spec.name}` +
        (explicit.length > 0 ? ` (${explicit.join('; ')})` : ''),
      sql,
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) =>
      mapTable(m, table, (x) => ({
        ...x,
        columns: [...x.columns, added],
        checks: helper === undefined ? x.checks : [...x.checks, helper],
      })),
    [tableTouch(table)],
  );
  return to.using ?? castSql(from.name, typeChanged ? to.type : undefined);
}

/** Backfill: old → new where the new column is still NULL, then validate the helper check. */
function backfillSteps(s: ColumnScope, live: Table, conversion: string): void {
  const { ctx, change, r, helper } = s;
  const { table } = change;
  const newName = r.names.shadow;
  const userTriggers = ctx.userTriggersOn(table);
  const hazards: Hazard[] = userTriggers.length > 0 ? ['fires-user-triggers'] : [];
  // Only rows no write has touched since expand: every write since then went through the trigger,
  // which left the new column set (from the old one, or as the new application version wrote it).
  // "Where they differ" would overwrite such a write whenever using(reverse(x)) is not x (a lossy
  // `reverse`, or both columns written on purpose).
  const where = notCopiedSql(newName, conversion);
  ctx.backfilledColumns.add(`${qualified(table.schema, table.name)}.${newName}`);
  ctx.add(
    at.backfill('data'),
    {
      kind: 'backfill',
      summary:
        `backfill ${qualified(table.schema, table.name)}.${newName} = ${conversion} where it is still NULL, in batches` +
        (userTriggers.length > 0 ? `; fires trigger(s) ${userTriggers.map((x) => x.name).join(', ')}` : ''),
      table: { schema: table.schema, name: table.name },
      set: { [newName]: conversion },
      where,
      batchSize: ctx.input.batchSize,
      sql: [replaceBatchSql({ table, column: newName, expression: conversion, where, key: live.primaryKey?.columns })],
      transaction: false,
      locks: [lock(table, 'ROW EXCLUSIVE')],
      hazards,
    },
    (m) => m,
    [tableTouch(table)],
  );
  if (helper !== undefined) {
    planValidation(ctx, at.backfill('validateChecks'), table, {
      kind: 'check',
      name: helper.name,
      summary: `validate check ${helper.name} on ${qualified(table.schema, table.name)} (proves ${newName} has no NULLs)`,
    });
  }
}

/** Contract: one transaction that swaps the new column in; then the re-added foreign keys are validated. */
function contractSteps(s: ColumnScope, carry: Carry): void {
  const { ctx, change, r, helper } = s;
  const { table, from, to } = change;
  const { rename } = r;
  const newName = r.names.shadow;
  const finalName = to.name;
  const sql: string[] = [];
  // Policies that read the old column (of the table, or of another table through a subquery),
  // triggers of the table whose UPDATE OF or WHEN names it, and SQL-standard bodies that read it (on
  // a type change those the desired state has over the column too): PostgreSQL refuses to drop the
  // column under them. Dropped (a body: emptied) here, created again on the new column below.
  // SQL-standard bodies that the desired state keeps over the column are replaced in a step of their
  // own before this one (see replaceRoutinesBeforeSwap): they read the new column by then.
  const replaced = replaceRoutinesBeforeSwap(ctx, table, from.name, rename ? undefined : newName);
  const deps = rebuildColumnDependents(ctx, table, from.name, 'contract', rename ? undefined : to.name, replaced);
  // Views that read the old column keep reading it (in sync) until here; PostgreSQL refuses to drop
  // it under them: they are dropped, and created again on the new column once it has its name. On
  // a type change the desired state's views over the column are among them (created or replaced in
  // expand, they read the old column of that name). Dropped first, before the table is locked: a
  // query of a view locks the view, then its tables; locking the table first would wait for the view's
  // readers while they wait for the table, until the lock timeout (every try, on a busy view).
  const viewStarts = [
    ...viewsReading(ctx, table, from.name),
    ...(rename
      ? []
      : ctx.desiredGraph
          .dependentsOf(objectKey('table', table.schema, table.name), to.name)
          .filter((k) => findViewLike(ctx.desired, k) !== undefined)),
  ];
  const views = rebuildViews(ctx, viewStarts, 'contract');
  sql.push(...(views?.drop ?? []));
  const policyTables = deps?.lockFirst ?? [];
  if (carry.touches.length > 0 || policyTables.length > 0) {
    // The application locks a referencing table (its INSERT) before the referenced one (the foreign
    // key's KEY SHARE row lock), and a table before what its policies' subqueries read (the
    // rewriter adds them): taking them in the same order, up front, cannot deadlock with it.
    const order = [...policyTables, ...carry.touches.map((x) => ({ schema: x.schema!, name: x.name })), table];
    sql.push(lockTablesSql(order, 'ACCESS EXCLUSIVE'));
  }
  sql.push(...dropSyncTriggerSql(s.spec));
  const tracking = s.spec.oldWrites;
  if (tracking !== undefined) sql.push(...dropOldWritesSql(tracking));
  // Sequences the old column owns would be dropped with it (serial columns): they move first.
  const owned = r.ownedSequences;
  for (const q of owned) sql.push(setOwnedBySql(q, { schema: table.schema, table: table.name, column: newName }));
  // NOT NULL before the old column goes: an identity column and a PRIMARY KEY USING INDEX need it.
  if (helper !== undefined) {
    sql.push(setNotNullSql(table, newName));
    sql.push(dropConstraintSql(table, helper.name));
  }
  if (r.identityMoves && to.identity !== undefined) {
    // The identity moves: the new column gets its own sequence, started where the old one is (the
    // old sequence goes with the old column).
    sql.push(addIdentitySql(table, newName, to));
    sql.push(identityContinueSql(table, from.name, newName));
  }
  sql.push(...carry.before);
  sql.push(...(deps?.before ?? []));
  sql.push(dropColumnSql(table, from.name));
  if (!rename) sql.push(renameColumnSql(table, newName, finalName));
  if (!rename && helper !== undefined) {
    sql.push(
      renameNotNullConstraintSql(
        table,
        makeObjectName(table.name, newName, 'not_null'),
        makeObjectName(table.name, finalName, 'not_null'),
      ),
    );
  }
  if (to.default !== undefined) sql.push(setDefaultSql(table, finalName, to.default));
  sql.push(...carry.after);
  if (!rename && to.comment !== undefined) {
    sql.push(commentSql({ kind: 'column', schema: table.schema, table: table.name, column: finalName }, to.comment));
  }
  sql.push(...(views?.create ?? []), ...(deps?.after ?? []));
  const swapEdit: ModelEdit = (m) =>
    mapTable(m, table, (x) => {
      const current = x.columns.find((c) => c.name === newName);
      const final: Column = withOptional(withoutDirectives(to), 'comment', rename ? current?.comment : to.comment);
      return {
        ...x,
        columns: [...x.columns.filter((c) => c.name !== from.name && c.name !== newName), final],
        checks: helper === undefined ? x.checks : removeNamed(x.checks, helper.name),
      };
    });
  const swap = sqlStep(
    (rename
      ? `drop the sync trigger and column ${qualified(table.schema, table.name)}.${from.name} (renamed to ${finalName}, its data is in ${finalName})` +
        (helper !== undefined ? `; SET NOT NULL (no scan: ${helper.name} is validated)` : '')
      : `swap ${qualified(table.schema, table.name)}.${newName} (${to.type}) in for ${from.name} (${from.type}): drop the sync trigger and the old column, rename, carry indexes, constraints, default and sequences over`) +
      (views ? `; ${views.note}` : '') +
      (deps ? `; ${deps.note}` : ''),
    sql,
    {
      // The triggers' own locks (ACCESS EXCLUSIVE and weaker, on the table) are the swap's; the
      // policies' are on their tables, and on what their subqueries read.
      locks: [lock(table, 'ACCESS EXCLUSIVE'), ...carry.locks, ...(views?.locks ?? []), ...(deps?.locks ?? [])],
      hazards: views?.hazards ?? [],
    },
  );
  ctx.add(
    at.contract('dropColumns'),
    tracking === undefined
      ? swap
      : {
          ...swap,
          oldWrites: {
            table: { schema: table.schema, name: table.name },
            column: from.name,
            newColumn: finalName,
            sequence: { schema: tracking.schema, name: tracking.name },
          },
        },
    chain(
      swapEdit,
      ...carry.edits,
      (m) => moveOwnership(m, owned, finalName),
      views?.edit ?? ((m) => m),
      deps?.edit ?? ((m) => m),
    ),
    [
      tableTouch(table),
      ...carry.touches,
      ...owned.map((q): Touch => ({ kind: 'sequence', schema: q.schema, name: q.name })),
      ...(views?.touches ?? []),
      ...(deps?.touches ?? []),
    ],
  );
  for (const { table: child, fk } of carry.revalidate) {
    planValidation(ctx, at.contract('dropColumns'), child, {
      kind: 'foreignKey',
      name: fk.name,
      summary: `validate foreign key ${fk.name} on ${qualified(child.schema, child.name)} (re-added NOT VALID by the swap)`,
      locks: [
        lock(child, 'SHARE UPDATE EXCLUSIVE', 'scan'),
        lock({ schema: fk.references.schema, name: fk.references.table }, 'ROW SHARE'),
      ],
    });
  }
}

/**
 * A virtual generated column (PostgreSQL 18) stores nothing: `ALTER COLUMN … TYPE` changes the
 * catalog only (no rewrite, same relfilenode; ACCESS EXCLUSIVE for an instant). PostgreSQL refuses
 * it when the expression's type has no assignment cast to the new type, at apply time, in the
 * step's own transaction.
 */
export function virtualTypeChangeStep(ctx: PlanContext, ch: ReplaceColumn): void {
  const { table, from, to } = ch;
  const display = `${qualified(table.schema, table.name)}.${to.name}`;
  ctx.add(
    at.expand('columns'),
    sqlStep(
      `change type of ${display} ${from.type} → ${to.type} (a virtual generated column: catalog only, no rewrite)`,
      [columnTypeSql(table, to.name, displayType(to.type))],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')] },
    ),
    (m) => mapColumn(m, table, from.name, (c) => ({ ...c, type: to.type })),
    [tableTouch(table)],
  );
}

function moveOwnership(
  m: DatabaseModel,
  owned: readonly { schema: string; name: string }[],
  column: string,
): DatabaseModel {
  if (owned.length === 0) return m;
  const keys = new Set(owned.map((q) => `${q.schema}.${q.name}`));
  return {
    ...m,
    schemas: m.schemas.map((s) => ({
      ...s,
      sequences: s.sequences.map((q) =>
        keys.has(`${q.schema}.${q.name}`) && q.ownedBy ? { ...q, ownedBy: { ...q.ownedBy, column } } : q,
      ),
    })),
  };
}

/**
 * `<table>_<column>_zdm_sync`: the name of the trigger and of its function. Not a name a live
 * function or trigger has, nor one this plan made (relation names share the counter: harmless).
 */
function freshFunctionName(ctx: PlanContext, table: RelationRef, column: string): string {
  const taken = new Set<string>([
    ...(ctx.live.dependents?.functions ?? []).filter((x) => x.schema === table.schema).map((x) => x.name),
    ...ctx.userTriggersOn(table).map((x) => x.name),
  ]);
  for (;;) {
    const name = ctx.freshName(table.schema, [table.name, column], 'zdm_sync');
    if (!taken.has(name)) return name;
    taken.add(freshName([table.name, column], 'zdm_sync', taken));
  }
}
