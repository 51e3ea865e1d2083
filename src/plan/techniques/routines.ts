/**
 * Functions, procedures and triggers.
 *
 * - A new function or procedure, or one `CREATE OR REPLACE` can change (same kind, result type,
 *   argument names and modes, no default removed), is created in expand, before the tables whose
 *   columns, checks and indexes may call it (group `functions`; its body is not checked then,
 *   `check_function_bodies = off`, as pg_dump does); after the tables when its arguments or result are
 *   a new table's row type (`rowTypeFunctions`, before the views that may call it); after the views
 *   when it has a SQL-standard body that reads tables or views, or is over a new view's row type
 *   (`bodyFunctions`, parsed at creation). No lock on any table.
 * - A function whose change `CREATE OR REPLACE` refuses is dropped and created again in contract,
 *   in one transaction with the triggers that execute it (dropped first, created again after it).
 *   Anything else that uses it (a view, a column default, a check) makes the plan refuse, naming it.
 * - A dropped function goes in contract, after the triggers, views, columns and tables that used it;
 *   refused while something zdm does not manage uses it.
 * - A new trigger is created in expand after its table and function (CREATE TRIGGER: SHARE ROW
 *   EXCLUSIVE on the table, which blocks writes for an instant); a changed one is replaced in place
 *   with CREATE OR REPLACE TRIGGER (same lock; it is never missing), except a constraint trigger,
 *   which PostgreSQL cannot replace: dropped and created in one transaction (ACCESS EXCLUSIVE).
 *   ENABLE/DISABLE: SHARE ROW EXCLUSIVE; COMMENT ON TRIGGER: SHARE UPDATE EXCLUSIVE.
 * - A dropped trigger goes first in contract (DROP TRIGGER: ACCESS EXCLUSIVE, for an instant).
 */

import type {
  CreateRoutine,
  CreateTrigger,
  DropRoutine,
  DropTrigger,
  RecreateRoutine,
  RelationRef,
  ReplaceRoutine,
  ReplaceTrigger,
  RoutineChange,
  TriggerChange,
} from '../../diff/changes.js';
import { assertNever } from '../../diff/changes.js';
import { elementTypeName } from '../../model/composite-types.js';
import { isManagedKey, keyKind, relationOfKey } from '../../model/dependencies.js';
import { DEFAULT_GRANTS } from '../../model/grants.js';
import { clipUtf8, qualified } from '../../model/names.js';
import { objectFingerprints, objectKey } from '../../model/objects.js';
import { isRoutineKey, routineKey, routineNotReplaceable, triggerKey } from '../../model/routines.js';
import type { DatabaseModel, Routine, Trigger } from '../../model/types.js';
import { renameColumnSql } from '../../sql/columns.js';
import { quoteIdent } from '../../sql/quote.js';
import {
  commentRoutineSql,
  createRoutineSql,
  createRoutineStatements,
  dropRoutineSql,
  routineSignatureSql,
} from '../../sql/routines.js';
import {
  commentTriggerSql,
  createUserTriggerSql,
  createUserTriggerStatements,
  dropTriggerSql,
  enableTriggerSql,
} from '../../sql/triggers.js';
import { at, lock, type PlanContext, sqlStep, type Touch } from '../context.js';
import { chain, type ModelEdit, mapSchema, omit, withOptional } from '../model-edit.js';
import { mentionsInRow } from '../reparse.js';
import type { LockInfo } from '../types.js';
import { privilegesAgainSql } from './grants.js';
import { ownerAgainSql } from './owners.js';

export type { RoutineChange, TriggerChange };

const RELATION_KINDS = new Set(['table', 'view', 'materializedView']);

export const routineTouch = (r: Routine): Touch => ({
  kind: r.kind,
  schema: r.schema,
  name: r.name,
  key: routineKey(r),
});
export const triggerTouch = (t: Trigger): Touch => ({
  kind: 'trigger',
  schema: t.schema,
  name: t.name,
  key: triggerKey(t),
});

// ---------------------------------------------------------------------------------------------
// Model edits

export function putRoutine(m: DatabaseModel, r: Routine): DatabaseModel {
  const k = routineKey(r);
  return mapSchema(m, r.schema, (s) => ({ ...s, functions: [...s.functions.filter((x) => routineKey(x) !== k), r] }));
}

export function removeRoutine(m: DatabaseModel, r: Routine): DatabaseModel {
  const k = routineKey(r);
  return mapSchema(m, r.schema, (s) => ({ ...s, functions: s.functions.filter((x) => routineKey(x) !== k) }));
}

export function putTrigger(m: DatabaseModel, t: Trigger): DatabaseModel {
  const k = triggerKey(t);
  return mapSchema(m, t.schema, (s) => ({ ...s, triggers: [...s.triggers.filter((x) => triggerKey(x) !== k), t] }));
}

export function removeTrigger(m: DatabaseModel, t: Trigger): DatabaseModel {
  const k = triggerKey(t);
  return mapSchema(m, t.schema, (s) => ({ ...s, triggers: s.triggers.filter((x) => triggerKey(x) !== k) }));
}

// ---------------------------------------------------------------------------------------------
// Locks

/** The lock a trigger statement takes on its table, unless the table is new (no one else sees it). */
function triggerLock(t: Trigger, mode: LockInfo['mode']): LockInfo[] {
  // Declared on a table the plan creates too: the step runs after the table's and takes it there
  // (seen by rehearsal on a partitioned table created in the same expand).
  return [lock({ schema: t.schema, name: t.table }, mode)];
}

// ---------------------------------------------------------------------------------------------
// Routines

/**
 * Whether the desired routine waits for the views (group 'bodyFunctions'): its SQL-standard body
 * reads a table or view, or its arguments or result are the row type of a view the plan creates.
 * One over the row type of a new table only waits for the tables ('rowTypeFunctions', usesRowType):
 * a view may call it (musicbrainz.editor_sanitized selects `(sanitize_editor(editor)).*`).
 */
function readsRelations(ctx: PlanContext, r: Routine): boolean {
  const relations = ctx.desiredGraph.dependenciesOf(routineKey(r)).filter((k) => RELATION_KINDS.has(keyKind(k)));
  if (relations.length === 0) return false;
  if (r.sqlBody === true) return true;
  const liveKeys = objectFingerprints(ctx.live);
  return relations.some((k) => keyKind(k) !== 'table' && !(k in liveKeys));
}

/**
 * Whether the routine's result or an argument is the row type of a desired table or view
 * (`RETURNS SETOF public.customer`): PostgreSQL needs the relation first, so the routine waits for it.
 */
function usesRowType(ctx: PlanContext, r: Routine): boolean {
  const types = [r.returns ?? '', ...r.arguments.map((a) => a.type)].map((t) =>
    elementTypeName(t.replace(/^SETOF\s+/i, '').trim()),
  );
  return ctx.desired.schemas.some((s) =>
    [...s.tables, ...s.views, ...s.materializedViews].some((t) => types.includes(qualified(s.name, t.name))),
  );
}

/**
 * The locks creating a SQL-standard body takes: PostgreSQL parses it then, locking each relation it
 * names as a query would (measured: ROW EXCLUSIVE on the target of an INSERT, UPDATE, DELETE or
 * MERGE, ACCESS SHARE on what it reads). The relations come from the desired graph; the mode from
 * the body as the server prints it (names schema-qualified). A string body locks nothing.
 */
export function bodyLocks(ctx: PlanContext, r: Routine): LockInfo[] {
  if (!r.sqlBody) return [];
  const out: LockInfo[] = [];
  for (const k of ctx.desiredGraph.dependenciesOf(routineKey(r))) {
    // Relations an earlier step of the plan creates too: they exist when the body is parsed (a
    // SQL-standard body is created after what it names), and the lock is taken on them.
    const ref = relationOfKey(k);
    if (ref === undefined) continue;
    const target = `${quoteIdent(ref.schema)}.${quoteIdent(ref.name)}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const written = new RegExp(
      `\\b(UPDATE|INSERT\\s+INTO|DELETE\\s+FROM|MERGE\\s+INTO)\\s+(ONLY\\s+)?${target}\\b`,
      'i',
    );
    out.push(lock(ref, written.test(r.body) ? 'ROW EXCLUSIVE' : 'ACCESS SHARE'));
  }
  return out;
}

function createOrReplace(ctx: PlanContext, c: CreateRoutine | ReplaceRoutine): void {
  const r = c.kind === 'createRoutine' ? c.routine : c.to;
  if (ctx.rebuiltRoutines.has(routineKey(r))) return;
  const what = `${r.kind} ${r.schema}.${r.name}`;
  let sql: string[];
  let summary: string;
  if (c.kind === 'createRoutine') {
    sql = createRoutineStatements(r);
    summary = `create ${what}`;
  } else {
    const { comment: _a, grants: _ga, ...from } = c.from;
    const { comment: _b, grants: _gb, ...to } = c.to;
    const definition = JSON.stringify(from) !== JSON.stringify(to);
    sql = [
      ...(definition ? ['SET LOCAL check_function_bodies = off', createRoutineSql(r, { replace: true })] : []),
      ...(c.from.comment !== c.to.comment ? [commentRoutineSql(r, c.to.comment)] : []),
    ];
    summary = definition ? `replace ${what}` : `${c.to.comment === undefined ? 'remove' : 'set'} comment on ${what}`;
  }
  ctx.add(
    at.expand(readsRelations(ctx, r) ? 'bodyFunctions' : usesRowType(ctx, r) ? 'rowTypeFunctions' : 'functions'),
    sqlStep(summary, sql, { locks: sql.some((q) => q.startsWith('CREATE')) ? bodyLocks(ctx, r) : [] }),
    (m) => putRoutine(m, r),
    [routineTouch(r)],
  );
}

/**
 * Drop and create again, with the triggers that execute the routine; refused when anything else
 * depends on it (PostgreSQL would refuse the DROP).
 */
function recreate(ctx: PlanContext, c: RecreateRoutine, claimed: Set<string>): void {
  const key = routineKey(c.from);
  const dependents = ctx.liveGraph.dependentsOf(key);
  const triggers = dependents.filter((k) => keyKind(k) === 'trigger');
  const others = dependents.filter((k) => keyKind(k) !== 'trigger');
  if (others.length > 0) {
    ctx.issue(
      `${c.to.kind} ${c.to.schema}.${c.to.name}`,
      `${c.reason}, so it must be dropped and created again, and ${others.join(', ')} use${others.length === 1 ? 's' : ''} it: ` +
        'change them in a plan of their own first',
    );
    return;
  }
  const swapped = triggers.filter((k) => ctx.rebuiltTriggers.has(k));
  if (swapped.length > 0) {
    ctx.issue(
      `${c.to.kind} ${c.to.schema}.${c.to.name}`,
      `${c.reason}, so it must be dropped and created again, and ${swapped.join(', ')} ` +
        `(re-created around a column swap of this plan) execute${swapped.length === 1 ? 's' : ''} it: change it in a plan of its own first`,
    );
    return;
  }
  const liveTriggers = triggers.map((k) => findTrigger(ctx.live, k)).filter((t): t is Trigger => t !== undefined);
  const desiredTriggers = triggers.map((k) => findTrigger(ctx.desired, k)).filter((t): t is Trigger => t !== undefined);
  for (const k of triggers) claimed.add(k);
  const what = `${c.to.kind} ${c.to.schema}.${c.to.name}`;
  ctx.add(
    at.contract('recreateFunctions'),
    sqlStep(
      `drop and create again ${what} (${c.reason})${liveTriggers.length > 0 ? `, with triggers ${liveTriggers.map((t) => `${t.name} on ${t.schema}.${t.table}`).join(', ')}` : ''}`,
      [
        ...liveTriggers.map((t) => dropTriggerSql(t.name, { schema: t.schema, name: t.table })),
        dropRoutineSql(c.from),
        ...createRoutineStatements(c.to),
        ...privilegesAgainSql(c.to, DEFAULT_GRANTS.routine, c.to.grants ?? c.from.grants ?? DEFAULT_GRANTS.routine),
        ...(c.to.kind === 'aggregate' ? [] : ownerAgainSql(ctx, { ...c.to, kind: c.to.kind })),
        ...desiredTriggers.flatMap((t) => createUserTriggerStatements(t)),
      ],
      { locks: [...liveTriggers.flatMap((t) => triggerLock(t, 'ACCESS EXCLUSIVE')), ...bodyLocks(ctx, c.to)] },
    ),
    chain(
      ...liveTriggers.map(
        (t): ModelEdit =>
          (m) =>
            removeTrigger(m, t),
      ),
      (m) => putRoutine(removeRoutine(m, c.from), c.to),
      ...desiredTriggers.map(
        (t): ModelEdit =>
          (m) =>
            putTrigger(m, t),
      ),
    ),
    [routineTouch(c.to), ...liveTriggers.map(triggerTouch), ...desiredTriggers.map(triggerTouch)],
  );
}

function drop(ctx: PlanContext, c: DropRoutine): void {
  const r = c.routine;
  const unmanaged = ctx.liveGraph.dependentsOf(routineKey(r)).filter((k) => !isManagedKey(k));
  if (unmanaged.length > 0) {
    ctx.issue(
      `${r.kind} ${r.schema}.${r.name}`,
      `${unmanaged.join(', ')} (not managed by zdm) use${unmanaged.length === 1 ? 's' : ''} it: PostgreSQL refuses to drop it; drop or change ${unmanaged.length === 1 ? 'it' : 'them'} first`,
    );
    return;
  }
  ctx.add(
    at.contract('dropFunctions'),
    sqlStep(`drop ${r.kind} ${r.schema}.${r.name}`, [dropRoutineSql(r)]),
    (m) => removeRoutine(m, r),
    [routineTouch(r)],
  );
}

// ---------------------------------------------------------------------------------------------
// Triggers

function findTrigger(m: DatabaseModel, key: string): Trigger | undefined {
  for (const s of m.schemas) for (const t of s.triggers) if (triggerKey(t) === key) return t;
  return undefined;
}

function createTrigger(ctx: PlanContext, c: CreateTrigger): void {
  const t = c.trigger;
  const locks = [
    ...triggerLock(t, 'SHARE ROW EXCLUSIVE'),
    ...(t.comment !== undefined ? triggerLock(t, 'SHARE UPDATE EXCLUSIVE') : []),
  ];
  ctx.add(
    at.expand('triggers'),
    sqlStep(`create trigger ${t.name} on ${t.schema}.${t.table}`, createUserTriggerStatements(t), { locks }),
    (m) => putTrigger(m, t),
    [triggerTouch(t)],
  );
}

function dropTrigger(ctx: PlanContext, c: DropTrigger): void {
  const t = c.trigger;
  ctx.add(
    at.contract('dropTriggers'),
    sqlStep(
      `drop trigger ${t.name} on ${t.schema}.${t.table}`,
      [dropTriggerSql(t.name, { schema: t.schema, name: t.table })],
      { locks: triggerLock(t, 'ACCESS EXCLUSIVE') },
    ),
    (m) => removeTrigger(m, t),
    [triggerTouch(t)],
  );
}

/** The enabled state and the comment of `to`, where `from` (as the step leaves it) differs. */
function stateSql(from: Trigger | undefined, to: Trigger): { sql: string[]; locks: LockInfo[] } {
  const sql: string[] = [];
  const modes: LockInfo['mode'][] = [];
  if ((from?.enabled ?? 'origin') !== (to.enabled ?? 'origin')) {
    sql.push(enableTriggerSql(to));
    modes.push('SHARE ROW EXCLUSIVE');
  }
  if (from?.comment !== to.comment) {
    sql.push(commentTriggerSql(to, to.comment));
    modes.push('SHARE UPDATE EXCLUSIVE');
  }
  return { sql, locks: modes.flatMap((m) => triggerLock(to, m)) };
}

function replaceTrigger(ctx: PlanContext, c: ReplaceTrigger): void {
  const { from, to } = c;
  const name = `trigger ${to.name} on ${to.schema}.${to.table}`;
  // PostgreSQL 14+ (every version zdm supports) has CREATE OR REPLACE TRIGGER.
  if (from.constraint === undefined && to.constraint === undefined) {
    // CREATE OR REPLACE TRIGGER keeps the trigger's comment and sets it enabled (ENABLE).
    const { enabled: _enabled, ...replaced } = from;
    const state = stateSql(replaced, to);
    ctx.add(
      at.expand('triggers'),
      sqlStep(`replace ${name}`, [createUserTriggerSql(to, { replace: true }), ...state.sql], {
        locks: [...triggerLock(to, 'SHARE ROW EXCLUSIVE'), ...state.locks],
      }),
      (m) => putTrigger(m, to),
      [triggerTouch(to)],
    );
    return;
  }
  // A constraint trigger cannot be replaced: dropped and created in one transaction.
  ctx.add(
    at.expand('triggers'),
    sqlStep(
      `drop and create again ${name} (a constraint trigger cannot be replaced)`,
      [dropTriggerSql(from.name, { schema: from.schema, name: from.table }), ...createUserTriggerStatements(to)],
      { locks: triggerLock(to, 'ACCESS EXCLUSIVE') },
    ),
    (m) => putTrigger(m, to),
    [triggerTouch(to)],
  );
}

function alterTrigger(ctx: PlanContext, from: Trigger, to: Trigger): void {
  const state = stateSql(from, to);
  ctx.add(
    at.expand('triggers'),
    sqlStep(`alter trigger ${to.name} on ${to.schema}.${to.table}`, state.sql, { locks: state.locks }),
    (m) => putTrigger(m, to),
    [triggerTouch(to)],
  );
}

// ---------------------------------------------------------------------------------------------

/**
 * Plans every routine and trigger change, after the other changes: routine creates in the order of
 * the desired graph, drops in the reverse order of the live one.
 */
export function planRoutinesAndTriggers(ctx: PlanContext, changes: readonly (RoutineChange | TriggerChange)[]): void {
  const claimed = new Set<string>(ctx.rebuiltTriggers);
  const routineChanges = changes.filter((c): c is RoutineChange => c.kind.endsWith('Routine'));
  const keyOf = (c: RoutineChange) =>
    routineKey(c.kind === 'createRoutine' || c.kind === 'dropRoutine' ? c.routine : c.to);
  const byKey = new Map(routineChanges.map((c) => [keyOf(c), c]));
  const creates = ctx.desiredGraph.order(routineChanges.filter((c) => c.kind !== 'dropRoutine').map(keyOf));
  const drops = ctx.liveGraph.order(routineChanges.filter((c) => c.kind === 'dropRoutine').map(keyOf)).reverse();
  for (const k of creates) {
    const c = byKey.get(k)!;
    if (c.kind === 'recreateRoutine') recreate(ctx, c, claimed);
    else if (c.kind === 'createRoutine' || c.kind === 'replaceRoutine') createOrReplace(ctx, c);
  }
  for (const k of drops) drop(ctx, byKey.get(k) as DropRoutine);
  for (const c of changes) {
    switch (c.kind) {
      case 'createRoutine':
      case 'dropRoutine':
      case 'replaceRoutine':
      case 'recreateRoutine':
        break;
      case 'createTrigger':
        if (!claimed.has(triggerKey(c.trigger))) createTrigger(ctx, c);
        break;
      case 'dropTrigger':
        if (!claimed.has(triggerKey(c.trigger))) dropTrigger(ctx, c);
        break;
      case 'replaceTrigger':
        if (!claimed.has(triggerKey(c.to))) replaceTrigger(ctx, c);
        break;
      case 'alterTrigger':
        if (!claimed.has(triggerKey(c.to))) alterTrigger(ctx, c.from, c.to);
        break;
      default:
        assertNever(c);
    }
  }
}

const KINDS = new Set<string>([
  'createRoutine',
  'dropRoutine',
  'replaceRoutine',
  'recreateRoutine',
  'createTrigger',
  'dropTrigger',
  'replaceTrigger',
  'alterTrigger',
]);

export function isRoutineOrTriggerChange(c: { readonly kind: string }): c is RoutineChange | TriggerChange {
  return KINDS.has(c.kind);
}

// ---------------------------------------------------------------------------------------------
// Triggers dropped and created again around a column swap

export interface TriggerRebuild {
  readonly drop: readonly string[];
  /** CREATE TRIGGER (with its enabled state and comment), as the desired state has the triggers. */
  readonly create: readonly string[];
  readonly edit: ModelEdit;
  readonly touches: readonly Touch[];
  /** `trigger doc_touch on public.doc dropped and created again around it`, for the step's summary. */
  readonly note: string;
}

/** Whether the trigger names `column` (UPDATE OF, or its WHEN condition). */
const triggerNames = (t: Trigger, column: string): boolean =>
  (t.columns ?? []).includes(column) || (t.when !== undefined && mentionsInRow(t.when, column));

/**
 * Keys of the triggers on `table` that the desired state keeps and that name `column` (live), or,
 * when `desiredColumn` is given, that the desired state has naming it: those a swap that drops
 * `column` must take along.
 */
export function triggersNaming(ctx: PlanContext, table: RelationRef, column: string, desiredColumn?: string): string[] {
  const on = (m: DatabaseModel) =>
    m.schemas.find((s) => s.name === table.schema)?.triggers.filter((t) => t.table === table.name) ?? [];
  const keep = new Set(on(ctx.desired).map(triggerKey));
  const found = [
    ...on(ctx.live).filter((t) => triggerNames(t, column)),
    // As expand leaves them: a trigger widened to name both columns of a rename names `column`.
    ...[...ctx.widenedTriggers.values()].filter(
      (t) => t.schema === table.schema && t.table === table.name && triggerNames(t, column),
    ),
    ...(desiredColumn === undefined ? [] : on(ctx.desired).filter((t) => triggerNames(t, desiredColumn))),
  ].map(triggerKey);
  return [...new Set(found.filter((k) => keep.has(k)))].sort();
}

/**
 * The triggers `keys` (see `triggersNaming`) dropped before a column swap and created again after
 * it, in its transaction, as the desired state has them; taken out of the rest of the trigger
 * planning (`ctx.rebuiltTriggers`). DROP TRIGGER takes ACCESS EXCLUSIVE on the table, CREATE
 * TRIGGER SHARE ROW EXCLUSIVE (../shared/pg-locks.md): the swap holds ACCESS EXCLUSIVE already.
 */
export function rebuildTriggers(ctx: PlanContext, keys: readonly string[]): TriggerRebuild | undefined {
  const desired = keys.map((k) => findTrigger(ctx.desired, k)).filter((t): t is Trigger => t !== undefined);
  if (desired.length === 0) return undefined;
  // As expand leaves them (widened to both columns of a rename, or created so), else as live.
  const live = keys
    .map((k) => ctx.widenedTriggers.get(k) ?? findTrigger(ctx.live, k))
    .filter((t): t is Trigger => t !== undefined);
  for (const t of desired) ctx.rebuiltTriggers.add(triggerKey(t));
  return {
    drop: live.map((t) => dropTriggerSql(t.name, { schema: t.schema, name: t.table })),
    create: desired.flatMap((t) => createUserTriggerStatements(t)),
    edit: chain(
      ...live.map(
        (t): ModelEdit =>
          (m) =>
            removeTrigger(m, t),
      ),
      ...desired.map(
        (t): ModelEdit =>
          (m) =>
            putTrigger(m, t),
      ),
    ),
    touches: desired.map(triggerTouch),
    note: `${desired.map(triggerKey).join(', ')} dropped and created again around it`,
  };
}

// ---------------------------------------------------------------------------------------------
// Triggers widened to both columns of a rename

/**
 * While a rename's two columns are kept in sync, each application version writes its own: the old
 * one `SET old = …`, the new one `SET new = …`. A trigger `UPDATE OF old` fires only for a statement
 * that names `old` in its SET list (the sync trigger's `NEW.old := …` does not count), so it would
 * miss every update of the new version until contract; one `UPDATE OF new` every update of the old
 * version. So in expand, after the new column:
 *
 * - a live trigger on `table` whose UPDATE OF names `column`, that the desired state keeps, is
 *   re-created with `UPDATE OF …, newColumn` too;
 * - a trigger the desired state has with UPDATE OF `newColumn` (new, or changed to name it) is
 *   created (or re-created) with `UPDATE OF …, column` too.
 *
 * CREATE [OR REPLACE] TRIGGER: SHARE ROW EXCLUSIVE on the table, for an instant; a replaced trigger
 * is never missing and keeps its comment. Such a trigger fires for either version's update of the
 * column, and for the backfill's (which names `newColumn`: the step declares `fires-user-triggers`).
 * Contract drops it and creates it as the desired state has it, with the swap (`triggersNaming`
 * finds it in `ctx.widenedTriggers`); `zdm rollback` before it puts it back as it was (the step's
 * `undo`). Left as they are: a disabled trigger (it fires for neither), a constraint trigger
 * (PostgreSQL cannot replace one in place).
 *
 * A BEFORE ROW trigger that fires before the sync trigger `syncName` (triggers of one event fire in
 * name order) sees the new version's update with `column` not set from `newColumn` yet, in its WHEN
 * and its function: the plan warns, naming it.
 */
export function widenTriggers(
  ctx: PlanContext,
  table: RelationRef,
  column: string,
  newColumn: string,
  syncName: string,
): void {
  const on = (m: DatabaseModel) =>
    m.schemas.find((s) => s.name === table.schema)?.triggers.filter((t) => t.table === table.name) ?? [];
  const desired = new Map(on(ctx.desired).map((t) => [triggerKey(t), t]));
  const names = (t: Trigger, c: string) => (t.columns ?? []).includes(c);
  const widenable = (t: Trigger) => t.constraint === undefined && t.enabled !== 'disabled';
  const early = on(ctx.live).filter(
    (t) =>
      t.timing === 'before' &&
      t.forEach === 'row' &&
      t.events.includes('update') &&
      t.enabled !== 'disabled' &&
      t.name < syncName &&
      desired.has(triggerKey(t)) &&
      triggerNames(t, column),
  );
  for (const t of early) {
    ctx.warn(
      `trigger ${t.name} on ${qualified(table.schema, table.name)} fires before the sync trigger ${syncName} ` +
        `(BEFORE triggers fire in name order): until contract, for the new application version's updates of ` +
        `${newColumn} its WHEN and its function see ${column} not yet set from ${newColumn}`,
    );
  }
  const liveKeys = new Map(on(ctx.live).map((t) => [triggerKey(t), t]));
  for (const want of desired.values()) {
    const k = triggerKey(want);
    const live = liveKeys.get(k);
    if (!widenable(want) || (live !== undefined && !widenable(live))) continue;
    // The trigger as expand has it so far (widened for another rename of the table, or as live).
    const widened = ctx.widenedTriggers.get(k);
    const current = widened ?? live;
    if (current !== undefined && names(current, column) && !names(current, newColumn)) {
      widen(ctx, current, { ...current, columns: [...current.columns!, newColumn] }, column, newColumn);
      continue;
    }
    const base = widened ?? want;
    if (names(base, newColumn) && !names(base, column)) {
      widen(ctx, current, { ...base, columns: [...base.columns!, column] }, column, newColumn);
    }
  }
}

/**
 * One trigger re-created (or created) as `widened` in expand; undone by putting it back as it was
 * before the step (`live`), or by dropping it (`undefined`: not there before).
 */
function widen(ctx: PlanContext, live: Trigger | undefined, widened: Trigger, column: string, newColumn: string): void {
  const { comment, ...uncommented } = widened;
  // CREATE OR REPLACE TRIGGER keeps a replaced trigger's comment and sets it ENABLE: the enabled
  // state is set again; a new trigger gets the desired comment.
  const sql = createUserTriggerStatements(live === undefined ? widened : uncommented, { replace: live !== undefined });
  const undo =
    live === undefined
      ? [dropTriggerSql(widened.name, { schema: widened.schema, name: widened.table }, { ifExists: true })]
      : createUserTriggerStatements(omit(live, 'comment'), { replace: true });
  const kept: Trigger =
    live === undefined ? widened : withOptional<Trigger, 'comment'>(uncommented, 'comment', live.comment);
  ctx.widenedTriggers.set(triggerKey(widened), kept);
  ctx.add(
    at.expand('triggers'),
    sqlStep(
      `${live === undefined ? 'create' : 'replace'} trigger ${widened.name} on ${widened.schema}.${widened.table} ` +
        `with UPDATE OF ${widened.columns!.join(', ')} while ${column} and ${newColumn} are kept in sync (both application versions' updates fire it)`,
      sql,
      {
        locks: [
          ...triggerLock(widened, 'SHARE ROW EXCLUSIVE'),
          ...(live === undefined && comment !== undefined ? triggerLock(widened, 'SHARE UPDATE EXCLUSIVE') : []),
        ],
        undo,
      },
    ),
    (m) => putTrigger(m, kept),
    [triggerTouch(widened)],
  );
}

// ---------------------------------------------------------------------------------------------
// Routines with a SQL-standard body replaced around a column change

export interface RoutineRebuild {
  /** Before the change: each routine's body replaced by one that reads nothing (CREATE OR REPLACE). */
  readonly before: readonly string[];
  /** After it: each routine replaced as the desired state has it (or as it is, see `rebuildRoutines`). */
  readonly after: readonly string[];
  readonly locks: readonly LockInfo[];
  readonly edit: ModelEdit;
  readonly touches: readonly Touch[];
  /** `function public.f(integer) replaced around it`, for the step's summary. */
  readonly note: string;
}

function findRoutine(m: DatabaseModel, key: string): Routine | undefined {
  for (const s of m.schemas) for (const r of s.functions) if (routineKey(r) === key) return r;
  return undefined;
}

/**
 * Keys of the routines that the desired state keeps and that read `column` of `table` (live graph:
 * PostgreSQL records the column in pg_depend for a SQL-standard body, and refuses to drop or retype
 * it under one; without a column, that read the table), or, when `desiredColumn` is given, that
 * the desired state has reading it; with
 * `dropped`, also those the desired state drops (they go in contract after the columns: group
 * dropFunctions).
 */
export function routinesReading(
  ctx: PlanContext,
  table: RelationRef,
  column: string | undefined,
  desiredColumn?: string,
  dropped = false,
): string[] {
  const key = objectKey('table', table.schema, table.name);
  const found = [
    ...ctx.liveGraph.columnDependentsOf(key, column),
    ...(desiredColumn === undefined ? [] : ctx.desiredGraph.columnDependentsOf(key, desiredColumn)),
  ];
  const wanted = (k: string) =>
    findRoutine(ctx.desired, k) !== undefined || (dropped && findRoutine(ctx.live, k) !== undefined);
  return [...new Set(found.filter((k) => isRoutineKey(k) && wanted(k)))].sort();
}

/** The routine with a body that reads nothing (`SELECT NULL`, not parsed: check_function_bodies is off). */
function bodyless(r: Routine): Routine {
  const { sqlBody: _s, ...rest } = r;
  return { ...rest, body: 'SELECT NULL' };
}

/**
 * The routines `keys` (see `routinesReading`) kept through a column change without dropping them:
 * before it, `CREATE OR REPLACE` gives each a string body that reads nothing (PostgreSQL forgets
 * the column in pg_depend), after it, `CREATE OR REPLACE` as the desired state has it. Their OID,
 * privileges, owner, comment and whatever uses them (views, policies, defaults) stay; callers see
 * one or the other body, as the transaction commits. Taken out of the rest of the routine planning
 * (`ctx.rebuiltRoutines`). In expand, a routine whose change `CREATE OR REPLACE` cannot make
 * (dropped and created again in contract) is put back as it is, and left to that step; in contract
 * one the desired state drops (group dropFunctions, after the columns) is only emptied. A body
 * locks what it reads (`bodyLocks`); the replacement with a string body none.
 */
export function rebuildRoutines(
  ctx: PlanContext,
  keys: readonly string[],
  phase: 'expand' | 'contract',
): RoutineRebuild | undefined {
  const pairs = keys.flatMap((k) => {
    const want = findRoutine(ctx.desired, k);
    const had = findRoutine(ctx.live, k);
    // One the desired state drops (in contract, after the columns) is only emptied.
    if (want === undefined)
      return phase === 'contract' && had !== undefined ? [{ key: k, now: had, claim: false, gone: true }] : [];
    const replaceable = had === undefined || routineNotReplaceable(had, want) === undefined;
    // In expand a routine CREATE OR REPLACE cannot change is still as it is live; in contract the
    // step that drops and creates it again (group recreateFunctions) came first. A new one is
    // created in expand.
    return [
      {
        key: k,
        now: phase === 'expand' && !replaceable ? had! : want,
        claim: had !== undefined && replaceable,
        gone: false,
      },
    ];
  });
  const kept = pairs.filter((p) => !p.gone);
  const gone = pairs.filter((p) => p.gone);
  if (pairs.length === 0) return undefined;
  const names = (ps: readonly { now: Routine }[]) =>
    ps.map((p) => `${p.now.kind} ${routineSignatureSql(p.now)}`).join(', ');
  for (const p of pairs) if (p.claim) ctx.rebuiltRoutines.add(p.key);
  const comment = (r: Routine): string[] => {
    const had = findRoutine(ctx.live, routineKey(r));
    return had !== undefined && had.comment !== r.comment ? [commentRoutineSql(r, r.comment)] : [];
  };
  return {
    before: [
      'SET LOCAL check_function_bodies = off',
      ...pairs.map((p) => createRoutineSql(bodyless(p.now), { replace: true })),
    ],
    after: kept.flatMap((p) => [createRoutineSql(p.now, { replace: true }), ...(p.claim ? comment(p.now) : [])]),
    locks: kept.flatMap((p) => bodyLocks(ctx, p.now)),
    edit: chain(
      ...pairs.map(
        (p): ModelEdit =>
          (m) =>
            putRoutine(m, p.gone ? bodyless(p.now) : p.now),
      ),
    ),
    touches: pairs.map((p) => routineTouch(p.now)),
    note: [
      ...(kept.length > 0 ? [`${names(kept)} replaced around it`] : []),
      ...(gone.length > 0 ? [`${names(gone)} emptied first (dropped later)`] : []),
    ].join('; '),
  };
}

/**
 * Before the swap that ends a rename or a type change through a second column (replace-column's
 * contract step): each routine with a SQL-standard body that reads the old column, which the
 * desired state keeps (and CREATE OR REPLACE can make), replaced as the desired state has it, in a
 * step of its own, so that its body reads the new column already.
 *
 * Why before, and not only in the swap's transaction: a caller reads the routine's body (a parse
 * tree, columns by number) before its query locks the table. One that starts while the swap holds
 * the table gets the body the catalog had before it, waits, and runs that body once the old column
 * is gone: "attribute 2 of type users has been dropped". Replaced before the swap, the body it gets
 * reads the new column, which the swap keeps (and renames: the body follows it by number).
 *
 * A rename's new column has its final name already. A type change's (`shadow`) gets it only in the
 * swap: the step gives it the final name for the moment of the CREATE OR REPLACE, under ACCESS
 * EXCLUSIVE on the table, and the old one back before it commits (`…_zdm_old` in between); no one
 * else sees the names change.
 *
 * Returns the keys of the routines it replaced (and took out of the rest of the routine planning):
 * their bodies no longer read the old column, so the swap leaves them alone.
 */
export function replaceRoutinesBeforeSwap(
  ctx: PlanContext,
  table: RelationRef,
  column: string,
  shadow?: string,
): ReadonlySet<string> {
  const replaced = new Set<string>();
  for (const k of routinesReading(ctx, table, column, shadow === undefined ? undefined : column)) {
    const want = findRoutine(ctx.desired, k);
    const had = findRoutine(ctx.live, k);
    if (want === undefined || had === undefined || !want.sqlBody || routineNotReplaceable(had, want) !== undefined) {
      continue;
    }
    replaced.add(k);
    ctx.rebuiltRoutines.add(k);
    const create = createRoutineSql(want, { replace: true });
    const aside = `${clipUtf8(column, 50)}_zdm_old`;
    ctx.add(
      at.contract('dropColumns'),
      sqlStep(
        `replace ${want.kind} ${routineSignatureSql(want)} to read ${qualified(table.schema, table.name)}'s new column before the old one goes`,
        shadow === undefined
          ? [create]
          : [
              renameColumnSql(table, column, aside),
              renameColumnSql(table, shadow, column),
              create,
              renameColumnSql(table, column, shadow),
              renameColumnSql(table, aside, column),
            ],
        { locks: [...(shadow === undefined ? [] : [lock(table, 'ACCESS EXCLUSIVE')]), ...bodyLocks(ctx, want)] },
      ),
      (m) => putRoutine(m, want),
      [routineTouch(want)],
    );
  }
  return replaced;
}
