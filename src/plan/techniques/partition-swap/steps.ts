/**
 * The steps of a partition swap: the decision (decide.ts) turned into expand, backfill and contract
 * steps, each with its SQL (built by src/sql), its locks and its model edit.
 */
import { type RelationRef, replicaIdentityText } from '../../../diff/changes.js';
import { tableWithoutDirectives } from '../../../model/directives.js';
import { qualified, qualifiedRef } from '../../../model/names.js';
import { objectKey } from '../../../model/objects.js';
import type { DatabaseModel, Index, Partition, PrimaryKey, RelationParts, Table } from '../../../model/types.js';
import { displayType } from '../../../model/types-text.js';
import { commentSql, tableCommentsSql } from '../../../sql/comments.js';
import {
  addConstraintSql,
  checkSql,
  dropConstraintSql,
  foreignKeySql,
  renameConstraintSql,
  renameNotNullConstraintSql,
  uniqueSql,
} from '../../../sql/constraints.js';
import { grantSql } from '../../../sql/grants.js';
import { createIndexSql, renameIndexSql } from '../../../sql/indexes.js';
import { alterOwnerSql } from '../../../sql/owners.js';
import { createRoutineSql } from '../../../sql/routines.js';
import {
  type CopySpec,
  checksumSql,
  copyBatchSql,
  copyOutSql,
  copyReadSql,
  copyRepairSql,
  copyWriteSql,
  keyset,
} from '../../../sql/rows.js';
import { identityPastSql, setOwnedBySql, swapIdentitySequenceNamesSql } from '../../../sql/sequences.js';
import { lockTablesSql, searchPathSql } from '../../../sql/session.js';
import {
  clusterOnSql,
  createTableSql,
  dropTableSql,
  newPartitionsSql,
  renameTableSql,
  replicaIdentitySql,
  rowLevelSecuritySql,
} from '../../../sql/tables.js';
import {
  createMirrorSql,
  createUserTriggerStatements,
  dropMirrorSql,
  dropTriggerSql,
  type MirrorSpec,
  mirrorIntactSql,
  mirrorMatchColumns,
} from '../../../sql/triggers.js';
import { replaceSavedViewsSql, saveViewDefinitionsSql } from '../../../sql/views.js';
import { at, lock, type Placement, type PlanContext, sqlStep, tableTouch } from '../../context.js';
import { mapRelation, mapSchema, noEdit, omit } from '../../model-edit.js';
import { freshName } from '../../names.js';
import type { Hazard, LockInfo } from '../../types.js';
import { buildConcurrently, buildPartitioned } from '../indexes.js';
import { planMaterializedRebuildAfter } from '../materialized-views.js';
import { createPolicyStatements, policyReadLocks } from '../policies.js';
import { bodyLocks, routineTouch } from '../routines.js';
import { planValidation } from '../validate.js';
import { claimViews, rebuildClaimed, viewsReading } from '../views.js';
import { partitionRefs, type Swap } from './decide.js';

/** The names the swap makes. */
interface Names {
  readonly shadow: RelationRef;
  readonly retired: RelationRef;
  readonly fn: string;
  readonly trigger: string;
  readonly truncateTrigger: string;
  /** Desired name → temporary name on the shadow (keys, indexes, exclusion constraints). */
  readonly temp: ReadonlyMap<string, string>;
  /** Live name → name on the retired table, for the live keys and indexes whose names the shadow takes. */
  readonly old: ReadonlyMap<string, string>;
}

function relationNames(t: Table): string[] {
  return [
    ...(t.primaryKey ? [t.primaryKey.name] : []),
    ...t.uniqueConstraints.map((u) => u.name),
    ...t.exclusionConstraints.map((x) => x.name),
    ...t.indexes.map((i) => i.name),
  ];
}

function makeNames(ctx: PlanContext, live: Table, want: Table): Names {
  const schema = live.schema;
  const temp = new Map<string, string>();
  for (const n of relationNames(want)) temp.set(n, ctx.freshName(schema, [n], 'zdm_new'));
  const wanted = new Set([...relationNames(want), ...collectPartitionNames(want)]);
  const old = new Map<string, string>();
  for (const n of relationNames(live)) if (wanted.has(n)) old.set(n, ctx.freshName(schema, [n], 'zdm_old'));
  const functions = new Set(
    (ctx.live.dependents?.functions ?? []).filter((f) => f.schema === schema).map((f) => f.name.replace(/\(.*$/, '')),
  );
  const fn = freshName([live.name], 'zdm_sync', functions);
  return {
    shadow: { schema, name: ctx.freshName(schema, [live.name], 'zdm_shadow') },
    retired: { schema, name: ctx.freshName(schema, [live.name], 'zdm_retired') },
    fn,
    trigger: freshName([live.name], 'zdm_sync', new Set()),
    truncateTrigger: freshName([live.name], 'zdm_sync_truncate', new Set()),
    temp,
    old,
  };
}

function collectPartitionNames(r: RelationParts): string[] {
  return r.partitions.flatMap((p) => [p.name, ...collectPartitionNames(p)]);
}

const renamed = <T extends { readonly name: string }>(x: T, map: ReadonlyMap<string, string>): T => {
  const n = map.get(x.name);
  return n === undefined ? x : { ...x, name: n };
};

/** A table with its keys, exclusion constraints and indexes renamed by `map`. */
function withRenamedParts(t: Table, map: ReadonlyMap<string, string>): Table {
  const pk: PrimaryKey | undefined = t.primaryKey ? renamed(t.primaryKey, map) : undefined;
  const out: Table = {
    ...t,
    uniqueConstraints: t.uniqueConstraints.map((u) => renamed(u, map)),
    exclusionConstraints: t.exclusionConstraints.map((x) => renamed(x, map)),
    indexes: t.indexes.map((i) => renamed(i, map)),
  };
  return pk ? { ...out, primaryKey: pk } : omit(out, 'primaryKey');
}

/** What every step of one swap needs. */
interface Scope {
  readonly ctx: PlanContext;
  readonly swap: Swap;
  readonly n: Names;
  readonly mirror: MirrorSpec;
}

export function swapSteps(ctx: PlanContext, swap: Swap): void {
  const { live, want } = swap;
  const n = makeNames(ctx, live, want);
  const mirror: MirrorSpec = {
    table: live,
    shadow: n.shadow,
    function: n.fn,
    trigger: n.trigger,
    truncateTrigger: n.truncateTrigger,
    key: swap.key,
    partitionColumns: swap.partitionColumns,
    guard: swap.guard,
    ...castsOf(swap),
  };
  const s: Scope = { ctx, swap, n, mirror };
  const later = createShadowStep(s);
  mirrorStep(s);
  // backfill: copy in key order, then verify, then the shadow's other indexes; contract: a last full
  // comparison (no lock), then the swap in one short transaction.
  copyStep(s);
  verifyStep(
    s,
    at.backfill('copyTables'),
    `verify that ${qualifiedRef(n.shadow)} has the rows of ${qualifiedRef(swap.ref)}: row count and checksum, in one snapshot`,
  );
  shadowIndexSteps(s, later);
  verifyStep(
    s,
    at.contract('swapTables'),
    `verify again, right before the swap, that ${qualifiedRef(n.shadow)} has the rows of ${qualifiedRef(swap.ref)}`,
  );
  swapStep(s);
  for (const [owner, fk] of swap.repointed) {
    if (!fk.valid) continue;
    planValidation(ctx, at.contract('swapTables'), owner, {
      kind: 'foreignKey',
      name: fk.name,
      summary: `validate foreign key ${fk.name} on ${qualifiedRef(owner)} against the ${copyNoun(swap)} ${qualifiedRef(swap.ref)}`,
      locks: [lock(owner, 'SHARE UPDATE EXCLUSIVE', 'scan'), lock(swap.ref, 'ROW SHARE', 'scan')],
    });
  }
  // Materialized views over the table read the retired one by OID: built again over the new table,
  // swapped in by rename and the old ones dropped, before the retired table goes.
  for (const [from, to] of swap.materializedViews) planMaterializedRebuildAfter(ctx, from, to, swap.ref);
  dropRetiredStep(s);
}

/** What the new table is, for summaries: `partitioned`, `plain` (an unpartition) or `rewritten`. */
function copyNoun(swap: Swap): string {
  return swap.rewrite ? 'rewritten' : swap.reverse ? 'plain' : 'partitioned';
}

/** A rewrite's casts, for the step and the mirror (nothing for a partition swap: its plan is unchanged). */
function castsOf(swap: Swap): { casts?: Readonly<Record<string, string>> } {
  return Object.keys(swap.casts).length > 0 ? { casts: swap.casts } : {};
}

/** `mode` on the live table and, when it is the partitioned one, on each of its partitions (PostgreSQL locks them too). */
function liveLocks(swap: Swap, mode: LockInfo['mode'], hold: LockInfo['hold'] = 'instant'): LockInfo[] {
  return [swap.ref, ...swap.livePartitions].map((r) => lock(r, mode, hold));
}

/** The same for the retired table (its partitions keep their names). */
function retiredLocks(swap: Swap, retired: RelationRef): LockInfo[] {
  return [retired, ...swap.livePartitions].map((r) => lock(r, 'ACCESS EXCLUSIVE'));
}

/**
 * The shadow's indexes built after the copy (backfill group `indexes`) rather than with the shadow:
 * built while it is empty, every copied row would also write an entry (and its page splits) in each
 * of them, about as much WAL again as the rows. The keys and unique indexes stay in expand: the
 * copy's `ON CONFLICT DO NOTHING` and the sync trigger's writes must meet every unique rule the
 * whole time, and the trigger finds a row's copy by its key. All of them stay when a partition
 * declares indexes of its own: PostgreSQL attaches a matching partition index to a parent's plain
 * CREATE INDEX, not to one built partition by partition.
 */
function indexesAfterCopy(t: Table): Index[] {
  const own = (r: RelationParts): boolean => r.partitions.some((p) => p.indexes.length > 0 || own(p));
  return own(t) ? [] : t.indexes.filter((i) => !i.unique);
}

/**
 * Expand: the shadow, empty, with everything the desired table declares (keys and indexes under
 * temporary names) but the indexes built after the copy, which it returns.
 */
function createShadowStep({ ctx, swap, n }: Scope): Index[] {
  const { ref, want, reverse } = swap;
  // Privileges, row level security and policies come at the swap (swapStep): before it, policies
  // would filter the sync trigger's copies, and no one but zdm has any business with the shadow.
  const full: Table = untilSwap({
    ...tableWithoutDirectives(withRenamedParts(want, n.temp)),
    name: n.shadow.name,
  });
  const later = indexesAfterCopy(full);
  const created: Table = { ...full, indexes: full.indexes.filter((i) => !later.includes(i)) };
  const sql = [
    createTableSql(
      {
        ...created,
        // The desired table's inline NOT VALID checks are added NOT VALID below.
        checks: created.checks.filter((c) => c.valid),
        // Added below: CREATE TABLE silently leaves out a unique constraint on the primary key's columns.
        uniqueConstraints: [],
        columns: created.columns.map((c) => ({ ...c, type: displayType(c.type) })),
      },
      ctx.schemas,
    ),
    ...created.uniqueConstraints.map((u) => addConstraintSql(n.shadow, uniqueSql(u))),
    ...created.checks.filter((c) => !c.valid).map((c) => addConstraintSql(n.shadow, checkSql(c, true))),
    ...created.indexes.map((i) => createIndexSql(n.shadow, i, { schemas: ctx.schemas })),
    ...newPartitionsSql(n.shadow, created, ctx.schemas),
    ...created.foreignKeys.map((f) => addConstraintSql(n.shadow, foreignKeySql(f, !f.valid))),
    ...tableCommentsSql(n.shadow, created),
  ];
  const fkLocks: LockInfo[] = want.foreignKeys.map((f) =>
    lock({ schema: f.references.schema, name: f.references.table }, 'SHARE ROW EXCLUSIVE'),
  );
  const parts = collectPartitionNames(want).length;
  const built =
    later.length > 0
      ? 'keys and unique indexes built while it is empty, other indexes after the copy'
      : 'keys and indexes built while it is empty';
  ctx.add(
    at.expand('tables'),
    sqlStep(
      swap.rewrite
        ? `create ${qualifiedRef(n.shadow)}, the copy of ${qualifiedRef(ref)} with ${Object.entries(swap.casts)
            .map(([c, t]) => `${c} ${t}`)
            .join(', ')} (${built})`
        : reverse
          ? `create ${qualifiedRef(n.shadow)}, the plain copy of the partitioned ${qualifiedRef(ref)} (${built})`
          : `create ${qualifiedRef(n.shadow)}, the partitioned copy of ${qualifiedRef(ref)} (${parts} partition${parts === 1 ? '' : 's'}, ${built})`,
      sql,
      // zdm rollback: the shadow goes, with its partitions, keys, indexes and the rows copied into it.
      { locks: [lock(n.shadow, 'ACCESS EXCLUSIVE'), ...fkLocks], undo: [dropTableSql(n.shadow, { ifExists: true })] },
    ),
    (m) => mapSchema(m, ref.schema, (x) => ({ ...x, tables: [...x.tables, created] })),
    [tableTouch(n.shadow)],
  );
  return later;
}

/**
 * Backfill, after the copy: the shadow's indexes left out of its creation. The sync trigger writes
 * the shadow all along, in the application's transactions, so nothing may lock it against writes for
 * longer than an instant: `CREATE INDEX CONCURRENTLY` (SHARE UPDATE EXCLUSIVE) on a plain shadow;
 * on a partitioned one (where CONCURRENTLY is refused) `ON ONLY` the parent (SHARE, an instant),
 * CONCURRENTLY on each partition, then ATTACH each. A plain CREATE INDEX would hold SHARE for the
 * whole build, and every write of the live table would wait for it in its trigger.
 */
function shadowIndexSteps({ ctx, swap, n }: Scope, later: readonly Index[]): void {
  const where = at.backfill('indexes');
  for (const index of later) {
    if (swap.want.partitionBy === undefined) {
      buildConcurrently(
        ctx,
        n.shadow,
        index,
        where,
        `create index ${index.name} on ${qualifiedRef(n.shadow)}, now that the rows are copied`,
      );
    } else {
      buildPartitioned(ctx, n.shadow, index, index.name, where, (r) =>
        r.schema === n.shadow.schema && r.name === n.shadow.name
          ? swap.want.partitions
          : (partitionOf(swap.want, r)?.partitions ?? []),
      );
    }
    // The build steps leave the comment out (as CREATE INDEX does): it follows once the index is there.
    const comment = index.comment;
    if (comment !== undefined) {
      const ix = { schema: n.shadow.schema, name: index.name };
      ctx.add(
        where,
        sqlStep(
          `comment on index ${index.name} of ${qualifiedRef(n.shadow)}`,
          [commentSql({ kind: 'index', schema: ix.schema, table: n.shadow.name, name: ix.name }, comment)],
          { locks: [lock(ix, 'SHARE UPDATE EXCLUSIVE')] },
        ),
        (m) =>
          mapRelation(m, n.shadow, (r) => ({
            ...r,
            indexes: r.indexes.map((i) => (i.name === index.name ? { ...i, comment } : i)),
          })),
        [tableTouch(n.shadow)],
      );
    }
  }
}

/** The partition `ref` anywhere under `r`. */
function partitionOf(r: RelationParts, ref: RelationRef): Partition | undefined {
  for (const p of r.partitions) {
    if (p.schema === ref.schema && p.name === ref.name) return p;
    const found = partitionOf(p, ref);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The shadow as expand creates it: without what the swap gives it (privileges, row level security,
 * policies, replica identity, CLUSTER ON). Its partitions have theirs from their creation.
 */
function untilSwap(t: Table): Table {
  const {
    grants: _g,
    rowLevelSecurity: _r,
    forceRowLevelSecurity: _f,
    policies: _p,
    replicaIdentity: _i,
    clusterOn: _c,
    ...rest
  } = t;
  return { ...rest, columns: rest.columns.map(({ grants: _c, ...c }) => c) };
}

/**
 * What the new table takes over in the swap's transaction, once it has the table's name: the
 * privileges (GRANT goes with the OID: the retired table keeps the old ones), row level security and
 * the policies (enabled on the shadow before, they would filter the sync trigger's copies), and the
 * routines whose SQL-standard body reads the table (bound to its OID, they are replaced to read the
 * new one; CREATE OR REPLACE keeps their OID, privileges and comment). GRANT locks no relation,
 * ENABLE / FORCE ROW LEVEL SECURITY and CREATE POLICY take ACCESS EXCLUSIVE on the table (held by the
 * swap already), a SQL-standard body locks what it reads (`bodyLocks`). Then the table's replica
 * identity and CLUSTER ON (they mark the new table and its index, by OID), and its owner: the
 * desired one or the live table's, for the table and each of its partitions (ALTER TABLE … OWNER TO
 * takes ACCESS EXCLUSIVE on each, covered by the swap's lock on the table).
 */
function carriedSql(ctx: PlanContext, swap: Swap): { sql: string[]; locks: LockInfo[]; notes: string[] } {
  const { ref, want } = swap;
  const on = { kind: 'table', schema: ref.schema, name: ref.name } as const;
  const routines = swap.routines;
  const body = [
    ...grantSql(on, swap.grants),
    ...swap.columnGrants.flatMap(([column, grants]) => grantSql({ ...on, kind: 'column', column }, grants)),
    ...(want.rowLevelSecurity ? [rowLevelSecuritySql(ref, 'enable', true)] : []),
    ...(want.forceRowLevelSecurity ? [rowLevelSecuritySql(ref, 'force', true)] : []),
    ...(want.policies ?? []).flatMap((p) => createPolicyStatements(ref, p)),
    ...routines.map((r) => createRoutineSql(r, { replace: true })),
    ...(want.replicaIdentity !== undefined ? [replicaIdentitySql(ref, want.replicaIdentity)] : []),
    ...(want.clusterOn !== undefined ? [clusterOnSql(ref, want.clusterOn)] : []),
    ...(swap.owner !== undefined ? ownedBy(swap).map((r) => alterOwnerSql({ kind: 'table', ...r }, swap.owner!)) : []),
  ];
  // Policies and routines as expand would create them: under the session's search_path again (the
  // views' definitions above were read and replaced under an empty one).
  const sql = swap.views.length > 0 && body.length > 0 ? ['SET LOCAL search_path TO DEFAULT', ...body] : body;
  const table = qualified(ref.schema, ref.name);
  const index = want.replicaIdentity?.kind === 'index' ? want.replicaIdentity.index : undefined;
  const locks = [
    ...(want.policies ?? []).flatMap((p) => policyReadLocks(ctx, ref, p.name)),
    ...routines.flatMap((r) => bodyLocks(ctx, r)),
    // REPLICA IDENTITY USING INDEX and CLUSTER ON lock the index they mark (table-properties.ts).
    ...(index !== undefined ? [lock({ schema: ref.schema, name: index }, 'SHARE')] : []),
    ...(want.clusterOn !== undefined
      ? [lock({ schema: ref.schema, name: want.clusterOn }, 'SHARE UPDATE EXCLUSIVE')]
      : []),
  ].filter((l) => l.relation !== table);
  const notes = [
    ...(swap.grants.length + swap.columnGrants.length > 0 ? ['privileges granted again'] : []),
    ...((want.policies ?? []).length > 0
      ? [
          `polic${want.policies?.length === 1 ? 'y' : 'ies'} ${want.policies?.map((p) => p.name).join(', ')} created on it`,
        ]
      : []),
    ...(routines.length > 0
      ? [`${routines.map((r) => `${r.kind} ${qualified(r.schema, r.name)}`).join(', ')} replaced to read it`]
      : []),
    ...(want.replicaIdentity !== undefined ? [`replica identity ${replicaIdentityText(want.replicaIdentity)}`] : []),
    ...(want.clusterOn !== undefined ? [`clustered on ${want.clusterOn}`] : []),
  ];
  return { sql, locks, notes };
}

/**
 * The relations the swap gives the table's owner: the new table and, when it is partitioned, every
 * partition (ALTER TABLE … OWNER TO does not recurse; expand created them as the role applying the
 * plan).
 */
function ownedBy(swap: Swap): RelationRef[] {
  return [swap.ref, ...partitionRefs(swap.want)];
}

/** Expand: the triggers that mirror every write of the live table into the shadow. */
function mirrorStep({ ctx, swap, n, mirror }: Scope): void {
  const hazards: Hazard[] = swap.uncovered.length > 0 ? ['app-compat'] : [];
  ctx.add(
    at.expand('tables'),
    sqlStep(
      `keep ${qualifiedRef(n.shadow)} in step with ${qualifiedRef(swap.ref)}: AFTER INSERT/UPDATE/DELETE/TRUNCATE triggers mirror every write` +
        (swap.reverse ? ' (the row trigger is cloned to every partition)' : ''),
      createMirrorSql(mirror),
      { locks: liveLocks(swap, 'SHARE ROW EXCLUSIVE'), hazards, undo: dropMirrorSql(mirror, { ifExists: true }) },
    ),
    noEdit,
    [tableTouch(swap.ref), tableTouch(n.shadow)],
  );
}

function copyStep({ ctx, swap, n, mirror }: Scope): void {
  const { ref, key, columns, guard } = swap;
  const match = mirrorMatchColumns(mirror);
  const copy: CopySpec = {
    from: ref,
    to: n.shadow,
    columns,
    key,
    overridingSystemValue: swap.overridingSystemValue,
    guard,
    // Under `for-share` the rows' locks must be the batch's own, so they are read in its transaction.
    insert: guard === 'repair' ? 'copy' : 'anti-join',
    match,
    ...castsOf(swap),
  };
  const ks = keyset(key);
  ctx.add(
    at.backfill('copyTables'),
    {
      kind: 'copy',
      summary:
        `copy the rows of ${qualifiedRef(ref)} into ${qualifiedRef(n.shadow)} in batches of ${ctx.input.batchSize} by (${key.join(', ')})` +
        (guard === 'repair'
          ? ', without row locks; then the rows a concurrent delete left in the copy are deleted'
          : ', each batch reading its rows FOR SHARE'),
      transaction: false,
      ...copy,
      batchSize: ctx.input.batchSize,
      // The batch (with `copy`: its two halves, then the batch without a second connection), the
      // same batch redone when it met a copy the mirror wrote beside it, the repair.
      sql: [
        ...(copy.insert === 'copy' ? [copyOutSql(copyReadSql(copy, ks, true, true)), copyWriteSql(copy)] : []),
        copyBatchSql(copy, ks, true, true),
        copyBatchSql(copy, ks, true, true, 'on-conflict'),
        ...(guard === 'repair' ? [copyRepairSql(copy, match)] : []),
      ],
      locks: [
        ...liveLocks(swap, guard === 'repair' ? 'ACCESS SHARE' : 'ROW SHARE', 'scan'),
        lock(n.shadow, 'ROW EXCLUSIVE', 'scan'),
      ],
      hazards: ['long-running'],
    },
    noEdit,
    [tableTouch(ref), tableTouch(n.shadow)],
  );
}

/** The comparison of the live table and its copy: after the copy, and again before the swap. */
function verifyStep({ ctx, swap, n }: Scope, placement: Placement, summary: string): void {
  const { ref, columns } = swap;
  ctx.add(
    placement,
    {
      kind: 'verify',
      summary,
      transaction: false,
      from: ref,
      to: n.shadow,
      columns,
      ...castsOf(swap),
      sql: [checksumSql(ref, columns, swap.casts), checksumSql(n.shadow, columns)],
      locks: [...liveLocks(swap, 'ACCESS SHARE', 'scan'), lock(n.shadow, 'ACCESS SHARE', 'scan')],
      hazards: ['long-running'],
    },
    noEdit,
    [tableTouch(ref), tableTouch(n.shadow)],
  );
}

/** Contract: the swap, in one transaction under ACCESS EXCLUSIVE on both tables. */
function swapStep({ ctx, swap, n, mirror }: Scope): void {
  const { ref, live, want, repointed } = swap;
  // A rewrite changes the type of columns views may read: CREATE OR REPLACE VIEW cannot change a
  // view column's type, so those views (and what reads them) are dropped and created again here.
  const rebuilt = swap.rewrite
    ? claimViews(
        ctx,
        Object.keys(swap.casts).flatMap((c) => viewsReading(ctx, ref, c)),
      )
    : new Set<string>();
  const rebuild = rebuildClaimed(ctx, rebuilt, 'contract');
  const views = swap.views.filter((v) => !rebuilt.has(objectKey(v.kind, v.schema, v.name)));
  const sql: string[] = [lockTablesSql([ref, n.shadow], 'ACCESS EXCLUSIVE')];
  // The full comparison ran just before (contract's verify step, no lock); under the lock only what
  // could have broken the sync since is checked: both triggers still there and enabled for ordinary
  // sessions. Counting both tables here would hold ACCESS EXCLUSIVE for ~0.5 s per million rows.
  sql.push(mirrorIntactSql(mirror));
  if (rebuild !== undefined) sql.push(...rebuild.drop);
  // Views over the table follow it by OID to the retired name: their definitions are read before
  // the renames, with every name schema-qualified (empty search_path), and replaced after them, so
  // that they read the partitioned table (CREATE OR REPLACE keeps their OID, grants and dependents).
  if (views.length > 0) {
    sql.push(searchPathSql([]));
    sql.push(saveViewDefinitionsSql(views));
  }
  sql.push(...dropMirrorSql(mirror));
  sql.push(renameTableSql(ref, n.retired.name));
  // The live keys and indexes give their names up (the retired table's constraints through it, its
  // indexes by their own name), and the shadow's take them.
  const liveConstraints = constraintNames(live);
  for (const [from, to] of n.old) {
    sql.push(
      liveConstraints.has(from) ? renameConstraintSql(n.retired, from, to) : renameIndexSql(ref.schema, from, to),
    );
  }
  sql.push(renameTableSql(n.shadow, ref.name));
  const wantConstraints = constraintNames(want);
  for (const [to, from] of n.temp) {
    sql.push(wantConstraints.has(to) ? renameConstraintSql(ref, from, to) : renameIndexSql(ref.schema, from, to));
  }
  for (const q of swap.ownedSequences) sql.push(setOwnedBySql(q, q.ownedBy));
  for (const c of swap.identityColumns) sql.push(identityPastSql(ref, n.retired, c));
  // Identity sequences follow their table by OID: the table's name goes with the retired table's.
  for (const c of swap.identityColumns) sql.push(swapIdentitySequenceNamesSql(ref, n.retired, c));
  for (const [owner, fk] of repointed) {
    sql.push(dropConstraintSql(owner, fk.name));
    sql.push(addConstraintSql(owner, foreignKeySql(fk, true)));
  }
  if (views.length > 0) sql.push(replaceSavedViewsSql());
  // PostgreSQL 18 names a NOT NULL constraint after its table (`<shadow>_<column>_not_null`): the
  // partitioned table takes the names the table had (partitions follow; a no-op before 18).
  for (const c of want.columns) {
    if (c.nullable) continue;
    const from = `${n.shadow.name}_${c.name}_not_null`;
    const to = `${ref.name}_${c.name}_not_null`;
    if (Buffer.byteLength(from) <= 63 && Buffer.byteLength(to) <= 63)
      sql.push(renameNotNullConstraintSql(ref, from, to));
  }
  // The table's triggers (as expand left them: the desired ones) stay on the retired table by OID:
  // dropped there and created on the partitioned table, which clones row triggers to its partitions.
  const triggers = ctx.desired.schemas
    .flatMap((s) => s.triggers)
    .filter((t) => t.schema === ref.schema && t.table === ref.name);
  for (const t of triggers) sql.push(dropTriggerSql(t.name, n.retired));
  for (const t of triggers) sql.push(...createUserTriggerStatements(t));
  const carried = carriedSql(ctx, swap);
  sql.push(...carried.sql);
  if (rebuild !== undefined) {
    // Under the session's search_path again, as expand would create them (carriedSql resets it when
    // it has statements of its own).
    if (views.length > 0 && carried.sql.length === 0) sql.push('SET LOCAL search_path TO DEFAULT');
    sql.push(...rebuild.create);
  }
  const final = tableWithoutDirectives(want);
  const retiredTable: Table = { ...withRenamedParts(live, n.old), name: n.retired.name };
  ctx.add(
    at.contract('swapTables'),
    sqlStep(
      `swap ${qualifiedRef(ref)} for its ${copyNoun(swap)} copy: ${qualifiedRef(ref)} becomes ${qualifiedRef(n.retired)}, ${qualifiedRef(n.shadow)} becomes ${qualifiedRef(ref)}` +
        (repointed.length > 0
          ? `; ${repointed.length} foreign key${repointed.length === 1 ? '' : 's'} re-pointed NOT VALID`
          : '') +
        (views.length > 0
          ? `; view${views.length === 1 ? '' : 's'} ${views.map((v) => qualified(v.schema, v.name)).join(', ')} recreated over it`
          : '') +
        (triggers.length > 0
          ? `; trigger${triggers.length === 1 ? '' : 's'} ${triggers.map((t) => t.name).join(', ')} moved to it`
          : '') +
        carried.notes.map((x) => `; ${x}`).join('') +
        (rebuild !== undefined ? `; ${rebuild.note}` : ''),
      sql,
      {
        ...(rebuild !== undefined && rebuild.hazards.length > 0 ? { hazards: [...rebuild.hazards] } : {}),
        locks: [
          ...liveLocks(swap, 'ACCESS EXCLUSIVE'),
          lock(n.shadow, 'ACCESS EXCLUSIVE'),
          ...swap.ownedSequences.map((q) => lock(q, 'ACCESS EXCLUSIVE')),
          ...repointed.map(([owner]) => lock(owner, 'ACCESS EXCLUSIVE')),
          ...views.map((v) => lock({ schema: v.schema, name: v.name }, 'ACCESS EXCLUSIVE')),
          ...carried.locks,
          ...(rebuild?.locks ?? []),
        ],
      },
    ),
    (m: DatabaseModel) => {
      let out = mapSchema(m, ref.schema, (x) => ({
        ...x,
        tables: [...x.tables.filter((t) => t.name !== ref.name && t.name !== n.shadow.name), final, retiredTable],
      }));
      for (const [owner, fk] of repointed) {
        out = mapRelation(out, owner, (x) => ({
          ...x,
          foreignKeys: x.foreignKeys.map((f) => (f.name === fk.name ? { ...f, valid: false } : f)),
        }));
      }
      return rebuild !== undefined ? rebuild.edit(out) : out;
    },
    [
      tableTouch(ref),
      tableTouch(n.shadow),
      tableTouch(n.retired),
      ...repointed.map(([o]) => tableTouch(o)),
      ...swap.routines.map(routineTouch),
      ...(rebuild?.touches ?? []),
    ],
  );
}

/** Names of the table's keys and exclusion constraints (renamed through the table, unlike its indexes). */
function constraintNames(t: Table): Set<string> {
  return new Set([
    ...(t.primaryKey ? [t.primaryKey.name] : []),
    ...t.uniqueConstraints.map((u) => u.name),
    ...t.exclusionConstraints.map((x) => x.name),
  ]);
}

/** Contract: the retired table goes, with its data. */
function dropRetiredStep({ ctx, swap, n }: Scope): void {
  const { ref, live } = swap;
  const refLocks = live.foreignKeys.map((f) =>
    lock({ schema: f.references.schema, name: f.references.table }, 'ACCESS EXCLUSIVE'),
  );
  ctx.add(
    at.contract('dropTables'),
    sqlStep(
      `drop ${qualifiedRef(n.retired)}, the table ${qualifiedRef(ref)} was before the ${swap.rewrite ? 'rewrite' : 'partition swap'}, and its data` +
        (swap.livePartitions.length > 0 ? ` (with its ${swap.livePartitions.length} partitions)` : ''),
      [dropTableSql(n.retired)],
      {
        locks: [...retiredLocks(swap, n.retired), ...refLocks],
        hazards: ['data-loss'],
      },
    ),
    (m) => mapSchema(m, ref.schema, (s) => ({ ...s, tables: s.tables.filter((x) => x.name !== n.retired.name) })),
    [tableTouch(n.retired)],
  );
}
