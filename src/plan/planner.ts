/**
 * `planChanges(live, desired, options)`: the diff's changes, each through its technique (see
 * techniques/), ordered by the groups of order.ts into the three phases, with the fingerprint the
 * schema must have before and after each phase.
 *
 * The model after each phase is computed by applying each step's model edit to the live model, and
 * the model after contract must equal the desired one: when it does not, the planner has a bug and
 * says so instead of writing a plan that apply would reject.
 */
import { type Change, type ChangeKind, describeChange, isSwapChange, type SetComment } from '../diff/changes.js';
import { diffModels, type TypeChangePath } from '../diff/diff.js';
import { tableRenames, withTableRenames } from '../diff/renames.js';
import { canonicalize, fingerprint, modelsEqual, stableStringify } from '../model/canonical.js';
import { ABSENT, objectKey, readObjectFingerprints, withoutJournal } from '../model/objects.js';
import type { DatabaseModel, Table } from '../model/types.js';
import { withChecksum } from './checksum.js';
import { type Action, PlanContext, rootTable, type Touch, touchKey } from './context.js';
import { PlanningError } from './errors.js';
import { slugify } from './names.js';
import { groupIndex } from './order.js';
import { anticipateReparse } from './reparse.js';
import * as casts from './techniques/casts.js';
import * as collations from './techniques/collations.js';
import * as columns from './techniques/columns.js';
import { isCompositeTypeChange, planCompositeTypes } from './techniques/composite-types.js';
import * as constraints from './techniques/constraints.js';
import { planChangeGrants } from './techniques/grants.js';
import * as indexes from './techniques/indexes.js';
import * as materializedViews from './techniques/materialized-views.js';
import { checkNotNullNamesSupported } from './techniques/not-null-names.js';
import * as objects from './techniques/objects.js';
import { planChangeOwner } from './techniques/owners.js';
import * as partitionSwap from './techniques/partition-swap/index.js';
import * as policies from './techniques/policies.js';
import { planRenameTable } from './techniques/rename-table.js';
import { planRenamesWithViews, type RenamePath } from './techniques/rename-views.js';
import { planReplaceColumn } from './techniques/replace-column/index.js';
import * as routines from './techniques/routines.js';
import * as tableProperties from './techniques/table-properties.js';
import * as tables from './techniques/tables.js';
import * as textSearch from './techniques/text-search.js';
import * as views from './techniques/views.js';
import { PHASES, type Phase, type PhaseName, type Plan, type Step } from './types.js';

export interface PlanOptions {
  /** Plan id, e.g. `20261125T120000Z-add-orders-check` (see defaultPlanPath). */
  readonly id: string;
  /** ISO 8601 UTC time the plan is made at; an input so that plans are reproducible. */
  readonly createdAt: string;
  readonly zdmVersion: string;
  /** sha256 of the desired-state input (`sha256:…`). */
  readonly desiredSha256: string;
  /** `PostgreSQL 16.4`; its major version also picks techniques (e.g. NOT VALID FKs on partitioned tables need 18). */
  readonly serverVersion: string;
  /**
   * Rows per table, by `schema.table` (exact counts or the live estimate `pg_class.reltuples`). Only
   * `0` is used: such a table is treated as empty (a NOT NULL column without default may be added,
   * blocking operations are instant). Tables not listed may have rows.
   */
  readonly rowCounts?: Readonly<Record<string, number>>;
  /** Rows per backfill batch. Default 5000. */
  readonly batchSize?: number;
  /**
   * For a table the plan partitions (partition swap): how many of its live rows fall into no
   * partition of the desired state, by `schema.table` (counted by makePlan). Such rows make the
   * plan fail with the count; tables not listed are not checked.
   */
  readonly rowsOutsidePartitions?: Readonly<Record<string, number>>;
  /**
   * The role that makes the plan (and is expected to apply it) reads every row whatever row level
   * security says: a superuser or a BYPASSRLS role (read by makePlan). A partition swap that keeps
   * FORCE ROW LEVEL SECURITY on needs it: its copy reads the live table as that role. Default: not.
   */
  readonly bypassesRowSecurity?: boolean;
  /** How renames are planned: a copied column (default), or version schemas of views (rename-views.ts). */
  readonly renames?: RenamePath;
  /**
   * How a column type change that rewrites a plain table is planned: a replacement column kept in
   * sync and backfilled (`column`, the default), or the table copied into a new one and swapped in
   * by contract (`swap`, partition-swap/index.ts planRewriteTable).
   */
  readonly typeChanges?: TypeChangePath;
}

export interface PlanResult {
  readonly plan: Plan;
  /** Things a reviewer should know that do not stop the plan (a foreign key without an index…). */
  readonly warnings: readonly string[];
  /** The diff the plan was made from. */
  readonly changes: readonly Change[];
  /** Expected model after each phase (after contract: equal to the desired model). */
  readonly models: Readonly<Record<PhaseName, DatabaseModel>>;
}

type Handlers = { readonly [K in ChangeKind]: (ctx: PlanContext, change: Extract<Change, { kind: K }>) => void };

/** The technique for each kind of change: a forgotten kind is a compile error. */
const HANDLERS: Handlers = {
  createExtension: objects.planCreateExtension,
  dropExtension: objects.planDropExtension,
  alterExtensionSchema: objects.planAlterExtensionSchema,
  alterExtensionVersion: objects.planAlterExtensionVersion,
  changeGrants: planChangeGrants,
  changeOwner: planChangeOwner,
  createPolicy: policies.planCreatePolicy,
  dropPolicy: policies.planDropPolicy,
  alterPolicy: policies.planAlterPolicy,
  // Gathered and planned together (planCompositeTypes): creates in the order their attributes need.
  createCast: casts.planCreateCast,
  dropCast: casts.planDropCast,
  replaceCast: casts.planReplaceCast,
  commentCast: casts.planCommentCast,
  createCollation: collations.planCreateCollation,
  commentCollation: collations.planCommentCollation,
  dropCollation: collations.planDropCollation,
  createTextSearchConfiguration: textSearch.planCreateTextSearchConfiguration,
  alterTextSearchConfiguration: textSearch.planAlterTextSearchConfiguration,
  dropTextSearchConfiguration: textSearch.planDropTextSearchConfiguration,
  createCompositeType: () => {},
  dropCompositeType: () => {},
  alterCompositeType: () => {},
  createSchema: objects.planCreateSchema,
  dropSchema: objects.planDropSchema,
  createEnum: objects.planCreateEnum,
  dropEnum: objects.planDropEnum,
  addEnumValue: objects.planAddEnumValue,
  createDomain: objects.planCreateDomain,
  dropDomain: objects.planDropDomain,
  alterDomain: objects.planAlterDomain,
  createSequence: objects.planCreateSequence,
  dropSequence: objects.planDropSequence,
  alterSequence: objects.planAlterSequence,
  createTable: tables.planCreateTable,
  dropTable: tables.planDropTable,
  setTableLogged: tables.planSetTableLogged,
  setStorageParameters: tableProperties.planSetStorageParameters,
  setRowLevelSecurity: tableProperties.planSetRowLevelSecurity,
  setReplicaIdentity: tableProperties.planSetReplicaIdentity,
  setClusterOn: tableProperties.planSetClusterOn,
  addColumn: columns.planAddColumn,
  dropColumn: columns.planDropColumn,
  alterColumn: columns.planAlterColumn,
  replaceColumn: planReplaceColumn,
  renameTable: planRenameTable,
  addPrimaryKey: constraints.planAddPrimaryKey,
  dropPrimaryKey: constraints.planDropPrimaryKey,
  addUnique: constraints.planAddUnique,
  dropUnique: constraints.planDropUnique,
  addCheck: constraints.planAddCheck,
  dropCheck: constraints.planDropCheck,
  validateCheck: constraints.planValidateCheck,
  addForeignKey: constraints.planAddForeignKey,
  dropForeignKey: constraints.planDropForeignKey,
  validateForeignKey: constraints.planValidateForeignKey,
  addExclusion: constraints.planAddExclusion,
  dropExclusion: constraints.planDropExclusion,
  createIndex: indexes.planCreateIndex,
  dropIndex: indexes.planDropIndex,
  repairIndex: indexes.planRepairIndex,
  addPartition: tables.planAddPartition,
  dropPartition: tables.planDropPartition,
  partitionTable: partitionSwap.planPartitionTable,
  unpartitionTable: partitionSwap.planUnpartitionTable,
  rewriteTable: partitionSwap.planRewriteTable,
  // Views are gathered and planned together, in dependency order, after every other change
  // (views.planViews); so are comments, one step per object (objects.planComments).
  createView: () => {},
  dropView: () => {},
  replaceView: () => {},
  recreateView: () => {},
  createMaterializedView: () => {},
  dropMaterializedView: () => {},
  replaceMaterializedView: () => {},
  alterMaterializedView: materializedViews.planAlterMaterializedView,
  // Functions, procedures and triggers likewise, after the views (routines.planRoutinesAndTriggers).
  createRoutine: () => {},
  dropRoutine: () => {},
  replaceRoutine: () => {},
  recreateRoutine: () => {},
  createTrigger: () => {},
  dropTrigger: () => {},
  replaceTrigger: () => {},
  alterTrigger: () => {},
  setComment: () => {},
  unsupported: (ctx, c) => ctx.issue(c.object, c.reason, c.path),
};

/**
 * A slug for the plan's id and file name, from its first change: `add-check-chk-orders-amount-positive`
 * (`and-3-more` when there are others). Comments alone make `comments`; no change at all, `no-changes`.
 */
export function suggestSlug(changes: readonly Change[]): string {
  const main = changes.filter((c) => c.kind !== 'setComment' && c.kind !== 'unsupported');
  if (main.length === 0) return changes.length === 0 ? 'no-changes' : 'comments';
  const first = describeChange(main[0]!)
    .replace(/ on [^ ]+$/, '')
    .replace(/\b(public)\./g, '');
  return slugify(main.length === 1 ? first : `${first} and ${main.length - 1} more`);
}

/** `PostgreSQL 16.4` → 16; the live model's server wins when it has one. Unknown: 14, the oldest supported. */
export function serverMajor(live: DatabaseModel, serverVersion: string): number {
  if (live.server !== undefined) return Math.floor(live.server.versionNum / 10000);
  const m = /(\d+)(?:\.\d+)?/.exec(serverVersion);
  return m ? Number(m[1]) : 14;
}

/**
 * Plans the migration of `live` to `desired`.
 *
 * @throws PlanningError when the desired state asks for something zdm cannot plan (yet); every
 *   such difference is listed, each naming its object and desired-state path.
 */
export function planChanges(liveModel: DatabaseModel, desired: DatabaseModel, options: PlanOptions): PlanResult {
  // zdm's own journal schema is not part of the user's schema (and must not be planned away).
  const live = withoutJournal(liveModel);
  // Expressions PostgreSQL re-parses during an in-place type change are compared as they will be.
  // The techniques see live tables under the names expand's table renames give them (the rename
  // step's model edit does the same to the phase models, which start from the live model).
  const renamed = withTableRenames(live, desired);
  const changes = parentsFirst([
    ...tableRenames(live, desired),
    ...diffModels(anticipateReparse(renamed, desired), desired, { typeChanges: options.typeChanges }),
  ]);
  const ctx = new PlanContext({
    live: renamed,
    desired,
    serverMajor: serverMajor(live, options.serverVersion),
    rowCounts: options.rowCounts ?? {},
    batchSize: options.batchSize ?? 5000,
    rowsOutsidePartitions: options.rowsOutsidePartitions ?? {},
    bypassesRowSecurity: options.bypassesRowSecurity ?? false,
  });
  checkNotNullNamesSupported(ctx, desired);
  for (const c of changes) {
    if (c.kind === 'addPartition' && c.replaces) ctx.markRecreatedInContract(c.partition);
    if (isSwapChange(c)) ctx.swappedTables.add(`${c.from.schema}.${c.from.name}`);
  }
  const byViews =
    options.renames === 'views'
      ? planRenamesWithViews(ctx, changes, { live: fingerprint(live), desired: fingerprint(desired) })
      : new Set<Change>();
  const comments: SetComment[] = [];
  const viewChanges: views.ViewChange[] = [];
  const routineChanges: (routines.RoutineChange | routines.TriggerChange)[] = [];
  // New and changed policies after the column changes: a step that changes a column a policy (of
  // any table) reads takes the policy along (techniques/column-dependents.ts) and claims it first.
  const policyChanges: Change[] = [];
  const handle = (c: Change) => (HANDLERS[c.kind] as (ctx: PlanContext, c: Change) => void)(ctx, c);
  for (const c of changes) {
    if (byViews.has(c)) continue;
    if (c.kind === 'setComment') comments.push(c);
    else if (isViewChange(c)) viewChanges.push(c);
    else if (routines.isRoutineOrTriggerChange(c)) routineChanges.push(c);
    else if (c.kind === 'createPolicy' || c.kind === 'alterPolicy') {
      policyChanges.push(c);
      continue;
    }
    handle(c);
  }
  for (const c of policyChanges) handle(c);
  views.planViews(ctx, viewChanges);
  routines.planRoutinesAndTriggers(ctx, routineChanges);
  planCompositeTypes(ctx, changes.filter(isCompositeTypeChange));
  objects.planComments(
    ctx,
    comments.filter((c) => !ctx.viewCommentsSet.has(commentViewKey(c.target) ?? '')),
  );
  if (ctx.issues.length > 0) throw new PlanningError(ctx.issues);

  const models = {} as Record<PhaseName, DatabaseModel>;
  let model = live;
  const phases: Phase[] = PHASES.map((phase) => {
    const actions = ordered(ctx.actions, phase);
    const start = model;
    for (const a of actions) model = a.edit(model);
    models[phase] = model;
    const keys = touchedKeys(actions, [start, model, desired]);
    const steps: Step[] = actions.map((a, i) => ({ id: `${phase}.${i + 1}`, ...a.step }) as Step);
    return {
      name: phase,
      before: fingerprint(start),
      after: fingerprint(model),
      objects: pick(readObjectFingerprints(start), keys),
      objectsAfter: pick(readObjectFingerprints(model), keys),
      steps,
    };
  });

  if (!modelsEqual(model, desired)) {
    const left = diffModels(model, desired).map(describeChange);
    throw new Error(
      `internal error: the planned steps do not reach the desired state (please report it); still different: ${left.join('; ') || stableStringify(canonicalize(model)).slice(0, 200)}`,
    );
  }

  const body: Omit<Plan, 'checksum'> = {
    version: 1,
    id: options.id,
    zdm: options.zdmVersion,
    createdAt: options.createdAt,
    source: { desiredSha256: options.desiredSha256, server: options.serverVersion, fingerprint: fingerprint(live) },
    phases,
  };
  return { plan: withChecksum(body), warnings: [...ctx.warnings], changes, models };
}

/**
 * New tables after their INHERITS parents, and dropped ones before theirs (PostgreSQL refuses to
 * drop a table with children); every other change keeps its place.
 */
export function parentsFirst(changes: readonly Change[]): Change[] {
  const creates = inheritanceOrder(
    changes.flatMap((c) => (c.kind === 'createTable' ? [c] : [])),
    'parents',
  );
  const drops = inheritanceOrder(
    changes.flatMap((c) => (c.kind === 'dropTable' ? [c] : [])),
    'children',
  );
  let ci = 0;
  let di = 0;
  return changes.map((c) => (c.kind === 'createTable' ? creates[ci++]! : c.kind === 'dropTable' ? drops[di++]! : c));
}

/**
 * `of` in its own order, except that a table comes after those of its INHERITS parents (`first:
 * 'parents'`) or children (`first: 'children'`) that are in `of`.
 */
function inheritanceOrder<C extends { readonly table: Table }>(of: readonly C[], first: 'parents' | 'children'): C[] {
  // Each change's neighbours in the order asked for, from one pass over the changes (no search per change).
  const byKey = new Map<string, C>(of.map((c) => [`${c.table.schema}.${c.table.name}`, c]));
  const before = new Map<C, C[]>();
  for (const child of of) {
    for (const parentKey of child.table.inherits ?? []) {
      const parent = byKey.get(parentKey);
      if (parent === undefined) continue;
      const [later, earlier] = first === 'parents' ? [child, parent] : [parent, child];
      const list = before.get(later);
      if (list === undefined) before.set(later, [earlier]);
      else list.push(earlier);
    }
  }
  const done = new Set<C>();
  const out: C[] = [];
  const visit = (c: C): void => {
    if (done.has(c)) return;
    done.add(c);
    for (const b of before.get(c) ?? []) visit(b);
    out.push(c);
  };
  for (const c of of) visit(c);
  return out;
}

function isViewChange(c: Change): c is views.ViewChange {
  return (
    c.kind === 'createView' ||
    c.kind === 'dropView' ||
    c.kind === 'replaceView' ||
    c.kind === 'recreateView' ||
    c.kind === 'createMaterializedView' ||
    c.kind === 'dropMaterializedView' ||
    c.kind === 'replaceMaterializedView'
  );
}

/** The object key of the view or materialized view a comment is on (its own, or one of its columns'). */
function commentViewKey(t: SetComment['target']): string | undefined {
  if (t.kind === 'view' || t.kind === 'materializedView') return objectKey(t.kind, t.schema, t.name);
  if (t.kind === 'viewColumn') return objectKey(t.materialized ? 'materializedView' : 'view', t.schema, t.view);
  return undefined;
}

function ordered(actions: readonly Action[], phase: PhaseName): Action[] {
  return actions
    .map((a, i) => ({ a, i }))
    .filter(({ a }) => a.at.phase === phase)
    .sort((x, y) => groupIndex(phase, x.a.at.group) - groupIndex(phase, y.a.at.group) || x.i - y.i)
    .map(({ a }) => a);
}

/**
 * Keys (src/model/objects.ts) of the objects a phase touches. A partition is part of its root
 * table's fingerprint, so it is keyed by that table.
 */
function touchedKeys(actions: readonly Action[], models: readonly DatabaseModel[]): string[] {
  const keys = new Set<string>();
  for (const a of actions) {
    for (const t of a.touches) keys.add(touchKey(rooted(t, models)));
  }
  return [...keys].sort();
}

function rooted(t: Touch, models: readonly DatabaseModel[]): Touch {
  if (t.kind !== 'table') return t;
  for (const m of models) {
    const root = rootTable(m, { schema: t.schema!, name: t.name });
    if (root) return { kind: 'table', schema: root.schema, name: root.name };
  }
  return t;
}

/** `fingerprints[key]` for each key, `absent` for objects that do not exist. */
function pick(fingerprints: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = fingerprints[k] ?? ABSENT;
  return out;
}
