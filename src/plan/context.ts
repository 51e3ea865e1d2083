/**
 * What the techniques share: both models, the caller's facts (server version, row counts), the
 * names already taken, and the list of planned actions with their model edits.
 */
import type { RelationRef } from '../diff/changes.js';
import { memoized } from '../model/canonical.js';
import { type DependencyGraph, dependencyGraph, isManagedKey } from '../model/dependencies.js';
import { chooseIndexName, type IndexNameLabel, qualified } from '../model/names.js';
import { objectKey, readObjectFingerprints } from '../model/objects.js';
import { isRoutineKey } from '../model/routines.js';
import type {
  Column,
  DatabaseModel,
  Dependent,
  ForeignKey,
  Index,
  MaterializedView,
  Partition,
  RelationParts,
  Table,
  Trigger,
  View,
} from '../model/types.js';
import type { PlanningIssue } from './errors.js';
import { strongerMode } from './locks.js';
import type { ModelEdit } from './model-edit.js';
import { freshName } from './names.js';
import type { Group } from './order.js';
import type { BackfillStep, CopyStep, Hazard, LockInfo, LockMode, PhaseName, SqlStep, VerifyStep } from './types.js';

export type SqlDraft = Omit<SqlStep, 'id'>;
export type BackfillDraft = Omit<BackfillStep, 'id'>;
export type StepDraft = SqlDraft | BackfillDraft | Omit<CopyStep, 'id'> | Omit<VerifyStep, 'id'>;

/** An object a step touches, for the per-phase drift fingerprints (`Phase.objects`). */
export interface Touch {
  readonly kind:
    | 'extension'
    | 'schema'
    | 'enum'
    | 'domain'
    | 'compositeType'
    | 'sequence'
    | 'table'
    | 'view'
    | 'materializedView'
    | 'function'
    | 'procedure'
    | 'aggregate'
    | 'textSearchConfiguration'
    | 'collation'
    | 'cast'
    | 'trigger';
  readonly schema?: string;
  readonly name: string;
  /** The object key when it is not `<kind> <schema>.<name>` (a routine, a trigger: src/model/routines.ts). */
  readonly key?: string;
}

export const touchKey = (t: Touch): string =>
  t.key ?? `${t.kind} ${t.schema === undefined ? t.name : qualified(t.schema, t.name)}`;
export const tableTouch = (r: RelationRef): Touch => ({ kind: 'table', schema: r.schema, name: r.name });

export type Placement = { [P in PhaseName]: { readonly phase: P; readonly group: Group<P> } }[PhaseName];

export interface Action {
  readonly at: Placement;
  readonly step: StepDraft;
  readonly edit: ModelEdit;
  readonly touches: readonly Touch[];
}

export const at = {
  expand: (group: Group<'expand'>): Placement => ({ phase: 'expand', group }),
  backfill: (group: Group<'backfill'>): Placement => ({ phase: 'backfill', group }),
  contract: (group: Group<'contract'>): Placement => ({ phase: 'contract', group }),
};

export function lock(r: RelationRef, mode: LockMode, hold: 'instant' | 'scan' = 'instant'): LockInfo {
  return { relation: qualified(r.schema, r.name), mode, hold };
}

export interface SqlStepOptions {
  readonly transaction?: boolean;
  readonly locks?: readonly LockInfo[];
  readonly hazards?: readonly Hazard[];
  readonly concurrentIndex?: { readonly schema: string; readonly name: string };
  /** SqlStep.undo: what rollback runs in place of reading the inverse from the statements. */
  readonly undo?: readonly string[];
}

/** A SQL step draft with its fields in the plan file's order. */
export function sqlStep(summary: string, sql: readonly string[], o: SqlStepOptions = {}): SqlDraft {
  const hazards = [...new Set(o.hazards ?? [])].sort();
  const step: SqlDraft = {
    kind: 'sql',
    summary,
    sql,
    transaction: o.transaction ?? true,
    locks: dedupeLocks(o.locks ?? []),
    hazards,
  };
  const indexed = o.concurrentIndex === undefined ? step : { ...step, concurrentIndex: o.concurrentIndex };
  return o.undo === undefined ? indexed : { ...indexed, undo: o.undo };
}

/** One lock per relation: the strongest mode, held as long as the longest hold. */
function dedupeLocks(locks: readonly LockInfo[]): LockInfo[] {
  const out: LockInfo[] = [];
  for (const l of locks) {
    const i = out.findIndex((o) => o.relation === l.relation);
    if (i < 0) {
      out.push(l);
      continue;
    }
    const o = out[i]!;
    out[i] = {
      relation: l.relation,
      mode: strongerMode(o.mode, l.mode),
      hold: o.hold === 'scan' || l.hold === 'scan' ? 'scan' : 'instant',
    };
  }
  return out;
}

export type Relation = Table | Partition;

interface RelationIndex {
  readonly relation: Relation;
  /** The top-level table it belongs to (itself, or the root of its partition tree). */
  readonly root: Table;
}

/**
 * Every relation of a model by `schema\0name`, built once per model (models are immutable values):
 * the planner looks relations up for every change, and a scan per lookup made planning a schema of
 * thousands of tables quadratic. The first in model order wins, as a scan would find it.
 */
const relationIndex = memoized((m: DatabaseModel): ReadonlyMap<string, RelationIndex> => {
  const out = new Map<string, RelationIndex>();
  const add = (relation: Relation, root: Table): void => {
    const key = `${relation.schema}\u0000${relation.name}`;
    if (!out.has(key)) out.set(key, { relation, root });
    for (const p of relation.partitions) add(p, root);
  };
  for (const s of m.schemas) {
    for (const t of s.tables) {
      // A table is found under its schema's name (the loop's), its partitions under their own.
      const key = `${s.name}\u0000${t.name}`;
      if (!out.has(key)) out.set(key, { relation: t, root: t });
      for (const p of t.partitions) add(p, t);
    }
  }
  return out;
});

export type ViewLike = View | MaterializedView;

/** Every view and materialized view of a model by its object key, built once per model. */
const viewIndex = memoized((m: DatabaseModel): ReadonlyMap<string, ViewLike> => {
  const out = new Map<string, ViewLike>();
  for (const s of m.schemas) {
    for (const v of s.views) out.set(objectKey('view', s.name, v.name), v);
    for (const v of s.materializedViews) out.set(objectKey('materializedView', s.name, v.name), v);
  }
  return out;
});

/** The view or materialized view with this object key (`view public.v`), if the model has it. */
export function findViewLike(m: DatabaseModel, key: string): ViewLike | undefined {
  return viewIndex(m).get(key);
}

export function findRelation(m: DatabaseModel, ref: RelationRef): Relation | undefined {
  return relationIndex(m).get(`${ref.schema}\u0000${ref.name}`)?.relation;
}

/** The top-level table a relation belongs to (itself, or the root of its partition tree). */
export function rootTable(m: DatabaseModel, ref: RelationRef): Table | undefined {
  return relationIndex(m).get(`${ref.schema}\u0000${ref.name}`)?.root;
}

export interface PlannerInput {
  readonly live: DatabaseModel;
  readonly desired: DatabaseModel;
  readonly serverMajor: number;
  readonly rowCounts: Readonly<Record<string, number>>;
  readonly batchSize: number;
  /** Rows of a table being partitioned that fall into no desired partition (PlanOptions). */
  readonly rowsOutsidePartitions?: Readonly<Record<string, number>>;
  /** The planning role reads every row whatever row level security says (PlanOptions). */
  readonly bypassesRowSecurity?: boolean;
}

export class PlanContext {
  readonly actions: Action[] = [];
  readonly issues: PlanningIssue[] = [];
  readonly warnings: string[] = [];
  /**
   * Views and materialized views (object keys) that a step drops and creates again around another
   * change (techniques/views.ts rebuildViews): the view planning leaves them alone.
   */
  readonly rebuiltViews = new Set<string>();
  /**
   * Tables (`schema.name`) this plan swaps for a new table (partition swap, unpartition, rewrite),
   * filled before any technique runs: a swap's rules see the others.
   */
  readonly swappedTables = new Set<string>();
  /**
   * Policies (object keys) that a step drops and creates again around another change
   * (techniques/policies.ts rebuildPolicies): the policy planning leaves them alone.
   */
  readonly rebuiltPolicies = new Set<string>();
  /**
   * Triggers (object keys) that a step drops and creates again around another change
   * (techniques/routines.ts rebuildTriggers): the trigger planning leaves them alone.
   */
  readonly rebuiltTriggers = new Set<string>();
  /**
   * Triggers (by object key) as expand leaves them widened to both columns of a rename
   * (techniques/routines.ts widenTriggers): the swap drops and creates them again.
   */
  readonly widenedTriggers = new Map<string, Trigger>();
  /**
   * Routines (object keys) with a SQL-standard body that a step replaces around a column change, as
   * the desired state has them (techniques/routines.ts rebuildRoutines): the routine planning leaves
   * them alone.
   */
  readonly rebuiltRoutines = new Set<string>();
  /**
   * Indexes (`schema.name`) the desired state adds on a column whose type a shadow column changes:
   * the replacement builds them on the shadow (replace-column/steps.ts), not planCreateIndex.
   */
  readonly indexesBuiltByReplacement = new Set<string>();
  /**
   * Columns (`schema.table.column`) a backfill step of this plan fills: new indexes on them are built
   * after it (backfill group `indexes`), so that its batches write no index entries (techniques/indexes.ts).
   */
  readonly backfilledColumns = new Set<string>();
  /** Views whose creating step sets their comments: no comment step of their own. */
  readonly viewCommentsSet = new Set<string>();
  /** Schema names the SQL generators treat as qualifiers of collations and operator classes. */
  readonly schemas: ReadonlySet<string>;
  /**
   * Names used live or desired, by schema (with the names this plan chose added), and those used
   * live: collected on first use, which a plan of no change (or one that makes up no name) never
   * makes.
   */
  private names?: { readonly taken: Map<string, Set<string>>; readonly live: Map<string, Set<string>> };
  /** Partitions dropped and created again in contract (their bound changed). */
  private readonly recreated = new Set<string>();
  /** Names this plan made up (freshName, pgIndexName), by schema. */
  private readonly chosen = new Map<string, Set<string>>();

  constructor(readonly input: PlannerInput) {
    const names = new Set<string>(['pg_catalog', 'public', 'information_schema']);
    for (const m of [input.live, input.desired]) {
      for (const s of m.schemas) names.add(s.name);
      for (const e of m.extensions) if (e.schema !== undefined) names.add(e.schema);
    }
    this.schemas = names;
  }

  private get taken(): Map<string, Set<string>> {
    return this.usedNames().taken;
  }
  private get liveNames(): Map<string, Set<string>> {
    return this.usedNames().live;
  }
  private usedNames(): { readonly taken: Map<string, Set<string>>; readonly live: Map<string, Set<string>> } {
    if (this.names === undefined) {
      const live = new Map<string, Set<string>>();
      const taken = new Map<string, Set<string>>();
      collectNames(this.input.live, live);
      collectNames(this.input.live, taken);
      collectNames(this.input.desired, taken);
      this.names = { taken, live };
    }
    return this.names;
  }

  get live(): DatabaseModel {
    return this.input.live;
  }
  get desired(): DatabaseModel {
    return this.input.desired;
  }

  add(at: Placement, step: StepDraft, edit: ModelEdit, touches: readonly Touch[]): void {
    this.actions.push({ at, step, edit, touches });
  }

  issue(object: string, message: string, path?: string): void {
    this.issues.push(path === undefined ? { object, message } : { object, message, path });
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  markRecreatedInContract(ref: RelationRef): void {
    this.recreated.add(qualified(ref.schema, ref.name));
  }
  isRecreatedInContract(ref: RelationRef): boolean {
    return this.recreated.has(qualified(ref.schema, ref.name));
  }

  liveRelation(ref: RelationRef): Relation | undefined {
    return findRelation(this.input.live, ref);
  }
  desiredRelation(ref: RelationRef): Relation | undefined {
    return findRelation(this.input.desired, ref);
  }
  /** The relation does not exist yet: it is created by this plan, so it is empty and unused. */
  isNew(ref: RelationRef): boolean {
    return this.liveRelation(ref) === undefined;
  }
  /** New, or known empty from the caller's row counts. */
  isEmpty(ref: RelationRef): boolean {
    return this.isNew(ref) || this.input.rowCounts[qualified(ref.schema, ref.name)] === 0;
  }
  isPartitioned(ref: RelationRef): boolean {
    return (this.liveRelation(ref) ?? this.desiredRelation(ref))?.partitionBy !== undefined;
  }
  liveColumn(ref: RelationRef, name: string): Column | undefined {
    return rootTable(this.input.live, ref)?.columns.find((c) => c.name === name);
  }

  /** A relation or index name in `schema` that nothing live or desired uses, and that this plan has not used. */
  freshName(schema: string, parts: readonly string[], role: string): string {
    const taken = this.takenIn(schema);
    const name = freshName(parts, role, taken);
    taken.add(name);
    this.chosenIn(schema).add(name);
    return name;
  }
  /**
   * The name PostgreSQL would give an index of `table` that it names itself (chooseIndexName: a
   * partition's index made for its parent's index or key), with a number added while the name is
   * used live or by a name this plan chose; taken from then on.
   */
  pgIndexName(schema: string, table: string, columnNames: readonly string[], label: IndexNameLabel): string {
    const live = this.liveNames.get(schema);
    const chosen = this.chosenIn(schema);
    const name = chooseIndexName(table, columnNames, label, (n) => (live?.has(n) ?? false) || chosen.has(n));
    chosen.add(name);
    this.takenIn(schema).add(name);
    return name;
  }
  private chosenIn(schema: string): Set<string> {
    let s = this.chosen.get(schema);
    if (!s) {
      s = new Set();
      this.chosen.set(schema, s);
    }
    return s;
  }
  /** Whether `name` is used in `schema` by a live relation, index or constraint. */
  isTakenLive(schema: string, name: string): boolean {
    return this.liveNames.get(schema)?.has(name) ?? false;
  }
  private takenIn(schema: string): Set<string> {
    let s = this.taken.get(schema);
    if (!s) {
      s = new Set();
      this.taken.set(schema, s);
    }
    return s;
  }

  /** Partitions of `ref` while expand runs: the live ones and the ones expand adds. */
  partitionsDuringExpand(ref: RelationRef): Partition[] {
    const live = this.liveRelation(ref)?.partitions ?? [];
    const desired = this.desiredRelation(ref)?.partitions ?? [];
    const key = (p: Partition) => `${p.schema}.${p.name}`;
    const seen = new Set(live.map(key));
    return [...live, ...desired.filter((p) => !seen.has(key(p)))];
  }

  /** Live foreign keys that reference `ref`, with the relation (table or partition) that has each. */
  liveForeignKeysTo(ref: RelationRef): [RelationRef, ForeignKey][] {
    const out: [RelationRef, ForeignKey][] = [];
    const visit = (owner: RelationRef, r: RelationParts) => {
      for (const f of r.foreignKeys) {
        if (f.references.schema === ref.schema && f.references.table === ref.name) out.push([owner, f]);
      }
      for (const p of r.partitions) visit({ schema: p.schema, name: p.name }, p);
    };
    for (const s of this.input.live.schemas) for (const t of s.tables) visit({ schema: s.name, name: t.name }, t);
    return out;
  }

  /** The dependency graph of the live database. */
  get liveGraph(): DependencyGraph {
    return dependencyGraph(this.input.live);
  }
  /** The dependency graph of the desired state (of the scratch database it was built in). */
  get desiredGraph(): DependencyGraph {
    return dependencyGraph(this.input.desired);
  }

  /**
   * Objects of the live database that PostgreSQL refuses to drop the table, or drop or retype the
   * column when one is given, under: those zdm does not manage (rules, publications, …, and
   * functions or triggers only the dependency graph knows), and functions, procedures, triggers and
   * policies that it manages (a function the desired state drops is not one: it goes first). A
   * step that takes some of them along (techniques/column-dependents.ts) leaves those out. Each as
   * its key reads (`rule r on public.t`), sorted.
   */
  unmanagedDependents(ref: RelationRef, column?: string): string[] {
    // A trigger, rule or policy on the table itself goes with the table.
    const own = ` on ${qualified(ref.schema, ref.name)}`;
    const desired = readObjectFingerprints(this.input.desired);
    const live = readObjectFingerprints(this.input.live);
    // Policies (issue 12) are managed; one the desired state drops goes first, in contract.
    const desiredPolicies = new Set(
      this.input.desired.schemas.flatMap((s) =>
        s.tables.flatMap((t) => (t.policies ?? []).map((p) => `policy ${p.name} on ${s.name}.${t.name}`)),
      ),
    );
    const blocks = (k: string): boolean =>
      !isManagedKey(k) ||
      ((isRoutineKey(k) || k.startsWith('trigger ')) && (!(k in live) || k in desired)) ||
      (k.startsWith('policy ') && desiredPolicies.has(k));
    // On a column: what depends on the column itself (PostgreSQL does not refuse a column change
    // under what depends on the table as a whole).
    return this.liveGraph
      .columnDependentsOf(objectKey('table', ref.schema, ref.name), column)
      .filter((k) => blocks(k) && (column !== undefined || !k.endsWith(own)))
      .sort();
  }

  /** Whether a key of `unmanagedDependents` is an object of the model (managed, but not re-created around the change). */
  private isModelDependent(k: string): boolean {
    return k in readObjectFingerprints(this.input.live) || (k.startsWith('policy ') && isManagedKey(k));
  }

  /** Keys of `unmanagedDependents`, each followed by why zdm cannot take it along. */
  namedDependents(deps: readonly string[]): string[] {
    return deps.map((k) =>
      this.isModelDependent(k)
        ? `${k} (zdm does not re-create it around this change yet)`
        : `${k} (not managed by zdm)`,
    );
  }

  /**
   * The refusal of a change under objects zdm does not manage (`unmanagedDependents`), or undefined;
   * `carried`: keys the step takes along (techniques/column-dependents.ts), left out.
   */
  unmanagedRefusal(
    ref: RelationRef,
    column: string | undefined,
    change: string,
    carried: ReadonlySet<string> = new Set(),
  ): string | undefined {
    const deps = this.unmanagedDependents(ref, column).filter((k) => !carried.has(k));
    if (deps.length === 0) return undefined;
    const named = this.namedDependents(deps);
    const one = deps.length === 1;
    if (deps.every((k) => !this.isModelDependent(k))) {
      return (
        `${deps.join(', ')} (not managed by zdm) depend${one ? 's' : ''} on the ${column === undefined ? 'table' : 'column'}: ` +
        `PostgreSQL refuses to ${change} under ${one ? 'it' : 'them'}; drop or change ${one ? 'it' : 'them'} first`
      );
    }
    return (
      `${named.join(', ')} depend${one ? 's' : ''} on the ${column === undefined ? 'table' : 'column'}: ` +
      `PostgreSQL refuses to ${change} under ${one ? 'it' : 'them'}; drop or change ${one ? 'it' : 'them'} in a plan of its own first`
    );
  }

  /** Live views and materialized views that read the table (the column, when given) directly. */
  liveViewsUsing(ref: RelationRef, column?: string): ViewLike[] {
    return this.liveGraph
      .dependentsOf(objectKey('table', ref.schema, ref.name), column)
      .flatMap((k) => findViewLike(this.input.live, k) ?? []);
  }

  /**
   * Triggers of the live database, not managed by zdm, on the table: a backfill's updates fire them,
   * and they stay on the table's old relation when it is swapped for a new one.
   */
  userTriggersOn(ref: RelationRef): Dependent[] {
    return (this.input.live.dependents?.triggers ?? []).filter((t) => t.schema === ref.schema && t.table === ref.name);
  }

  /** Whether the relation has (in the desired state) an index or key whose leading columns are `columns`. */
  hasIndexLeadingWith(ref: RelationRef, columns: readonly string[], side: 'live' | 'desired' = 'desired'): boolean {
    const r = side === 'live' ? this.liveRelation(ref) : this.desiredRelation(ref);
    if (!r) return false;
    const want = new Set(columns);
    const leads = (keys: readonly (string | undefined)[]) =>
      keys.length >= want.size && keys.slice(0, want.size).every((k) => k !== undefined && want.has(k));
    const fromIndex = (ix: Index) => (ix.where === undefined ? leads(ix.keys.map((k) => k.column)) : false);
    return (
      r.indexes.some(fromIndex) ||
      (r.primaryKey !== undefined && leads(r.primaryKey.columns)) ||
      r.uniqueConstraints.some((u) => leads(u.columns))
    );
  }
}

function collectNames(m: DatabaseModel, into: Map<string, Set<string>>): void {
  const add = (schema: string, name: string) => {
    let s = into.get(schema);
    if (!s) {
      s = new Set();
      into.set(schema, s);
    }
    s.add(name);
  };
  const parts = (schema: string, r: RelationParts) => {
    if (r.primaryKey) add(schema, r.primaryKey.name);
    for (const x of [...r.uniqueConstraints, ...r.checks, ...r.foreignKeys, ...r.exclusionConstraints, ...r.indexes]) {
      add(schema, x.name);
    }
    for (const p of r.partitions) {
      add(p.schema, p.name);
      parts(p.schema, p);
    }
  };
  for (const [schema, names] of Object.entries(m.attachedIndexNames ?? {})) for (const n of names) add(schema, n);
  for (const s of m.schemas) {
    for (const x of [...s.enums, ...s.domains, ...s.sequences]) add(s.name, x.name);
    for (const t of s.tables) {
      add(s.name, t.name);
      parts(s.name, t);
    }
  }
}
