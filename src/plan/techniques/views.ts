/**
 * Views and materialized views: created, replaced, re-created and dropped in the order of the
 * dependency graph (src/model/dependencies.ts): creates on the desired graph (what a view reads
 * first), drops on the live graph (what reads a view first).
 *
 * - A new view (or materialized view) is created in expand, after the tables and columns it reads.
 *   CREATE VIEW takes ACCESS SHARE on what it reads: nothing waits for it.
 * - A view whose change `CREATE OR REPLACE VIEW` allows (it keeps its columns, in order and type,
 *   and may append some) is replaced in expand: the old application version reads what it read.
 *   ACCESS EXCLUSIVE on the view, for an instant.
 * - A view that loses columns, or whose columns change name, order or type, would break the old
 *   application version: it is dropped and created again in one transaction in contract (the
 *   `app-compat` hazard), together with every view that reads it (PostgreSQL refuses to drop a view
 *   others read) and every view of the plan whose new definition reads it. Readers wait for that
 *   transaction (ACCESS EXCLUSIVE on each view), never see the view missing.
 * - Dropped views go in contract, what reads them first.
 * - A view that reads a column whose type changes in place, or that a column swap drops, is dropped
 *   and created again in the transaction of that change (`rebuildViews`, used by the column
 *   techniques), with the views that read it.
 *
 * A (re)created view loses its comments: the step that creates it sets them again, and the plan has
 * no separate comment step for it (`PlanContext.viewCommentsSet`). Its owner, where the desired
 * state names one, is set again in the same step (owners.ts); its grants are not managed yet: the
 * plan warns about each view it re-creates.
 */

import type {
  CreateMaterializedView,
  CreateView,
  DropMaterializedView,
  DropView,
  RecreateView,
  RelationRef,
  ReplaceMaterializedView,
  ReplaceView,
} from '../../diff/changes.js';
import { assertNever } from '../../diff/changes.js';
import { keyKind } from '../../model/dependencies.js';
import { qualified } from '../../model/names.js';
import { objectKey } from '../../model/objects.js';
import { ownerOf } from '../../model/owners.js';
import type { DatabaseModel, View } from '../../model/types.js';
import { commentSql } from '../../sql/comments.js';
import { createIndexSql } from '../../sql/indexes.js';
import {
  createMaterializedViewSql,
  createViewSql,
  dropViewSql,
  materializedViewClusterOnSql,
} from '../../sql/views.js';
import {
  at,
  findViewLike,
  lock,
  type Placement,
  type PlanContext,
  sqlStep,
  type Touch,
  type ViewLike,
} from '../context.js';
import { type ModelEdit, mapSchema, removeNamed } from '../model-edit.js';
import type { Hazard, LockInfo, PhaseName } from '../types.js';
import { planMaterializedSwap, swapKeepsReaders } from './materialized-views.js';
import { ownerAgainSql } from './owners.js';

/** The changes planned here, in dependency order (materialized-views.ts has the technique of a swap). */
export type ViewChange =
  | CreateView
  | DropView
  | ReplaceView
  | RecreateView
  | CreateMaterializedView
  | DropMaterializedView
  | ReplaceMaterializedView;

export const viewKey = (v: ViewLike): string => objectKey(v.kind, v.schema, v.name);
const display = (v: ViewLike): string =>
  `${v.kind === 'materializedView' ? 'materialized view' : 'view'} ${qualified(v.schema, v.name)}`;
const isViewKey = (k: string): boolean => {
  const kind = keyKind(k);
  return kind === 'view' || kind === 'materializedView';
};
const touchOf = (v: ViewLike): Touch => ({ kind: v.kind, schema: v.schema, name: v.name });

function changeKey(c: ViewChange): string {
  switch (c.kind) {
    case 'createView':
    case 'dropView':
    case 'createMaterializedView':
    case 'dropMaterializedView':
      return viewKey(c.view);
    case 'replaceView':
    case 'recreateView':
    case 'replaceMaterializedView':
      return viewKey(c.to);
    default:
      return assertNever(c);
  }
}

// ---------------------------------------------------------------------------------------------
// SQL and model edits shared by every step that creates or drops views

/** COMMENT ON statements that give a (re)created view its desired comments. */
export function viewCommentsSql(v: ViewLike): string[] {
  const materialized = v.kind === 'materializedView';
  const out: string[] = [];
  if (v.comment !== undefined) out.push(commentSql({ kind: v.kind, schema: v.schema, name: v.name }, v.comment));
  for (const c of v.columns) {
    if (c.comment === undefined) continue;
    out.push(
      commentSql({ kind: 'viewColumn', schema: v.schema, view: v.name, materialized, column: c.name }, c.comment),
    );
  }
  if (v.kind === 'materializedView') {
    for (const ix of v.indexes) {
      if (ix.comment === undefined) continue;
      out.push(commentSql({ kind: 'index', schema: v.schema, table: v.name, name: ix.name }, ix.comment));
    }
  }
  return out;
}

/**
 * Everything that creates `v` as the desired state has it: the view, or the materialized view with
 * its indexes (plain CREATE INDEX: the relation is new and invisible to other sessions until the
 * step commits, so nothing waits for the build, and CONCURRENTLY is not allowed in a transaction),
 * then its comments.
 */
export function createViewLikeSql(ctx: PlanContext, v: ViewLike): string[] {
  if (v.kind === 'view') return [createViewSql(v), ...viewCommentsSql(v)];
  const ref = { schema: v.schema, name: v.name };
  return [
    createMaterializedViewSql(v),
    ...v.indexes.map((ix) => createIndexSql(ref, ix, { schemas: ctx.schemas })),
    ...(v.clusterOn !== undefined ? [materializedViewClusterOnSql(ref, v.clusterOn)] : []),
    ...viewCommentsSql(v),
  ];
}

/** `DROP VIEW` or `DROP MATERIALIZED VIEW` of `v`. */
function dropViewLikeSql(v: ViewLike): string {
  return dropViewSql(v, { materialized: v.kind === 'materializedView' });
}

/** The model with `v` added (or put in place of the one of its name). */
export function putViewLike(m: DatabaseModel, v: ViewLike): DatabaseModel {
  return mapSchema(m, v.schema, (s) =>
    v.kind === 'view'
      ? { ...s, views: [...removeNamed(s.views, v.name), v] }
      : { ...s, materializedViews: [...removeNamed(s.materializedViews, v.name), v] },
  );
}

/** The model without the view or materialized view `v`. */
export function removeViewLike(m: DatabaseModel, v: ViewLike): DatabaseModel {
  return mapSchema(m, v.schema, (s) =>
    v.kind === 'view'
      ? { ...s, views: removeNamed(s.views, v.name) }
      : { ...s, materializedViews: removeNamed(s.materializedViews, v.name) },
  );
}

/**
 * ACCESS SHARE on the relations a created view reads (desired graph), except the ones in
 * `except` (locked more strongly by the step already).
 */
function readLocks(ctx: PlanContext, v: ViewLike, except: ReadonlySet<string>): LockInfo[] {
  const out: LockInfo[] = [];
  for (const k of ctx.desiredGraph.dependenciesOf(viewKey(v))) {
    const kind = keyKind(k);
    if ((kind !== 'table' && !isViewKey(k)) || except.has(k)) continue;
    const name = k.slice(kind.length + 1);
    const dot = name.indexOf('.');
    out.push(lock({ schema: name.slice(0, dot), name: name.slice(dot + 1) }, 'ACCESS SHARE'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Views dropped and created again around another change

export interface ViewRebuild {
  /** DROP statements, what reads a view first. */
  readonly drop: readonly string[];
  /** CREATE (and COMMENT) statements, what a view reads first. */
  readonly create: readonly string[];
  readonly locks: readonly LockInfo[];
  readonly hazards: readonly Hazard[];
  /** The views and materialized views as the step leaves them (after the step's own edit). */
  readonly edit: ModelEdit;
  readonly touches: readonly Touch[];
  /** `views public.v, public.w dropped and created again around it`, for the step's summary. */
  readonly note: string;
}

/**
 * The views and materialized views that read what `starts` names, and every one that reads those,
 * dropped before a change in `phase` and created again after it, in one transaction with it. A view
 * the desired state no longer has is only dropped; every other one is created as the desired state
 * has it. Returns undefined when nothing reads it. The views are taken out of the rest of the view
 * planning (`ctx.rebuiltViews`).
 */
export function rebuildViews(ctx: PlanContext, starts: readonly string[], phase: PhaseName): ViewRebuild | undefined {
  return rebuildClaimed(ctx, claimViews(ctx, starts), phase);
}

/**
 * `starts` and every view or materialized view that reads one of them (live graph), except those
 * already claimed, taken out of the rest of the view planning (`ctx.rebuiltViews`) for a step that
 * drops and creates them again (`rebuildClaimed`).
 */
export function claimViews(ctx: PlanContext, starts: readonly string[]): Set<string> {
  const members = new Set(starts.filter((k) => !ctx.rebuiltViews.has(k)));
  for (const k of ctx.liveGraph.dependentsClosure(members)) if (isViewKey(k)) members.add(k);
  for (const k of [...members]) if (ctx.rebuiltViews.has(k)) members.delete(k);
  for (const k of members) {
    ctx.rebuiltViews.add(k);
    ctx.viewCommentsSet.add(k);
  }
  return members;
}

/**
 * The views and materialized views that read the view `k` in the live database (and, `desiredToo`,
 * in the desired state): those a swap of `k` drops and creates again.
 */
export function viewReaders(ctx: PlanContext, k: string, desiredToo = false): string[] {
  return [...ctx.liveGraph.dependentsOf(k), ...(desiredToo ? ctx.desiredGraph.dependentsOf(k) : [])].filter(
    (d) => isViewKey(d) && d !== k,
  );
}

/** The SQL, locks, hazards and model edit that drop `members` (claimed) and create them again. */
export function rebuildClaimed(
  ctx: PlanContext,
  members: ReadonlySet<string>,
  phase: PhaseName,
): ViewRebuild | undefined {
  if (members.size === 0) return undefined;
  const live = ctx.liveGraph.order([...members].filter((k) => findViewLike(ctx.live, k))).reverse();
  const desired = ctx.desiredGraph.order([...members].filter((k) => findViewLike(ctx.desired, k)));
  const hazards: Hazard[] = [];
  const notes: string[] = [];
  const locks: LockInfo[] = [];
  for (const k of members) {
    const v = (findViewLike(ctx.desired, k) ?? findViewLike(ctx.live, k))!;
    locks.push(lock(v, 'ACCESS EXCLUSIVE', v.kind === 'materializedView' && v.withData ? 'scan' : 'instant'));
  }
  for (const k of desired) locks.push(...readLocks(ctx, findViewLike(ctx.desired, k)!, members));
  const gone = live.filter((k) => findViewLike(ctx.desired, k) === undefined);
  if (gone.length > 0 && phase !== 'contract') hazards.push('app-compat');
  for (const k of desired) {
    const want = findViewLike(ctx.desired, k)!;
    const had = findViewLike(ctx.live, k);
    // A column the old application version may read goes away (a column whose type follows a
    // changed table column is what the plan changes anyway).
    if (
      had !== undefined &&
      phase !== 'contract' &&
      had.columns.some((c) => !want.columns.some((w) => w.name === c.name))
    ) {
      hazards.push('app-compat');
    }
    if (want.kind === 'materializedView' && want.withData) hazards.push('blocks-reads');
  }
  const names = (ks: readonly string[]) => ks.map((k) => qualified(...(splitKey(k) as [string, string]))).join(', ');
  const recreated = desired;
  if (recreated.length > 0) notes.push(`${names(recreated)} dropped and created again around it`);
  if (gone.length > 0) notes.push(`${names(gone)} dropped (not in the desired state)`);
  for (const k of recreated) warnRecreated(ctx, k);
  return {
    drop: live.map((k) => dropViewLikeSql(findViewLike(ctx.live, k)!)),
    create: recreated.flatMap((k) => {
      const v = findViewLike(ctx.desired, k)!;
      return [...createViewLikeSql(ctx, v), ...ownerAgainSql(ctx, v)];
    }),
    locks,
    hazards: [...new Set(hazards)],
    edit: (m) => {
      let out = m;
      for (const k of live) out = removeViewLike(out, findViewLike(ctx.live, k)!);
      for (const k of recreated) out = putViewLike(out, findViewLike(ctx.desired, k)!);
      return out;
    },
    touches: [...members].sort().map((k) => touchOf((findViewLike(ctx.desired, k) ?? findViewLike(ctx.live, k))!)),
    note: notes.join('; '),
  };
}

/** Keys of the live views and materialized views that read `column` of `table` (or the whole table). */
export function viewsReading(ctx: PlanContext, table: RelationRef, column: string): string[] {
  return ctx.liveGraph.dependentsOf(objectKey('table', table.schema, table.name), column).filter(isViewKey);
}

/** `[schema, name]` of a view key (`view public.v`). */
function splitKey(key: string): [string, string] {
  const rest = key.slice(keyKind(key).length + 1);
  const dot = rest.indexOf('.');
  return [rest.slice(0, dot), rest.slice(dot + 1)];
}

function warnRecreated(ctx: PlanContext, key: string): void {
  const v = findViewLike(ctx.live, key);
  if (v === undefined) return;
  // An owner the desired state names is set again in the step (ownerAgainSql).
  const owned = ownerOf(ctx.desired, v) !== undefined;
  ctx.warn(
    owned
      ? `${display(v)} is dropped and created again: its grants are not managed by zdm yet, ` +
          'grant them again after the step'
      : `${display(v)} is dropped and created again: its grants and owner are not managed by zdm yet, ` +
          'grant them again after the step (the new one belongs to the role that applies the plan)',
  );
}

// ---------------------------------------------------------------------------------------------
// The plan's own view changes

/**
 * Plans the view changes of the diff (after every other technique, so that views the column
 * techniques rebuild are left out).
 */
export function planViews(ctx: PlanContext, changes: readonly ViewChange[]): void {
  const pending = changes.filter((c) => !ctx.rebuiltViews.has(changeKey(c)));
  // A materialized view swapped for a new one: the views that read the old one are dropped and
  // created again in the swap (also those created before it, when it comes in contract).
  const swaps = new Map<string, { change: ReplaceMaterializedView; views: Set<string> }>();
  for (const c of pending) {
    if (c.kind !== 'replaceMaterializedView') continue;
    const k = viewKey(c.to);
    swaps.set(k, { change: c, views: claimViews(ctx, viewReaders(ctx, k, !swapKeepsReaders(c.from, c.to))) });
  }
  const byKey = new Map<string, ViewChange>();
  for (const c of pending) {
    const k = changeKey(c);
    if (!ctx.rebuiltViews.has(k)) byKey.set(k, c);
  }
  const changed = (k: string): boolean => {
    const c = byKey.get(k);
    return c !== undefined && c.kind !== 'dropView' && c.kind !== 'dropMaterializedView';
  };

  // Views re-created in contract, with what must go with them.
  const group = new Set<string>();
  for (const [k, c] of byKey) if (c.kind === 'recreateView') group.add(k);
  for (let grew = group.size > 0; grew; ) {
    grew = false;
    for (const k of [...group]) {
      const more = [
        ...ctx.liveGraph.dependentsOf(k).filter((d) => isViewKey(d) && !ctx.rebuiltViews.has(d)),
        ...ctx.desiredGraph.dependentsOf(k).filter((d) => changed(d) && !swaps.has(d)),
      ];
      for (const d of more) {
        if (group.has(d)) continue;
        group.add(d);
        grew = true;
      }
    }
  }
  for (const component of components(ctx, group)) planRecreate(ctx, component, byKey);
  for (const [k, { change }] of swaps) {
    const reads = ctx.desiredGraph.dependenciesOf(k).filter((d) => group.has(d));
    if (reads.length > 0) {
      ctx.issue(
        display(change.to),
        `its new query reads ${reads.join(', ')}, which this plan drops and creates again in contract, after the ` +
          'materialized view is built in expand: change them in two plans (the view first)',
      );
    }
  }

  // Creates and replaces in expand, what a view reads first.
  const early = [...byKey.keys()].filter((k) => changed(k) && !group.has(k));
  for (const k of ctx.desiredGraph.order(early)) {
    const c = byKey.get(k)!;
    if (c.kind === 'createView' || c.kind === 'createMaterializedView') planCreate(ctx, c.view, at.expand('views'));
    else if (c.kind === 'replaceView') planReplace(ctx, c);
    else if (c.kind === 'replaceMaterializedView') planMaterializedSwap(ctx, c, swaps.get(k)!.views);
  }

  // Drops in contract, what reads a view first.
  const drops = [...byKey.keys()].filter((k) => !changed(k) && !group.has(k));
  for (const k of ctx.liveGraph.order(drops).reverse()) {
    const c = byKey.get(k)!;
    if (c.kind === 'dropView' || c.kind === 'dropMaterializedView') planDrop(ctx, c.view);
  }
}

/** The parts of `keys` that are connected by the live or desired graph, each in key order. */
function components(ctx: PlanContext, keys: ReadonlySet<string>): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const start of [...keys].sort()) {
    if (seen.has(start)) continue;
    const part: string[] = [];
    const todo = [start];
    seen.add(start);
    while (todo.length > 0) {
      const k = todo.pop()!;
      part.push(k);
      const near = [
        ...ctx.liveGraph.dependentsOf(k),
        ...ctx.liveGraph.dependenciesOf(k),
        ...ctx.desiredGraph.dependentsOf(k),
        ...ctx.desiredGraph.dependenciesOf(k),
      ];
      for (const n of near) {
        if (!keys.has(n) || seen.has(n)) continue;
        seen.add(n);
        todo.push(n);
      }
    }
    out.push(part.sort());
  }
  return out;
}

function planCreate(ctx: PlanContext, v: ViewLike, placement: Placement): void {
  const key = viewKey(v);
  ctx.viewCommentsSet.add(key);
  const populated = v.kind === 'materializedView' && v.withData;
  const what =
    v.kind === 'materializedView'
      ? `create ${display(v)}${v.withData ? '' : ' WITH NO DATA'}${v.indexes.length > 0 ? ` with ${v.indexes.length} index${v.indexes.length === 1 ? '' : 'es'}` : ''}`
      : `create ${display(v)}`;
  ctx.add(
    placement,
    sqlStep(
      populated ? `${what} (runs its query once; reads and writes of the tables go on)` : what,
      createViewLikeSql(ctx, v),
      {
        locks: readLocks(ctx, v, new Set()).map((l) => (populated ? { ...l, hold: 'scan' as const } : l)),
        hazards: populated ? ['long-running'] : [],
      },
    ),
    (m) => putViewLike(m, v),
    [touchOf(v)],
  );
}

/** CREATE OR REPLACE keeps the view's comments, and those of the columns it keeps. */
function keepComments(current: View | undefined, want: View): View {
  const { comment: _c, ...rest } = want;
  const kept = new Map((current?.columns ?? []).map((c) => [c.name, c.comment]));
  return {
    ...rest,
    ...(current?.comment !== undefined ? { comment: current.comment } : {}),
    columns: want.columns.map((c) => {
      const { comment: _cc, ...col } = c;
      const k = kept.get(c.name);
      return k !== undefined ? { ...col, comment: k } : col;
    }),
  };
}

function planReplace(ctx: PlanContext, c: ReplaceView): void {
  const v = c.to;
  const options = c.from.definition === v.definition ? ' (options only)' : '';
  ctx.add(
    at.expand('views'),
    sqlStep(
      `replace ${display(v)}${options} (CREATE OR REPLACE: same columns${v.columns.length > c.from.columns.length ? ', new ones appended' : ''})`,
      [createViewSql(v, true)],
      {
        locks: [lock(v, 'ACCESS EXCLUSIVE'), ...readLocks(ctx, v, new Set([viewKey(v)]))],
      },
    ),
    (m) =>
      putViewLike(
        m,
        keepComments(
          m.schemas.find((s) => s.name === v.schema)?.views.find((x) => x.name === v.name),
          v,
        ),
      ),
    [touchOf(v)],
  );
}

function planDrop(ctx: PlanContext, v: ViewLike): void {
  ctx.add(
    at.contract('dropViews'),
    sqlStep(`drop ${display(v)}`, [dropViewLikeSql(v)], {
      locks: [lock(v, 'ACCESS EXCLUSIVE')],
      hazards: ['app-compat'],
    }),
    (m) => removeViewLike(m, v),
    [touchOf(v)],
  );
}

/** One transaction in contract: drop the group's live views, create its desired ones. */
function planRecreate(ctx: PlanContext, keys: readonly string[], byKey: ReadonlyMap<string, ViewChange>): void {
  const rebuild = rebuildViews(ctx, keys, 'contract');
  if (rebuild === undefined) return;
  const reasons = keys.flatMap((k) => {
    const c = byKey.get(k);
    return c?.kind === 'recreateView' ? [`${qualified(c.to.schema, c.to.name)}: ${c.reason}`] : [];
  });
  const views = keys.map((k) => (findViewLike(ctx.desired, k) ?? findViewLike(ctx.live, k))!);
  const matviewBuilt = views.some(
    (v) => v.kind === 'materializedView' && v.withData && findViewLike(ctx.desired, viewKey(v)),
  );
  ctx.add(
    at.contract('dropViews'),
    sqlStep(
      `drop and create again ${views.map(display).join(', ')} in one transaction (${reasons.join('; ')})` +
        (matviewBuilt ? '; readers of the materialized view wait while its query runs' : ''),
      [...rebuild.drop, ...rebuild.create],
      { locks: rebuild.locks, hazards: ['app-compat', ...rebuild.hazards] },
    ),
    rebuild.edit,
    rebuild.touches,
  );
}
