/**
 * Changes of an existing materialized view. Created and dropped ones are planned with the views
 * (views.ts), in the same dependency order.
 *
 * - A new query (or `withData` changes): `REFRESH` would hold ACCESS EXCLUSIVE for the whole query
 *   (readers wait), and CONCURRENTLY needs a unique index and still runs the query on the old
 *   definition. Instead the new materialized view is built beside the old one under a temporary
 *   name, populated, with its indexes and comments (plain CREATE INDEX: the new relation is invisible
 *   to other sessions until its step commits, so nothing waits for the build); then one instant
 *   transaction swaps the two by rename (ACCESS EXCLUSIVE on both, and on the views that read it,
 *   which are dropped and created again on the new one; the new one takes the old one's owner and
 *   privileges, read from the catalog), and contract drops the old one. Readers are
 *   never blocked for the query. The swap is in expand when the old application version still finds
 *   what it reads (the columns kept, in order and type; populated), else in contract (`app-compat`).
 * - Indexes: built `CONCURRENTLY` (SHARE UPDATE EXCLUSIVE: reads go on), dropped `CONCURRENTLY` in
 *   contract; a changed one is built under a temporary name and takes the old name in contract.
 * - Storage parameters: `ALTER MATERIALIZED VIEW … SET / RESET`.
 * - Over a table a partition swap replaces: built again the same way right after the swap, in
 *   contract (`planMaterializedRebuildAfter`).
 */

import type { AlterMaterializedView, RelationRef, ReplaceMaterializedView } from '../../diff/changes.js';
import { stableStringify } from '../../model/canonical.js';
import { qualified, qualifiedRef } from '../../model/names.js';
import { objectKey } from '../../model/objects.js';
import type { Index, MaterializedView } from '../../model/types.js';
import { notReplaceable } from '../../model/views.js';
import { commentSql } from '../../sql/comments.js';
import { createIndexSql, dropIndexSql, renameIndexSql } from '../../sql/indexes.js';
import {
  createMaterializedViewSql,
  dropViewSql,
  materializedViewClusterOnSql,
  materializedViewStorageSql,
  renameMaterializedViewSql,
  takeOwnerAndPrivilegesSql,
} from '../../sql/views.js';
import { at, lock, type Placement, type PlanContext, sqlStep, type Touch } from '../context.js';
import { chain, mapMaterializedView, removeNamed, upsert, withOptional } from '../model-edit.js';
import type { Hazard, LockInfo, PhaseName } from '../types.js';
import { ownerAgainSql } from './owners.js';
import { claimViews, putViewLike, rebuildClaimed, removeViewLike, viewCommentsSql, viewReaders } from './views.js';

const display = (v: { schema: string; name: string }): string => `materialized view ${qualified(v.schema, v.name)}`;
const touch = (v: { schema: string; name: string }): Touch => ({
  kind: 'materializedView',
  schema: v.schema,
  name: v.name,
});

/**
 * Whether the old application version still finds what it reads once the new materialized view
 * is in place: the same columns first, and rows (it was populated, so is the new one).
 */
export function swapKeepsReaders(from: MaterializedView, to: MaterializedView): boolean {
  return notReplaceable(from.columns, to.columns) === undefined && (to.withData || !from.withData);
}

/**
 * Build beside, swap by rename, drop the old one in contract. `claimed`: the views that read it
 * (views.ts claimViews), dropped and created again in the swap transaction.
 */
export function planMaterializedSwap(ctx: PlanContext, c: ReplaceMaterializedView, claimed: ReadonlySet<string>): void {
  const { from, to } = c;
  const early = swapKeepsReaders(from, to);
  buildBesideAndSwap(ctx, from, to, claimed, {
    build: at.expand('views'),
    swap: early ? at.expand('views') : at.contract('dropViews'),
    phase: early ? 'expand' : 'contract',
    builtSummary: `build the new ${display(to)} beside the old one`,
    reason: early
      ? ''
      : ` (${notReplaceable(from.columns, to.columns) ?? 'it is no longer populated'}: readers of the old columns break)`,
    hazards: early ? [] : ['app-compat'],
  });
}

/**
 * A materialized view over a table that a partition swap replaces (partition-swap/steps.ts): its
 * stored query reads the table by OID, so after the swap it would read (and REFRESH would read) the
 * retired table, which could then not be dropped. Right after the swap, in contract, the same
 * materialized view is built beside it over the new table, with its indexes, and swapped in by
 * rename; the old one is dropped before the retired table. Readers read the old one meanwhile: only
 * the rename waits for them, as in `planMaterializedSwap`.
 */
export function planMaterializedRebuildAfter(
  ctx: PlanContext,
  from: MaterializedView,
  to: MaterializedView,
  table: RelationRef,
): void {
  const claimed = claimViews(ctx, viewReaders(ctx, objectKey('materializedView', to.schema, to.name)));
  const after = at.contract('swapTables');
  buildBesideAndSwap(ctx, from, to, claimed, {
    build: after,
    swap: after,
    drop: after,
    phase: 'contract',
    builtSummary: `build ${display(to)} again over the new ${qualifiedRef(table)}, beside the old one (which reads the retired table)`,
    reason: '',
    hazards: [],
  });
}

interface BesideAndSwap {
  /** Where the new one is built, swapped in, and where the old one is dropped (default: contract's dropViews). */
  readonly build: Placement;
  readonly swap: Placement;
  readonly drop?: Placement;
  /** The phase of the swap, for the views dropped and created again in it. */
  readonly phase: PhaseName;
  readonly builtSummary: string;
  /** Why the swap breaks readers, appended to its summary; empty when it does not. */
  readonly reason: string;
  readonly hazards: readonly Hazard[];
}

function buildBesideAndSwap(
  ctx: PlanContext,
  from: MaterializedView,
  to: MaterializedView,
  claimed: ReadonlySet<string>,
  o: BesideAndSwap,
): void {
  const schema = to.schema;
  const temp = ctx.freshName(schema, [to.name], 'zdm_new');
  const retired = ctx.freshName(schema, [to.name], 'zdm_old');
  const tempIndex = new Map(to.indexes.map((ix) => [ix.name, ctx.freshName(schema, [ix.name], 'zdm_new')]));
  // Live indexes whose names the new ones take move aside with the old materialized view.
  const oldIndex = new Map(
    from.indexes
      .filter((ix) => tempIndex.has(ix.name))
      .map((ix) => [ix.name, ctx.freshName(schema, [ix.name], 'zdm_old')]),
  );
  const built: MaterializedView = withOptional(
    { ...to, name: temp, indexes: to.indexes.map((ix) => ({ ...ix, name: tempIndex.get(ix.name)! })) },
    'clusterOn',
    to.clusterOn === undefined ? undefined : tempIndex.get(to.clusterOn),
  );
  const sources: LockInfo[] = ctx.desiredGraph
    .dependenciesOf(`materializedView ${schema}.${to.name}`)
    .filter((k) => /^(table|view|materializedView) /.test(k))
    .map((k) => {
      const rest = k.slice(k.indexOf(' ') + 1);
      const dot = rest.indexOf('.');
      return lock({ schema: rest.slice(0, dot), name: rest.slice(dot + 1) }, 'ACCESS SHARE', 'scan');
    });
  ctx.viewCommentsSet.add(`materializedView ${schema}.${to.name}`);

  // The new one, beside the old one.
  const ref = { schema, name: temp };
  ctx.add(
    o.build,
    sqlStep(
      `${o.builtSummary} as ${temp}${to.withData ? ' (runs its query; reads of the old one and writes of the tables go on)' : ' WITH NO DATA'}`,
      [
        createMaterializedViewSql(built),
        ...built.indexes.map((ix) => createIndexSql(ref, ix, { schemas: ctx.schemas })),
        ...(to.clusterOn !== undefined ? [materializedViewClusterOnSql(ref, tempIndex.get(to.clusterOn)!)] : []),
        ...viewCommentsSql(built),
      ],
      { locks: sources, hazards: to.withData ? ['long-running'] : [] },
    ),
    (m) => putViewLike(m, built),
    [touch(ref)],
  );

  // The swap: one instant transaction.
  const views = rebuildClaimed(ctx, claimed, o.phase);
  // No LOCK TABLE (PostgreSQL refuses it on a materialized view): each RENAME takes ACCESS
  // EXCLUSIVE, the old one's first; nothing but this step uses the new one yet. The new one takes
  // the old one's owner and privileges first (its readers keep theirs), then the desired owner.
  const sql = [
    ...(views?.drop ?? []),
    takeOwnerAndPrivilegesSql({ schema, name: to.name }, ref),
    renameMaterializedViewSql({ schema, name: to.name }, retired),
    ...[...oldIndex].map(([n, o]) => renameIndexSql(schema, n, o)),
    renameMaterializedViewSql(ref, to.name),
    ...[...tempIndex].map(([n, t]) => renameIndexSql(schema, t, n)),
    ...ownerAgainSql(ctx, to),
    ...(views?.create ?? []),
  ];
  const retiredMv: MaterializedView = {
    ...from,
    name: retired,
    indexes: from.indexes.map((ix) => ({ ...ix, name: oldIndex.get(ix.name) ?? ix.name })),
  };
  ctx.add(
    o.swap,
    sqlStep(
      `swap the new ${display(to)} in by rename, the old one becomes ${retired}${o.reason}` +
        (views ? `; ${views.note}` : ''),
      sql,
      {
        locks: [lock(to, 'ACCESS EXCLUSIVE'), lock(ref, 'ACCESS EXCLUSIVE'), ...(views?.locks ?? [])],
        hazards: [...o.hazards, ...(views?.hazards ?? [])],
      },
    ),
    chain(
      (m) => removeViewLike(m, from),
      (m) => removeViewLike(m, built),
      (m) => putViewLike(m, retiredMv),
      (m) => putViewLike(m, to),
      views?.edit ?? ((m) => m),
    ),
    [touch(to), touch(ref), touch(retiredMv), ...(views?.touches ?? [])],
  );

  // The old one goes (nothing reads it any more).
  ctx.add(
    o.drop ?? at.contract('dropViews'),
    sqlStep(`drop the old ${display(to)}, now ${retired}`, [dropViewSql(retiredMv, { materialized: true })], {
      locks: [lock(retiredMv, 'ACCESS EXCLUSIVE')],
    }),
    (m) => removeViewLike(m, retiredMv),
    [touch(retiredMv)],
  );
}

const sameIndex = (a: Index, b: Index): boolean => {
  const shape = ({ valid: _v, comment: _c, ...rest }: Index) => rest;
  return stableStringify(shape(a)) === stableStringify(shape(b));
};

/** Same query and population: its indexes, their comments and storage parameters. */
export function planAlterMaterializedView(ctx: PlanContext, c: AlterMaterializedView): void {
  const { from, to } = c;
  const schema = to.schema;
  const ref = { schema, name: to.name };
  const edit = (fn: (v: MaterializedView) => MaterializedView) => (m: Parameters<typeof removeViewLike>[0]) =>
    mapMaterializedView(m, schema, to.name, fn);
  const touches = [touch(to)];

  if (stableStringify(from.with ?? {}) !== stableStringify(to.with ?? {})) {
    const reset = Object.keys(from.with ?? {}).filter((k) => to.with?.[k] === undefined);
    const sql = materializedViewStorageSql(ref, reset, to.with);
    ctx.add(
      at.expand('views'),
      sqlStep(`set the storage parameters of ${display(to)}`, sql, { locks: [lock(ref, 'SHARE UPDATE EXCLUSIVE')] }),
      edit((v) => withOptional(v, 'with', to.with)),
      touches,
    );
  }

  const live = new Map(from.indexes.map((ix) => [ix.name, ix]));
  for (const ix of to.indexes) {
    const old = live.get(ix.name);
    if (old !== undefined && sameIndex(old, ix)) {
      if (old.comment !== ix.comment) {
        ctx.add(
          at.expand('comments'),
          sqlStep(
            `${ix.comment === undefined ? 'remove' : 'set'} comment on index ${qualified(schema, ix.name)}`,
            [commentSql({ kind: 'index', schema, table: to.name, name: ix.name }, ix.comment)],
            { locks: [lock({ schema, name: ix.name }, 'SHARE UPDATE EXCLUSIVE')] },
          ),
          edit((v) => ({ ...v, indexes: upsert(v.indexes, withOptional(old, 'comment', ix.comment)) })),
          touches,
        );
      }
      continue;
    }
    const buildName = old === undefined ? ix.name : ctx.freshName(schema, [ix.name], 'zdm_new');
    const built: Index = withOptional({ ...ix, name: buildName, valid: true }, 'comment', undefined);
    ctx.add(
      at.expand('indexes'),
      sqlStep(
        old === undefined
          ? `create index ${ix.name} on ${display(to)}`
          : `build index ${buildName} on ${display(to)} to replace ${ix.name} (definition changed)`,
        [createIndexSql(ref, ix, { concurrently: true, name: buildName, schemas: ctx.schemas })],
        {
          transaction: false,
          locks: [lock(ref, 'SHARE UPDATE EXCLUSIVE', 'scan')],
          concurrentIndex: { schema, name: buildName },
        },
      ),
      edit((v) => ({ ...v, indexes: [...v.indexes, built] })),
      touches,
    );
    if (old !== undefined) dropIndex(ctx, to, old);
    // A rebuilt index does not inherit the old one's CLUSTER ON mark: set it on the new one.
    const rename =
      old === undefined
        ? []
        : [
            renameIndexSql(schema, buildName, ix.name),
            ...(to.clusterOn === ix.name ? [materializedViewClusterOnSql(ref, ix.name)] : []),
          ];
    const comment =
      ix.comment === undefined
        ? []
        : [commentSql({ kind: 'index', schema, table: to.name, name: ix.name }, ix.comment)];
    if (rename.length + comment.length > 0) {
      ctx.add(
        old === undefined ? at.expand('comments') : at.contract('dropIndexes'),
        sqlStep(
          old === undefined
            ? `set comment on index ${qualified(schema, ix.name)}`
            : `rename index ${buildName} to ${ix.name}`,
          [...rename, ...comment],
          {
            locks: [
              lock({ schema, name: buildName }, 'SHARE UPDATE EXCLUSIVE'),
              // CLUSTER ON marks the index on the view: SHARE UPDATE EXCLUSIVE on the view itself.
              ...(old !== undefined && to.clusterOn === ix.name ? [lock(ref, 'SHARE UPDATE EXCLUSIVE')] : []),
            ],
          },
        ),
        edit((v) => {
          const indexes = upsert(removeNamed(v.indexes, buildName), { ...ix, valid: true });
          return to.clusterOn === ix.name ? { ...v, indexes, clusterOn: ix.name } : { ...v, indexes };
        }),
        touches,
      );
    }
  }
  const wanted = new Set(to.indexes.map((ix) => ix.name));
  for (const ix of from.indexes) if (!wanted.has(ix.name)) dropIndex(ctx, to, ix);

  const rebuilt = (name: string) => {
    const old = live.get(name);
    const next = to.indexes.find((ix) => ix.name === name);
    return old !== undefined && next !== undefined && !sameIndex(old, next);
  };
  if (from.clusterOn !== to.clusterOn && !(to.clusterOn !== undefined && rebuilt(to.clusterOn))) {
    // After 'indexes' in expand: an index built by this plan is there.
    ctx.add(
      at.expand('views'),
      sqlStep(
        to.clusterOn === undefined
          ? `set ${display(to)} without cluster (was clustered on ${from.clusterOn})`
          : `cluster ${display(to)} on ${to.clusterOn}: marks the index, reorders no row`,
        [materializedViewClusterOnSql(ref, to.clusterOn)],
        {
          locks: [
            lock(ref, 'SHARE UPDATE EXCLUSIVE'),
            ...(to.clusterOn !== undefined ? [lock({ schema, name: to.clusterOn }, 'SHARE UPDATE EXCLUSIVE')] : []),
          ],
        },
      ),
      edit((v) => withOptional(v, 'clusterOn', to.clusterOn)),
      touches,
    );
  }
}

function dropIndex(ctx: PlanContext, mv: MaterializedView, ix: Index): void {
  ctx.add(
    at.contract('dropIndexes'),
    sqlStep(
      `drop index ${qualified(mv.schema, ix.name)} of ${display(mv)}`,
      [dropIndexSql({ schema: mv.schema, name: ix.name }, { concurrently: true })],
      { transaction: false, locks: [lock(mv, 'SHARE UPDATE EXCLUSIVE')] },
    ),
    (m) => mapMaterializedView(m, mv.schema, mv.name, (v) => ({ ...v, indexes: removeNamed(v.indexes, ix.name) })),
    [touch(mv)],
  );
}
