/**
 * Keys and constraints of existing tables.
 *
 * - CHECK and FOREIGN KEY: `ADD … NOT VALID` (expand; new rows are checked from then on), then
 *   `VALIDATE CONSTRAINT` in its own transaction (backfill) under SHARE UPDATE EXCLUSIVE, which lets
 *   reads and writes go on while it scans.
 * - A changed check or foreign key keeps its name: the old one is dropped and the new one added NOT
 *   VALID in one expand transaction. Adding the new one under a temporary name next to the old one
 *   would hold writes to both rules at once (the new application version, deployed after expand,
 *   could fail the old rule) and need a rename in contract; replacing it at once leaves only a window
 *   where existing rows are unchecked until backfill validates them: the `not-validated` hazard says so.
 * - PRIMARY KEY and UNIQUE: `CREATE UNIQUE INDEX CONCURRENTLY` (expand), then `ADD CONSTRAINT …
 *   USING INDEX` (ACCESS EXCLUSIVE, instant). A primary key waits for contract when one of its
 *   columns goes through the NOT NULL recipe (SET NOT NULL first), and so does the swap of a changed
 *   key (drop old + add new in one transaction). When the name is taken, the index is built under a
 *   fresh name: USING INDEX renames it to the constraint's name, so when a live index or constraint
 *   that the plan drops holds the name, the key is added in contract after that drop; a live unique
 *   index of the key's name and definition is taken over instead (`adoptableIndex`); a name the
 *   desired state keeps elsewhere is refused at plan time.
 * - PRIMARY KEY and UNIQUE on a partitioned table with rows: per partition CONCURRENTLY + the
 *   partition's constraint USING INDEX, then the parent's ADD CONSTRAINT attaches them
 *   (`planPartitionedKey`).
 * - EXCLUDE has no online technique: it builds its index under ACCESS EXCLUSIVE.
 */
import type {
  AddCheck,
  AddExclusion,
  AddForeignKey,
  AddPrimaryKey,
  AddUnique,
  DropCheck,
  DropExclusion,
  DropForeignKey,
  DropPrimaryKey,
  DropUnique,
  RelationRef,
  ValidateCheck,
  ValidateForeignKey,
} from '../../diff/changes.js';
import { stableStringify } from '../../model/canonical.js';
import { indexColumnNames, qualified, qualifiedRef } from '../../model/names.js';
import type { DatabaseModel, ForeignKey, Index, Partition, PrimaryKey, UniqueConstraint } from '../../model/types.js';
import { constraintCommentsSql } from '../../sql/comments.js';
import {
  addConstraintSql,
  addKeyUsingIndexSql,
  checkSql,
  dropConstraintSql,
  exclusionSql,
  foreignKeySql,
  primaryKeySql,
  uniqueSql,
} from '../../sql/constraints.js';
import { createIndexSql } from '../../sql/indexes.js';
import { at, lock, type Placement, type PlanContext, type Relation, sqlStep, tableTouch } from '../context.js';
import { mapRelation, omit, removeNamed, upsert } from '../model-edit.js';
import type { Hazard, LockInfo } from '../types.js';
import { notNullAfterExpand } from './columns.js';
import { planValidation } from './validate.js';

// ---------------------------------------------------------------------------------------------
// CHECK

export function planAddCheck(ctx: PlanContext, ch: AddCheck): void {
  const { table, check } = ch;
  // A new relation gets its checks in its creation step (tables.ts).
  if (ctx.isNew(table)) return;
  const sql: string[] = [];
  const locks = [lock(table, 'ACCESS EXCLUSIVE')];
  const hazards: Hazard[] = [];
  if (ch.replaces) {
    sql.push(dropConstraintSql(table, check.name));
    hazards.push('not-validated');
  }
  sql.push(addConstraintSql(table, checkSql(check, true)), ...constraintCommentsSql(table, [check]));
  if (!check.valid) hazards.push('not-validated');
  ctx.add(
    at.expand('checks'),
    sqlStep(
      ch.replaces
        ? `replace check ${check.name} on ${qualifiedRef(table)}: ${check.expression} NOT VALID (existing rows unchecked until backfill validates)`
        : `add check ${check.name} on ${qualifiedRef(table)}: ${check.expression} NOT VALID`,
      sql,
      { locks, hazards },
    ),
    (m) => mapRelation(m, table, (r) => ({ ...r, checks: upsert(r.checks, { ...check, valid: false }) })),
    [tableTouch(table)],
  );
  if (check.valid) planValidateCheck(ctx, { kind: 'validateCheck', table, check });
}

export function planValidateCheck(ctx: PlanContext, ch: ValidateCheck): void {
  const { table, check } = ch;
  planValidation(ctx, at.backfill('validateChecks'), table, {
    kind: 'check',
    name: check.name,
    summary: `validate check ${check.name} on ${qualifiedRef(table)}`,
  });
}

export function planDropCheck(ctx: PlanContext, ch: DropCheck): void {
  if (ch.replacedBy || ctx.desiredRelation(ch.table) === undefined) return;
  dropConstraint(ctx, ch.table, ch.check.name, 'check', [], (r) => ({
    ...r,
    checks: removeNamed(r.checks, ch.check.name),
  }));
}

// ---------------------------------------------------------------------------------------------
// FOREIGN KEY

function fkLocks(table: RelationRef, fk: ForeignKey, mode: LockInfo['mode'], hold: LockInfo['hold']): LockInfo[] {
  return [lock(table, mode, hold), lock({ schema: fk.references.schema, name: fk.references.table }, mode, hold)];
}

export function planAddForeignKey(ctx: PlanContext, ch: AddForeignKey): void {
  const { table, foreignKey: fk } = ch;
  const ref: RelationRef = { schema: fk.references.schema, name: fk.references.table };
  const touches = [tableTouch(table), tableTouch(ref)];
  if (ctx.isRecreatedInContract(table)) {
    // A partition recreated empty in contract: checking its (no) rows is instant.
    ctx.add(
      at.contract('addPartitions'),
      sqlStep(
        `add foreign key ${fk.name} on ${qualifiedRef(table)} → ${qualifiedRef(ref)}`,
        [addConstraintSql(table, foreignKeySql(fk, !fk.valid)), ...constraintCommentsSql(table, [fk])],
        {
          locks: fkLocks(table, fk, 'SHARE ROW EXCLUSIVE', 'instant'),
          hazards: fk.valid ? [] : ['not-validated'],
        },
      ),
      (m) => mapRelation(m, table, (r) => ({ ...r, foreignKeys: upsert(r.foreignKeys, fk) })),
      touches,
    );
    return;
  }
  if (!ctx.hasIndexLeadingWith(table, fk.columns)) {
    ctx.warn(
      `foreign key ${fk.name} on ${qualifiedRef(table)} has no index on (${fk.columns.join(', ')}): ` +
        `every DELETE or key UPDATE on ${qualifiedRef(ref)} scans ${qualifiedRef(table)}; consider adding one to the desired state`,
    );
  }
  // PostgreSQL 17 and older refuse NOT VALID foreign keys on partitioned tables: the key is added
  // validated, which scans while holding SHARE ROW EXCLUSIVE (writes wait).
  const noNotValid = ctx.isPartitioned(table) && ctx.input.serverMajor < 18;
  const sql: string[] = [];
  const hazards: Hazard[] = [];
  let locks = fkLocks(table, fk, 'SHARE ROW EXCLUSIVE', 'instant');
  if (ch.replaces) {
    sql.push(dropConstraintSql(table, fk.name));
    locks = [...fkLocks(table, ch.replaces, 'ACCESS EXCLUSIVE', 'instant'), ...locks];
    if (!noNotValid) hazards.push('not-validated');
  }
  if (noNotValid) {
    const empty = ctx.isEmpty(table);
    sql.push(addConstraintSql(table, foreignKeySql(fk, false)), ...constraintCommentsSql(table, [fk]));
    if (!empty) hazards.push('blocks-writes');
    ctx.add(
      at.expand('foreignKeys'),
      sqlStep(
        `${ch.replaces ? 'replace' : 'add'} foreign key ${fk.name} on ${qualifiedRef(table)} → ${qualifiedRef(ref)}` +
          (empty
            ? ''
            : ` (validated at once: PostgreSQL < 18 has no NOT VALID foreign keys on partitioned tables; ` +
              `the check scans ${qualifiedRef(table)} holding SHARE ROW EXCLUSIVE, writes wait)`),
        sql,
        {
          locks: [
            ...locks.filter((l) => l.mode === 'ACCESS EXCLUSIVE'),
            ...fkLocks(table, fk, 'SHARE ROW EXCLUSIVE', empty ? 'instant' : 'scan'),
          ],
          hazards,
        },
      ),
      (m) => mapRelation(m, table, (r) => ({ ...r, foreignKeys: upsert(r.foreignKeys, { ...fk, valid: true }) })),
      touches,
    );
    return;
  }
  sql.push(addConstraintSql(table, foreignKeySql(fk, true)), ...constraintCommentsSql(table, [fk]));
  if (!fk.valid) hazards.push('not-validated');
  ctx.add(
    at.expand('foreignKeys'),
    sqlStep(
      `${ch.replaces ? 'replace' : 'add'} foreign key ${fk.name} on ${qualifiedRef(table)} → ${qualifiedRef(ref)} NOT VALID`,
      sql,
      {
        locks,
        hazards,
      },
    ),
    (m) => mapRelation(m, table, (r) => ({ ...r, foreignKeys: upsert(r.foreignKeys, { ...fk, valid: false }) })),
    touches,
  );
  if (fk.valid) planValidateForeignKey(ctx, { kind: 'validateForeignKey', table, foreignKey: fk });
}

export function planValidateForeignKey(ctx: PlanContext, ch: ValidateForeignKey): void {
  const { table, foreignKey: fk } = ch;
  const ref: RelationRef = { schema: fk.references.schema, name: fk.references.table };
  planValidation(ctx, at.backfill('validateForeignKeys'), table, {
    kind: 'foreignKey',
    name: fk.name,
    summary: `validate foreign key ${fk.name} on ${qualifiedRef(table)} → ${qualifiedRef(ref)}`,
    locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan'), lock(ref, 'ROW SHARE', 'scan')],
    touches: [tableTouch(table), tableTouch(ref)],
  });
}

export function planDropForeignKey(ctx: PlanContext, ch: DropForeignKey): void {
  const { table, foreignKey: fk } = ch;
  if (ch.replacedBy || ctx.desiredRelation(table) === undefined) return;
  const ref: RelationRef = { schema: fk.references.schema, name: fk.references.table };
  ctx.add(
    at.contract('dropForeignKeys'),
    sqlStep(
      `drop foreign key ${fk.name} on ${qualifiedRef(table)} → ${qualifiedRef(ref)}`,
      [dropConstraintSql(table, fk.name)],
      {
        locks: fkLocks(table, fk, 'ACCESS EXCLUSIVE', 'instant'),
      },
    ),
    (m) => mapRelation(m, table, (r) => ({ ...r, foreignKeys: removeNamed(r.foreignKeys, fk.name) })),
    [tableTouch(table), tableTouch(ref)],
  );
}

// ---------------------------------------------------------------------------------------------
// PRIMARY KEY and UNIQUE

type Key =
  | { readonly kind: 'primaryKey'; readonly key: PrimaryKey }
  | { readonly kind: 'unique'; readonly key: UniqueConstraint };

function keyIndex(k: Key, indexName: string): Index {
  return {
    kind: 'index',
    name: indexName,
    unique: true,
    method: 'btree',
    keys: k.key.columns.map((column) => ({ column, descending: false })),
    include: k.key.include,
    nullsNotDistinct: k.kind === 'unique' ? k.key.nullsNotDistinct : false,
    valid: true,
  };
}

function planAddKey(
  ctx: PlanContext,
  table: RelationRef,
  k: Key,
  replaces: PrimaryKey | UniqueConstraint | undefined,
): void {
  const label = k.kind === 'primaryKey' ? 'primary key' : 'unique constraint';
  const touches = [tableTouch(table)];
  if (replaces) {
    // A foreign key that stays needs the old key until it is dropped: PostgreSQL refuses the swap.
    const users = foreignKeysOn(ctx, table, replaces.columns);
    if (users.length > 0) {
      ctx.issue(
        `${label} ${replaces.name} on ${qualifiedRef(table)}`,
        `replacing it is not supported yet while ${users.join(', ')} reference${users.length === 1 ? 's' : ''} it: ` +
          'drop the foreign key in one plan and add it back in the next',
      );
      return;
    }
  }
  const setKey = (r: Parameters<Parameters<typeof mapRelation>[2]>[0]) =>
    k.kind === 'primaryKey'
      ? { ...r, primaryKey: k.key }
      : { ...r, uniqueConstraints: upsert(removeNamed(r.uniqueConstraints, replaces?.name ?? ''), k.key) };
  const dropOld = replaces ? [dropConstraintSql(table, replaces.name)] : [];
  const hazards: Hazard[] = replaces ? ['unique-scope-change'] : [];
  const waitForNotNull = k.kind === 'primaryKey' && k.key.columns.some((c) => !notNullAfterExpand(ctx, table, c));
  const place: Placement = replaces || waitForNotNull ? at.contract('keys') : at.expand('keys');
  const constraintSql = k.kind === 'primaryKey' ? primaryKeySql(k.key) : uniqueSql(k.key);

  if (ctx.isPartitioned(table)) {
    if (replaces === undefined && !ctx.isEmpty(table)) {
      planPartitionedKey(ctx, table, k, place, setKey);
      return;
    }
    // Empty: nothing to build. A replaced key: the old one must go in the same transaction, and
    // USING INDEX is not available on partitioned tables: the constraint builds its indexes itself,
    // holding ACCESS EXCLUSIVE on the table for the whole build.
    const empty = ctx.isEmpty(table);
    ctx.add(
      place,
      sqlStep(
        `${replaces ? 'replace' : 'add'} ${label} ${k.key.name} on ${qualifiedRef(table)}` +
          (empty
            ? ''
            : ' (no online technique for a changed key on a partitioned table: builds its index under ACCESS EXCLUSIVE, reads and writes wait)'),
        [...dropOld, addConstraintSql(table, constraintSql), ...constraintCommentsSql(table, [k.key])],
        {
          locks: [lock(table, 'ACCESS EXCLUSIVE', empty ? 'instant' : 'scan'), ...partitionKeyLocks(ctx, table)],
          hazards: empty ? hazards : [...hazards, 'blocks-reads'],
        },
      ),
      (m) => mapRelation(m, table, setKey),
      touches,
    );
    return;
  }

  // A live unique index of the key's name and definition that the desired state drops: the key
  // takes it over (USING INDEX), nothing is built or dropped.
  if (!replaces && adoptableIndex(ctx, table, k.key.name) !== undefined) {
    ctx.add(
      place,
      sqlStep(
        `add ${label} ${k.key.name} on ${qualifiedRef(table)} using its existing index ${k.key.name}`,
        [addKeyUsingIndexSql(table, k.key, k.key.name), ...constraintCommentsSql(table, [k.key])],
        { locks: [lock(table, 'ACCESS EXCLUSIVE')], hazards },
      ),
      (m) => mapRelation(m, table, (r) => ({ ...setKey(r), indexes: removeNamed(r.indexes, k.key.name) })),
      touches,
    );
    return;
  }

  // An INVALID index under the key's name is what a failed earlier build left: apply drops it before
  // building again (concurrentIndex), so the name is free for the build.
  const leftover = isLeftoverOfKey(ctx, table, k.key.name);
  const indexName =
    ctx.isTakenLive(table.schema, k.key.name) && !leftover
      ? ctx.freshName(table.schema, [k.key.name], 'new')
      : k.key.name;
  // USING INDEX renames the new index to the key's name: when a live index or constraint that this
  // plan drops holds that name, the key waits until contract has dropped it.
  const holder = replaces || leftover ? undefined : nameHolder(ctx, table, k.key.name);
  let keyPlace = place;
  if (holder !== undefined) {
    if (holder.kept) {
      ctx.issue(
        `${label} ${k.key.name} on ${qualifiedRef(table)}`,
        `the name is taken by ${holder.what}, which the desired state keeps: PostgreSQL would refuse the key; rename one of them`,
      );
      return;
    }
    keyPlace = at.contract('keysAfterDrops');
  }
  const index = keyIndex(k, indexName);
  ctx.add(
    at.expand('indexes'),
    sqlStep(
      `build unique index ${indexName} on ${qualifiedRef(table)} (${k.key.columns.join(', ')}) for ${label} ${k.key.name}`,
      [createIndexSql(table, index, { concurrently: true, schemas: ctx.schemas })],
      {
        transaction: false,
        locks: [lock(table, 'SHARE UPDATE EXCLUSIVE', 'scan')],
        concurrentIndex: { schema: table.schema, name: indexName },
      },
    ),
    (m) => mapRelation(m, table, (r) => ({ ...r, indexes: upsert(r.indexes, index) })),
    touches,
  );
  const using = addKeyUsingIndexSql(table, k.key, indexName);
  ctx.add(
    keyPlace,
    sqlStep(
      `${replaces ? `swap ${label} ${replaces.name} for` : 'add'} ${label} ${k.key.name} on ${qualifiedRef(table)} using index ${indexName}` +
        (holder === undefined ? '' : ` (after ${holder.what} is dropped: the name is free only then)`),
      [...dropOld, using, ...constraintCommentsSql(table, [k.key])],
      { locks: [lock(table, 'ACCESS EXCLUSIVE')], hazards },
    ),
    (m) =>
      mapRelation(m, table, (r) => ({
        ...setKey(r),
        indexes: removeNamed(r.indexes, indexName),
      })),
    touches,
  );
}

/**
 * A primary or unique key added to a partitioned table with rows, without building under ACCESS
 * EXCLUSIVE. PostgreSQL refuses `CREATE INDEX CONCURRENTLY` on a partitioned table and `ADD
 * CONSTRAINT … USING INDEX` on one, and `ADD CONSTRAINT` on the parent attaches a partition's index
 * only when a constraint of the partition is behind it (a plain unique index is not taken: it builds
 * another). So, per partition (recursively): the unique index `CONCURRENTLY` (expand, SHARE UPDATE
 * EXCLUSIVE), the partition's constraint `USING INDEX` (ACCESS EXCLUSIVE on the partition, instant);
 * then `ADD CONSTRAINT` on the parent finds every partition's constraint and attaches it instead of
 * building: ACCESS EXCLUSIVE on the parent, and on each partition SHARE (PostgreSQL 14–17) or ACCESS
 * EXCLUSIVE (18), for an instant. A sub-partitioned partition gets its constraint the same way as
 * the parent, once its own partitions have theirs. Each partition's index and constraint get the
 * name PostgreSQL gives them when the key is added by hand (`m_1_pkey`, `m_1_tenant_v_key`).
 */
function planPartitionedKey(
  ctx: PlanContext,
  table: RelationRef,
  k: Key,
  place: Placement,
  setKey: Parameters<typeof mapRelation>[2],
): void {
  const label = k.kind === 'primaryKey' ? 'primary key' : 'unique constraint';
  const touches = [tableTouch(table)];
  const columnNames = indexColumnNames(
    k.key.columns.map((column) => ({ column, descending: false })),
    k.key.include,
  );
  const visit = (parent: RelationRef): void => {
    for (const p of ctx.partitionsDuringExpand(parent)) {
      const part: RelationRef = { schema: p.schema, name: p.name };
      const name = ctx.pgIndexName(p.schema, p.name, columnNames, k.kind === 'primaryKey' ? 'pkey' : 'key');
      const partKey = { ...k, key: { ...k.key, name } } as Key;
      if (p.partitionBy !== undefined) {
        visit(part);
        ctx.add(
          place,
          sqlStep(
            `add ${label} ${name} on ${qualifiedRef(part)} for ${k.key.name} (attaches its partitions' constraints, builds nothing)`,
            [
              addConstraintSql(
                part,
                partKey.kind === 'primaryKey' ? primaryKeySql(partKey.key) : uniqueSql(partKey.key),
              ),
            ],
            { locks: [lock(part, 'ACCESS EXCLUSIVE'), ...partitionKeyLocks(ctx, part)] },
          ),
          (m) => m,
          touches,
        );
        continue;
      }
      const index = keyIndex(partKey, name);
      ctx.add(
        at.expand('indexes'),
        sqlStep(
          `build unique index ${name} on partition ${qualifiedRef(part)} (${k.key.columns.join(', ')}) for ${label} ${k.key.name}`,
          [createIndexSql(part, index, { concurrently: true, schemas: ctx.schemas })],
          {
            transaction: false,
            locks: [lock(part, 'SHARE UPDATE EXCLUSIVE', 'scan')],
            concurrentIndex: { schema: p.schema, name },
          },
        ),
        (m) => mapRelation(m, part, (r) => ({ ...r, indexes: upsert(r.indexes, index) })),
        touches,
      );
      ctx.add(
        place,
        sqlStep(
          `add ${label} ${name} on partition ${qualifiedRef(part)} using index ${name}, for ${k.key.name}`,
          [addKeyUsingIndexSql(part, partKey.key, name)],
          { locks: [lock(part, 'ACCESS EXCLUSIVE')] },
        ),
        // Attached to the parent's key in this same group, after which the model does not show it.
        (m) => mapRelation(m, part, (r) => ({ ...r, indexes: removeNamed(r.indexes, name) })),
        touches,
      );
    }
  };
  visit(table);
  ctx.add(
    place,
    sqlStep(
      `add ${label} ${k.key.name} on ${qualifiedRef(table)} (attaches every partition's constraint, builds nothing)`,
      [
        addConstraintSql(table, k.kind === 'primaryKey' ? primaryKeySql(k.key) : uniqueSql(k.key)),
        ...constraintCommentsSql(table, [k.key]),
      ],
      { locks: [lock(table, 'ACCESS EXCLUSIVE'), ...partitionKeyLocks(ctx, table)] },
    ),
    (m) => mapRelation(m, table, setKey),
    touches,
  );
}

/**
 * The locks `ADD CONSTRAINT` of a key on a partitioned table takes on its partitions (measured on
 * PostgreSQL 14–18, docs/techniques.md): SHARE, ACCESS EXCLUSIVE from PostgreSQL 18 on.
 */
function partitionKeyLocks(ctx: PlanContext, table: RelationRef): LockInfo[] {
  const mode = ctx.input.serverMajor >= 18 ? 'ACCESS EXCLUSIVE' : 'SHARE';
  const out: LockInfo[] = [];
  const visit = (parent: RelationRef): void => {
    for (const p of ctx.partitionsDuringExpand(parent)) {
      out.push(lock({ schema: p.schema, name: p.name }, mode));
      visit({ schema: p.schema, name: p.name });
    }
  };
  visit(table);
  return out;
}

/**
 * The live index of `table` named `name` that a new primary or unique key of that name can take over
 * with `ADD CONSTRAINT … USING INDEX`: valid, unique, btree, over exactly the key's columns in
 * ascending order with default collation and operator class, the same INCLUDE columns and NULLS
 * [NOT] DISTINCT, no predicate, no storage parameters and no comment (which the constraint would
 * keep unseen), and not kept as an index by the desired state.
 */
export function adoptableIndex(ctx: PlanContext, table: RelationRef, name: string): Index | undefined {
  const live = ctx.liveRelation(table)?.indexes.find((i) => i.name === name);
  const desired = ctx.desiredRelation(table);
  if (live === undefined || desired === undefined || desired.indexes.some((i) => i.name === name)) return undefined;
  // USING INDEX is refused on a partitioned table.
  if (ctx.isPartitioned(table)) return undefined;
  const key: Key | undefined =
    desired.primaryKey?.name === name
      ? { kind: 'primaryKey', key: desired.primaryKey }
      : mapDefined(
          desired.uniqueConstraints.find((u) => u.name === name),
          (key) => ({ kind: 'unique', key }),
        );
  if (key === undefined || !live.valid || live.comment !== undefined || live.with !== undefined) return undefined;
  if (key.key.deferrable) return undefined; // a deferrable key's index is not the immediate one PostgreSQL checks with
  const want = keyIndex(key, name);
  const same = (a: Index) =>
    stableStringify([a.unique, a.method, a.keys, a.include, a.where ?? null, a.nullsNotDistinct]);
  return same(live) === same(want) ? live : undefined;
}

function mapDefined<T, U>(x: T | undefined, f: (x: T) => U): U | undefined {
  return x === undefined ? undefined : f(x);
}

/**
 * What holds `name` live where a key of `table` named so would clash: a relation or index of the
 * schema (an index takes the key's name), or a constraint of the table; and whether the desired state
 * keeps it (then no plan can add the key).
 */
function nameHolder(
  ctx: PlanContext,
  table: RelationRef,
  name: string,
): { readonly what: string; readonly kept: boolean } | undefined {
  const live = ctx.liveRelation(table);
  const desired = ctx.desiredRelation(table);
  if (live === undefined || desired === undefined) return undefined;
  const constraintNames = (r: typeof live) => [
    ...(r.primaryKey ? [r.primaryKey.name] : []),
    ...r.uniqueConstraints.map((x) => x.name),
    ...r.checks.map((x) => x.name),
    ...r.foreignKeys.map((x) => x.name),
    ...r.exclusionConstraints.map((x) => x.name),
  ];
  if (live.indexes.some((i) => i.name === name)) {
    return { what: `index ${qualified(table.schema, name)}`, kept: desired.indexes.some((i) => i.name === name) };
  }
  if (constraintNames(live).includes(name)) {
    // The desired state gives the name to the new key: the live constraint of that name is dropped.
    return { what: `constraint ${name} on ${qualifiedRef(table)}`, kept: false };
  }
  // Another relation of the schema, or the index of another table's key.
  const other = relationNamed(ctx.live, table.schema, name, table);
  if (other === undefined) return undefined;
  return { what: other, kept: relationNamed(ctx.desired, table.schema, name, table) !== undefined };
}

/**
 * What in `schema` of model `m` is a relation named `name` (a table, partition, sequence, view,
 * materialized view, an index, or the index of a primary, unique or exclusion key), other than the
 * keys and indexes of `except`; undefined when nothing is.
 */
function relationNamed(m: DatabaseModel, schema: string, name: string, except: RelationRef): string | undefined {
  const q = qualified(schema, name);
  const inParts = (s: string, r: Relation): string | undefined => {
    if (s === schema && r.name === name) return `${r.kind === 'partition' ? 'partition' : 'table'} ${q}`;
    const self = s === except.schema && r.name === except.name;
    if (s === schema && !self) {
      const keys = [...(r.primaryKey ? [r.primaryKey] : []), ...r.uniqueConstraints, ...r.exclusionConstraints];
      if (keys.some((k) => k.name === name)) return `the index of constraint ${name} on ${qualified(s, r.name)}`;
      if (r.indexes.some((i) => i.name === name)) return `index ${q} on ${qualified(s, r.name)}`;
    }
    for (const p of r.partitions) {
      const found = inParts(p.schema, p);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const sm of m.schemas) {
    if (sm.name === schema) {
      if (sm.sequences.some((x) => x.name === name)) return `sequence ${q}`;
      if (sm.views.some((x) => x.name === name)) return `view ${q}`;
      for (const v of sm.materializedViews) {
        if (v.name === name) return `materialized view ${q}`;
        if (v.indexes.some((i) => i.name === name)) return `index ${q} on ${qualified(schema, v.name)}`;
      }
    }
    for (const t of sm.tables) {
      const found = inParts(sm.name, t);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Foreign keys, live and kept in the desired state, whose referenced columns are exactly `columns` of `table`. */
function foreignKeysOn(ctx: PlanContext, table: RelationRef, columns: readonly string[]): string[] {
  const out: string[] = [];
  const same = (a: readonly string[]) => a.length === columns.length && a.every((c) => columns.includes(c));
  const visit = (
    schema: string,
    r: {
      readonly name: string;
      readonly foreignKeys: readonly ForeignKey[];
      readonly partitions: readonly (Partition & { readonly schema: string })[];
    },
  ) => {
    for (const f of r.foreignKeys) {
      if (f.references.schema !== table.schema || f.references.table !== table.name || !same(f.references.columns))
        continue;
      const kept = ctx.desiredRelation({ schema, name: r.name })?.foreignKeys.some((d) => d.name === f.name) ?? false;
      if (kept) out.push(`foreign key ${f.name} on ${qualified(schema, r.name)}`);
    }
    for (const p of r.partitions) visit(p.schema, p);
  };
  for (const s of ctx.live.schemas) for (const t of s.tables) visit(s.name, t);
  return out.sort();
}

/**
 * Whether the live relation has an INVALID index named like a primary or unique key the desired
 * state declares on it: the leftover of a failed `CREATE UNIQUE INDEX CONCURRENTLY` for that key.
 */
export function isLeftoverOfKey(ctx: PlanContext, table: RelationRef, name: string): boolean {
  const live = ctx.liveRelation(table)?.indexes.find((i) => i.name === name);
  const desired = ctx.desiredRelation(table);
  return (
    live !== undefined &&
    !live.valid &&
    desired !== undefined &&
    (desired.primaryKey?.name === name || desired.uniqueConstraints.some((u) => u.name === name))
  );
}

export function planAddPrimaryKey(ctx: PlanContext, ch: AddPrimaryKey): void {
  if (ctx.isNew(ch.table)) return; // inline in CREATE TABLE
  planAddKey(ctx, ch.table, { kind: 'primaryKey', key: ch.primaryKey }, ch.replaces);
}

export function planAddUnique(ctx: PlanContext, ch: AddUnique): void {
  if (ctx.isNew(ch.table)) return;
  planAddKey(ctx, ch.table, { kind: 'unique', key: ch.constraint }, ch.replaces);
}

export function planDropPrimaryKey(ctx: PlanContext, ch: DropPrimaryKey): void {
  if (ch.replacedBy || ctx.desiredRelation(ch.table) === undefined) return;
  dropConstraint(
    ctx,
    ch.table,
    ch.primaryKey.name,
    'primary key',
    ['unique-scope-change'],
    (r) => omit(r, 'primaryKey') as typeof r,
  );
}

export function planDropUnique(ctx: PlanContext, ch: DropUnique): void {
  if (ch.replacedBy || ctx.desiredRelation(ch.table) === undefined) return;
  dropConstraint(ctx, ch.table, ch.constraint.name, 'unique constraint', ['unique-scope-change'], (r) => ({
    ...r,
    uniqueConstraints: removeNamed(r.uniqueConstraints, ch.constraint.name),
  }));
}

// ---------------------------------------------------------------------------------------------
// EXCLUDE

export function planAddExclusion(ctx: PlanContext, ch: AddExclusion): void {
  const { table, constraint: x } = ch;
  if (ctx.isNew(table)) return;
  const empty = ctx.isEmpty(table);
  const sql = ch.replaces ? [dropConstraintSql(table, x.name)] : [];
  sql.push(addConstraintSql(table, exclusionSql(x, ctx.schemas)), ...constraintCommentsSql(table, [x]));
  ctx.add(
    at.expand('exclusions'),
    sqlStep(
      `${ch.replaces ? 'replace' : 'add'} exclusion constraint ${x.name} on ${qualifiedRef(table)}` +
        (empty ? '' : ' (no online technique: builds its index under ACCESS EXCLUSIVE, reads and writes wait)'),
      sql,
      {
        locks: [lock(table, 'ACCESS EXCLUSIVE', empty ? 'instant' : 'scan')],
        hazards: empty ? [] : ['blocks-reads'],
      },
    ),
    (m) => mapRelation(m, table, (r) => ({ ...r, exclusionConstraints: upsert(r.exclusionConstraints, x) })),
    [tableTouch(table)],
  );
}

export function planDropExclusion(ctx: PlanContext, ch: DropExclusion): void {
  if (ch.replacedBy || ctx.desiredRelation(ch.table) === undefined) return;
  dropConstraint(ctx, ch.table, ch.constraint.name, 'exclusion constraint', [], (r) => ({
    ...r,
    exclusionConstraints: removeNamed(r.exclusionConstraints, ch.constraint.name),
  }));
}

// ---------------------------------------------------------------------------------------------

function dropConstraint(
  ctx: PlanContext,
  table: RelationRef,
  constraint: string,
  label: string,
  hazards: Hazard[],
  edit: Parameters<typeof mapRelation>[2],
): void {
  ctx.add(
    at.contract('dropConstraints'),
    sqlStep(`drop ${label} ${constraint} on ${qualifiedRef(table)}`, [dropConstraintSql(table, constraint)], {
      locks: [lock(table, 'ACCESS EXCLUSIVE')],
      hazards,
    }),
    (m) => mapRelation(m, table, edit),
    [tableTouch(table)],
  );
}
