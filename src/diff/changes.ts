/**
 * What differs between a live and a desired model, one typed change per difference. The planner
 * (src/plan) turns each into steps; the diff itself knows nothing of locks or phases.
 *
 * A difference PostgreSQL cannot make in place is a drop plus an add; the pair says so: the drop
 * carries `replacedBy`, the add `replaces` (both name the same object, except for a primary key,
 * which is one per table whatever its name). What zdm cannot do yet is an `unsupported` change.
 */

import { assertNever } from '../errors.js';
import { castName } from '../model/casts.js';
import { defaultPrivilegeName } from '../model/default-privileges.js';
import type { GrantTarget } from '../model/grants.js';
import type { OwnerTarget } from '../model/owners.js';
import { routineSignature } from '../model/routines.js';
import type {
  Cast,
  CheckConstraint,
  Collation,
  Column,
  CompositeType,
  Domain,
  EnumType,
  ExclusionConstraint,
  Extension,
  ForeignKey,
  Grant,
  Index,
  MaterializedView,
  Partition,
  Policy,
  PrimaryKey,
  ReplicaIdentity,
  Routine,
  Sequence,
  StorageParameters,
  Table,
  TextSearchConfiguration,
  Trigger,
  UniqueConstraint,
  View,
} from '../model/types.js';

/** A table or a partition (both are relations of their schema). */
export interface RelationRef {
  readonly schema: string;
  readonly name: string;
}

/** What a COMMENT ON names. */
export type CommentTarget =
  | { readonly kind: 'schema'; readonly name: string }
  | { readonly kind: 'table'; readonly schema: string; readonly name: string }
  | { readonly kind: 'column'; readonly schema: string; readonly table: string; readonly column: string }
  | { readonly kind: 'index'; readonly schema: string; readonly table: string; readonly name: string }
  /** A primary key, unique, check, foreign key or exclusion constraint of a table or partition. */
  | { readonly kind: 'constraint'; readonly schema: string; readonly table: string; readonly name: string }
  | { readonly kind: 'enum'; readonly schema: string; readonly name: string }
  | { readonly kind: 'domain'; readonly schema: string; readonly name: string }
  | { readonly kind: 'domainConstraint'; readonly schema: string; readonly domain: string; readonly name: string }
  | { readonly kind: 'sequence'; readonly schema: string; readonly name: string }
  | { readonly kind: 'view'; readonly schema: string; readonly name: string }
  | { readonly kind: 'materializedView'; readonly schema: string; readonly name: string }
  /** A column of a view or materialized view. */
  | {
      readonly kind: 'viewColumn';
      readonly schema: string;
      readonly view: string;
      readonly materialized: boolean;
      readonly column: string;
    };

export interface CreateExtension {
  readonly kind: 'createExtension';
  readonly extension: Extension;
}
export interface DropExtension {
  readonly kind: 'dropExtension';
  readonly extension: Extension;
}
// ---------------------------------------------------------------- privileges (issue 12)

/** What a GRANT or REVOKE is on (one type, in the model, for the diff and the statements). */
export type { GrantTarget } from '../model/grants.js';

/** The privileges of one object where the desired state manages them (src/diff/grants.ts). */
export interface ChangeGrants {
  readonly kind: 'changeGrants';
  readonly on: GrantTarget;
  /** Granted (new privileges, or ones that gain the grant option). */
  readonly grant: readonly Grant[];
  /** Revoked (the privilege itself). */
  readonly revoke: readonly Grant[];
  /** Only the grant option revoked. */
  readonly revokeOption: readonly Grant[];
  /** The desired list. */
  readonly to: readonly Grant[];
}

export function grantTargetName(on: GrantTarget): string {
  switch (on.kind) {
    case 'schema':
      return `schema ${on.name}`;
    case 'column':
      return `column ${on.schema}.${on.name}.${on.column}`;
    case 'function':
    case 'procedure':
    case 'aggregate':
      return `${on.kind} ${on.schema}.${routineSignature(on)}`;
    case 'compositeType':
      return `composite type ${on.schema}.${on.name}`;
    case 'defaultPrivileges':
      return defaultPrivilegeName(on);
    default:
      return `${on.kind} ${on.schema}.${on.name}`;
  }
}

// ---------------------------------------------------------------- owners (issue 12)

/** The owner of one object where the desired state manages it (src/diff/owners.ts). */
export interface ChangeOwner {
  readonly kind: 'changeOwner';
  readonly on: OwnerTarget;
  /** The live owner; absent when the plan creates the object. */
  readonly from?: string;
  readonly to: string;
}

export function ownerTargetName(on: OwnerTarget): string {
  switch (on.kind) {
    case 'view':
      return `view ${on.schema}.${on.name}`;
    case 'materializedView':
      return `materialized view ${on.schema}.${on.name}`;
    default:
      return grantTargetName(on);
  }
}

// ---------------------------------------------------------------- policies (issue 12)

export interface CreatePolicy {
  readonly kind: 'createPolicy';
  readonly table: RelationRef;
  readonly policy: Policy;
}
export interface DropPolicy {
  readonly kind: 'dropPolicy';
  readonly table: RelationRef;
  readonly policy: Policy;
}
/** Roles, USING, WITH CHECK or the comment changed (ALTER POLICY, or drop and create: see the planner). */
export interface AlterPolicy {
  readonly kind: 'alterPolicy';
  readonly table: RelationRef;
  readonly from: Policy;
  readonly to: Policy;
}

// ---------------------------------------------------------------- casts

export interface CreateCast {
  readonly kind: 'createCast';
  readonly cast: Cast;
}
export interface DropCast {
  readonly kind: 'dropCast';
  readonly cast: Cast;
}
/** Its method, function or context changed: PostgreSQL has no ALTER CAST (drop and create, one transaction). */
export interface ReplaceCast {
  readonly kind: 'replaceCast';
  readonly from: Cast;
  readonly to: Cast;
}
export interface CommentCast {
  readonly kind: 'commentCast';
  readonly from: Cast;
  readonly to: Cast;
}

// ---------------------------------------------------------------- collations

export interface CreateCollation {
  readonly kind: 'createCollation';
  readonly schema: string;
  readonly collation: Collation;
}
export interface DropCollation {
  readonly kind: 'dropCollation';
  readonly schema: string;
  readonly collation: Collation;
}
/** Its comment changed (a collation's definition cannot change in place: `unsupported`). */
export interface CommentCollation {
  readonly kind: 'commentCollation';
  readonly schema: string;
  readonly from: Collation;
  readonly to: Collation;
}

// ---------------------------------------------------------------- text search configurations

export interface CreateTextSearchConfiguration {
  readonly kind: 'createTextSearchConfiguration';
  readonly schema: string;
  readonly config: TextSearchConfiguration;
}
export interface DropTextSearchConfiguration {
  readonly kind: 'dropTextSearchConfiguration';
  readonly schema: string;
  readonly config: TextSearchConfiguration;
}
/** Mappings or comment changed (a new parser is `unsupported`). */
export interface AlterTextSearchConfiguration {
  readonly kind: 'alterTextSearchConfiguration';
  readonly schema: string;
  readonly from: TextSearchConfiguration;
  readonly to: TextSearchConfiguration;
}

// ---------------------------------------------------------------- composite types (issue 12)

export interface CreateCompositeType {
  readonly kind: 'createCompositeType';
  readonly type: CompositeType;
}
export interface DropCompositeType {
  readonly kind: 'dropCompositeType';
  readonly type: CompositeType;
}
/** Attributes added, dropped or of another type, comments of the type and its attributes. */
export interface AlterCompositeType {
  readonly kind: 'alterCompositeType';
  readonly from: CompositeType;
  readonly to: CompositeType;
}

/** `ALTER EXTENSION … UPDATE TO` the version the desired state pins. */
export interface AlterExtensionVersion {
  readonly kind: 'alterExtensionVersion';
  readonly from: Extension;
  readonly to: Extension;
}
export interface AlterExtensionSchema {
  readonly kind: 'alterExtensionSchema';
  readonly from: Extension;
  readonly to: Extension;
}
export interface CreateSchema {
  readonly kind: 'createSchema';
  readonly name: string;
}
export interface DropSchema {
  readonly kind: 'dropSchema';
  readonly name: string;
}
export interface CreateEnum {
  readonly kind: 'createEnum';
  readonly enum: EnumType;
}
export interface DropEnum {
  readonly kind: 'dropEnum';
  readonly enum: EnumType;
}
/** One new enum label, placed relative to a label that exists when it runs. */
export interface AddEnumValue {
  readonly kind: 'addEnumValue';
  readonly schema: string;
  readonly name: string;
  readonly value: string;
  /** Absent: appended at the end. */
  readonly position?: { readonly before: string } | { readonly after: string };
}
export interface CreateDomain {
  readonly kind: 'createDomain';
  readonly domain: Domain;
}
export interface DropDomain {
  readonly kind: 'dropDomain';
  readonly domain: Domain;
}
/** Default, NOT NULL or checks of a domain differ (its type and collation are equal). */
export interface AlterDomain {
  readonly kind: 'alterDomain';
  readonly from: Domain;
  readonly to: Domain;
}
export interface CreateSequence {
  readonly kind: 'createSequence';
  readonly sequence: Sequence;
}
export interface DropSequence {
  readonly kind: 'dropSequence';
  readonly sequence: Sequence;
}
export interface AlterSequence {
  readonly kind: 'alterSequence';
  readonly from: Sequence;
  readonly to: Sequence;
}
/** A new table with everything declared on it and its partitions; its foreign keys and comments come as their own changes. */
export interface CreateTable {
  readonly kind: 'createTable';
  readonly table: Table;
}
export interface DropTable {
  readonly kind: 'dropTable';
  readonly table: Table;
}
export interface SetTableLogged {
  readonly kind: 'setTableLogged';
  readonly table: RelationRef;
  readonly unlogged: boolean;
}
/**
 * Storage parameters of a table or partition (`index` absent) or of one of its indexes differ.
 * `from` and `to` are the whole sets (absent: none).
 */
export interface SetStorageParameters {
  readonly kind: 'setStorageParameters';
  readonly table: RelationRef;
  readonly index?: string;
  readonly from?: StorageParameters;
  readonly to?: StorageParameters;
}
/** ENABLE (`setting: enable`) or FORCE ROW LEVEL SECURITY turned on or off. */
export interface SetRowLevelSecurity {
  readonly kind: 'setRowLevelSecurity';
  readonly table: RelationRef;
  readonly setting: 'enable' | 'force';
  readonly on: boolean;
}
/** REPLICA IDENTITY differs (absent: DEFAULT). */
export interface SetReplicaIdentity {
  readonly kind: 'setReplicaIdentity';
  readonly table: RelationRef;
  readonly from?: ReplicaIdentity;
  readonly to?: ReplicaIdentity;
}
/** CLUSTER ON differs (absent: none). */
export interface SetClusterOn {
  readonly kind: 'setClusterOn';
  readonly table: RelationRef;
  readonly from?: string;
  readonly to?: string;
}
export interface AddColumn {
  readonly kind: 'addColumn';
  readonly table: RelationRef;
  readonly column: Column;
}
export interface DropColumn {
  readonly kind: 'dropColumn';
  readonly table: RelationRef;
  readonly column: Column;
}
/** Type (binary-coercible only: anything else is `unsupported`), nullability, default, identity or generation differ. */
export interface AlterColumn {
  readonly kind: 'alterColumn';
  readonly table: RelationRef;
  readonly from: Column;
  readonly to: Column;
}
/** A table renamed with `renamedFrom` (same schema); its other differences come as their own changes. */
export interface RenameTable {
  readonly kind: 'renameTable';
  readonly schema: string;
  readonly from: string;
  readonly to: string;
}
/**
 * A column renamed with `renamedFrom`, or retyped in a way that is not binary-coercible: a new
 * column beside the old one, kept equal by a two-way sync trigger, backfilled, and swapped in in
 * contract (src/plan/techniques/replace-column/). `from` is the live column, `to` the desired one.
 */
export interface ReplaceColumn {
  readonly kind: 'replaceColumn';
  readonly table: RelationRef;
  readonly from: Column;
  readonly to: Column;
}
export interface AddPrimaryKey {
  readonly kind: 'addPrimaryKey';
  readonly table: RelationRef;
  readonly primaryKey: PrimaryKey;
  readonly replaces?: PrimaryKey;
}
export interface DropPrimaryKey {
  readonly kind: 'dropPrimaryKey';
  readonly table: RelationRef;
  readonly primaryKey: PrimaryKey;
  readonly replacedBy?: PrimaryKey;
}
export interface AddUnique {
  readonly kind: 'addUnique';
  readonly table: RelationRef;
  readonly constraint: UniqueConstraint;
  readonly replaces?: UniqueConstraint;
}
export interface DropUnique {
  readonly kind: 'dropUnique';
  readonly table: RelationRef;
  readonly constraint: UniqueConstraint;
  readonly replacedBy?: UniqueConstraint;
}
export interface AddCheck {
  readonly kind: 'addCheck';
  readonly table: RelationRef;
  readonly check: CheckConstraint;
  readonly replaces?: CheckConstraint;
}
export interface DropCheck {
  readonly kind: 'dropCheck';
  readonly table: RelationRef;
  readonly check: CheckConstraint;
  readonly replacedBy?: CheckConstraint;
}
/** A live check left NOT VALID whose definition is the desired one. */
export interface ValidateCheck {
  readonly kind: 'validateCheck';
  readonly table: RelationRef;
  readonly check: CheckConstraint;
}
export interface AddForeignKey {
  readonly kind: 'addForeignKey';
  readonly table: RelationRef;
  readonly foreignKey: ForeignKey;
  readonly replaces?: ForeignKey;
}
export interface DropForeignKey {
  readonly kind: 'dropForeignKey';
  readonly table: RelationRef;
  readonly foreignKey: ForeignKey;
  readonly replacedBy?: ForeignKey;
}
export interface ValidateForeignKey {
  readonly kind: 'validateForeignKey';
  readonly table: RelationRef;
  readonly foreignKey: ForeignKey;
}
export interface AddExclusion {
  readonly kind: 'addExclusion';
  readonly table: RelationRef;
  readonly constraint: ExclusionConstraint;
  readonly replaces?: ExclusionConstraint;
}
export interface DropExclusion {
  readonly kind: 'dropExclusion';
  readonly table: RelationRef;
  readonly constraint: ExclusionConstraint;
  readonly replacedBy?: ExclusionConstraint;
}
export interface CreateIndex {
  readonly kind: 'createIndex';
  readonly table: RelationRef;
  readonly index: Index;
  readonly replaces?: Index;
}
export interface DropIndex {
  readonly kind: 'dropIndex';
  readonly table: RelationRef;
  readonly index: Index;
  readonly replacedBy?: Index;
}
/** A live INVALID index (a failed CONCURRENTLY build) whose definition is the desired one. */
export interface RepairIndex {
  readonly kind: 'repairIndex';
  readonly table: RelationRef;
  readonly index: Index;
}
/** A new partition of a partitioned table that exists already; its foreign keys and comments come as their own changes. */
export interface AddPartition {
  readonly kind: 'addPartition';
  readonly parent: RelationRef;
  readonly partition: Partition;
  readonly replaces?: Partition;
}
export interface DropPartition {
  readonly kind: 'dropPartition';
  readonly parent: RelationRef;
  readonly partition: Partition;
  readonly replacedBy?: Partition;
}
/**
 * A plain live table whose desired state is partitioned: a partition swap (shadow table, sync
 * trigger, copy, swap in contract; src/plan/techniques/partition-swap/). `from` is the live
 * table, `to` the desired one.
 */
export interface PartitionTable {
  readonly kind: 'partitionTable';
  readonly from: Table;
  readonly to: Table;
}
/**
 * A partitioned live table whose desired state is a plain table: the partition swap in reverse
 * (src/plan/techniques/partition-swap/). `from` is the live table, `to` the desired one.
 */
export interface UnpartitionTable {
  readonly kind: 'unpartitionTable';
  readonly from: Table;
  readonly to: Table;
}
/**
 * A plain live table with a column type change that rewrites it, planned as a table swap
 * (`typeChanges: swap`): a new plain table with the desired column types, kept in step and copied,
 * swapped in by contract (src/plan/techniques/partition-swap/). `from` is the live table, `to` the
 * desired one.
 */
export interface RewriteTable {
  readonly kind: 'rewriteTable';
  readonly from: Table;
  readonly to: Table;
}
/** A change that swaps the live table for a new one (partition swap, unpartition, rewrite). */
export function isSwapChange(c: Change): c is PartitionTable | UnpartitionTable | RewriteTable {
  return c.kind === 'partitionTable' || c.kind === 'unpartitionTable' || c.kind === 'rewriteTable';
}

/** The columns whose type a rewrite changes, each with its desired type: what the copy casts. */
export function rewrittenTypes(from: Table, to: Table): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of to.columns) {
    const l = from.columns.find((x) => x.name === c.name);
    if (l !== undefined && l.type !== c.type) out[c.name] = c.type;
  }
  return out;
}

/** `columns id, customer_id` (or `column id`): the columns a rewrite changes the type of. */
function typeChangesText(from: Table, to: Table): string {
  const cols = Object.keys(rewrittenTypes(from, to));
  return `column${cols.length === 1 ? '' : 's'} ${cols.join(', ')}`;
}
export interface CreateView {
  readonly kind: 'createView';
  readonly view: View;
}
export interface DropView {
  readonly kind: 'dropView';
  readonly view: View;
}
/**
 * The definition or options of a view differ, and `CREATE OR REPLACE VIEW` can make the change
 * (the view keeps its columns, in order and type, and may gain some at the end).
 */
export interface ReplaceView {
  readonly kind: 'replaceView';
  readonly from: View;
  readonly to: View;
}
/** The view changes in a way `CREATE OR REPLACE VIEW` refuses (`reason`): drop and create. */
export interface RecreateView {
  readonly kind: 'recreateView';
  readonly from: View;
  readonly to: View;
  readonly reason: string;
}
/** A new materialized view with its indexes; its comments come as their own changes. */
export interface CreateMaterializedView {
  readonly kind: 'createMaterializedView';
  readonly view: MaterializedView;
}
export interface DropMaterializedView {
  readonly kind: 'dropMaterializedView';
  readonly view: MaterializedView;
}
/**
 * The definition or the population (`withData`) of a materialized view differs: a new one is built
 * beside it under a temporary name and swapped in (src/plan/techniques/materialized-views.ts). Its
 * indexes, storage parameters and comments come with it.
 */
export interface ReplaceMaterializedView {
  readonly kind: 'replaceMaterializedView';
  readonly from: MaterializedView;
  readonly to: MaterializedView;
}
/** Same definition and population; indexes (or their comments) or storage parameters differ. */
export interface AlterMaterializedView {
  readonly kind: 'alterMaterializedView';
  readonly from: MaterializedView;
  readonly to: MaterializedView;
}
export interface SetComment {
  readonly kind: 'setComment';
  readonly target: CommentTarget;
  /** Absent: remove the comment. */
  readonly comment?: string;
}
/** A difference zdm cannot plan yet; the planner refuses the whole plan and names each. */
export interface Unsupported {
  readonly kind: 'unsupported';
  /** `table public.users`, `column public.users.name`… */
  readonly object: string;
  /** Path in the desired-state document, e.g. `schemas.public.tables.users.columns.name`. */
  readonly path?: string;
  readonly reason: string;
}

export type Change =
  | CreateExtension
  | DropExtension
  | AlterExtensionSchema
  | AlterExtensionVersion
  | CreateCompositeType
  | CreatePolicy
  | ChangeGrants
  | ChangeOwner
  | DropPolicy
  | AlterPolicy
  | DropCompositeType
  | AlterCompositeType
  | CreateSchema
  | DropSchema
  | CreateEnum
  | DropEnum
  | AddEnumValue
  | CreateDomain
  | DropDomain
  | AlterDomain
  | CreateSequence
  | DropSequence
  | AlterSequence
  | CreateCast
  | DropCast
  | ReplaceCast
  | CommentCast
  | CreateCollation
  | DropCollation
  | CommentCollation
  | CreateTextSearchConfiguration
  | DropTextSearchConfiguration
  | AlterTextSearchConfiguration
  | CreateTable
  | DropTable
  | RenameTable
  | SetTableLogged
  | SetStorageParameters
  | SetRowLevelSecurity
  | SetReplicaIdentity
  | SetClusterOn
  | AddColumn
  | DropColumn
  | AlterColumn
  | ReplaceColumn
  | AddPrimaryKey
  | DropPrimaryKey
  | AddUnique
  | DropUnique
  | AddCheck
  | DropCheck
  | ValidateCheck
  | AddForeignKey
  | DropForeignKey
  | ValidateForeignKey
  | AddExclusion
  | DropExclusion
  | CreateIndex
  | DropIndex
  | RepairIndex
  | AddPartition
  | DropPartition
  | PartitionTable
  | UnpartitionTable
  | RewriteTable
  | CreateView
  | DropView
  | ReplaceView
  | RecreateView
  | CreateMaterializedView
  | DropMaterializedView
  | ReplaceMaterializedView
  | AlterMaterializedView
  | RoutineChange
  | TriggerChange
  | SetComment
  | Unsupported;

// --- Functions, procedures and triggers ---

/** A new function or procedure (with its comment). */
export interface CreateRoutine {
  readonly kind: 'createRoutine';
  readonly routine: Routine;
}
export interface DropRoutine {
  readonly kind: 'dropRoutine';
  readonly routine: Routine;
}
/**
 * The same routine (signature) with another definition that `CREATE OR REPLACE` can give it, or
 * only another comment.
 */
export interface ReplaceRoutine {
  readonly kind: 'replaceRoutine';
  readonly from: Routine;
  readonly to: Routine;
}
/** The same signature with a change `CREATE OR REPLACE` refuses (`reason`): drop and create. */
export interface RecreateRoutine {
  readonly kind: 'recreateRoutine';
  readonly from: Routine;
  readonly to: Routine;
  readonly reason: string;
}
export interface CreateTrigger {
  readonly kind: 'createTrigger';
  readonly trigger: Trigger;
}
export interface DropTrigger {
  readonly kind: 'dropTrigger';
  readonly trigger: Trigger;
}
/** The trigger's definition changes (CREATE OR REPLACE TRIGGER), and maybe its state and comment. */
export interface ReplaceTrigger {
  readonly kind: 'replaceTrigger';
  readonly from: Trigger;
  readonly to: Trigger;
}
/** Only the enabled state or the comment of a trigger changes. */
export interface AlterTrigger {
  readonly kind: 'alterTrigger';
  readonly from: Trigger;
  readonly to: Trigger;
}
export type RoutineChange = CreateRoutine | DropRoutine | ReplaceRoutine | RecreateRoutine;
export type TriggerChange = CreateTrigger | DropTrigger | ReplaceTrigger | AlterTrigger;

function describeRoutineChange(c: RoutineChange | TriggerChange): string {
  const r = (x: Routine) => `${x.kind} ${x.schema}.${routineSignature(x)}`;
  const t = (x: Trigger) => `trigger ${x.name} on ${x.schema}.${x.table}`;
  switch (c.kind) {
    case 'createRoutine':
      return `create ${r(c.routine)}`;
    case 'dropRoutine':
      return `drop ${r(c.routine)}`;
    case 'replaceRoutine':
      return `replace ${r(c.to)}`;
    case 'recreateRoutine':
      return `recreate ${r(c.to)}`;
    case 'createTrigger':
      return `create ${t(c.trigger)}`;
    case 'dropTrigger':
      return `drop ${t(c.trigger)}`;
    case 'replaceTrigger':
      return `replace ${t(c.to)}`;
    case 'alterTrigger':
      return `alter ${t(c.to)}`;
    default:
      return assertNever(c);
  }
}

export type ChangeKind = Change['kind'];

export { assertNever };

/** A one-line description of a change, for messages and tests. */
export function describeChange(c: Change): string {
  const rel = (r: RelationRef) => `${r.schema}.${r.name}`;
  switch (c.kind) {
    case 'createExtension':
      return `create extension ${c.extension.name}`;
    case 'dropExtension':
      return `drop extension ${c.extension.name}`;
    case 'changeGrants':
      return `privileges on ${grantTargetName(c.on)}`;
    case 'changeOwner':
      return `owner of ${ownerTargetName(c.on)}`;
    case 'createPolicy':
      return `create policy ${c.policy.name} on ${c.table.schema}.${c.table.name}`;
    case 'dropPolicy':
      return `drop policy ${c.policy.name} on ${c.table.schema}.${c.table.name}`;
    case 'alterPolicy':
      return `alter policy ${c.to.name} on ${c.table.schema}.${c.table.name}`;
    case 'createCast':
      return `create cast ${castName(c.cast)}`;
    case 'dropCast':
      return `drop cast ${castName(c.cast)}`;
    case 'replaceCast':
      return `replace cast ${castName(c.to)}`;
    case 'commentCast':
      return `comment on cast ${castName(c.to)}`;
    case 'createCollation':
      return `create collation ${c.schema}.${c.collation.name}`;
    case 'dropCollation':
      return `drop collation ${c.schema}.${c.collation.name}`;
    case 'commentCollation':
      return `comment on collation ${c.schema}.${c.to.name}`;
    case 'createTextSearchConfiguration':
      return `create text search configuration ${c.schema}.${c.config.name}`;
    case 'dropTextSearchConfiguration':
      return `drop text search configuration ${c.schema}.${c.config.name}`;
    case 'alterTextSearchConfiguration':
      return `alter text search configuration ${c.schema}.${c.to.name}`;
    case 'createCompositeType':
      return `create type ${c.type.schema}.${c.type.name}`;
    case 'dropCompositeType':
      return `drop type ${c.type.schema}.${c.type.name}`;
    case 'alterCompositeType':
      return `alter type ${c.to.schema}.${c.to.name}`;
    case 'alterExtensionVersion':
      return `update extension ${c.to.name} from version ${c.from.installedVersion ?? '?'} to ${c.to.version ?? '?'}`;
    case 'alterExtensionSchema':
      return `move extension ${c.to.name} to schema ${c.to.schema ?? 'public'}`;
    case 'createSchema':
      return `create schema ${c.name}`;
    case 'dropSchema':
      return `drop schema ${c.name}`;
    case 'createEnum':
      return `create enum ${c.enum.schema}.${c.enum.name}`;
    case 'dropEnum':
      return `drop enum ${c.enum.schema}.${c.enum.name}`;
    case 'addEnumValue':
      return `add value '${c.value}' to enum ${c.schema}.${c.name}`;
    case 'createDomain':
      return `create domain ${c.domain.schema}.${c.domain.name}`;
    case 'dropDomain':
      return `drop domain ${c.domain.schema}.${c.domain.name}`;
    case 'alterDomain':
      return `alter domain ${c.to.schema}.${c.to.name}`;
    case 'createSequence':
      return `create sequence ${c.sequence.schema}.${c.sequence.name}`;
    case 'dropSequence':
      return `drop sequence ${c.sequence.schema}.${c.sequence.name}`;
    case 'alterSequence':
      return `alter sequence ${c.to.schema}.${c.to.name}`;
    case 'createTable':
      return `create table ${c.table.schema}.${c.table.name}`;
    case 'partitionTable':
      return `partition table ${c.from.schema}.${c.from.name}`;
    case 'unpartitionTable':
      return `unpartition table ${c.from.schema}.${c.from.name}`;
    case 'rewriteTable':
      return `change type of ${typeChangesText(c.from, c.to)} of table ${c.from.schema}.${c.from.name} by a swap`;
    case 'dropTable':
      return `drop table ${c.table.schema}.${c.table.name}`;
    case 'renameTable':
      return `rename table ${c.schema}.${c.from} to ${c.to}`;
    case 'setTableLogged':
      return `set table ${rel(c.table)} ${c.unlogged ? 'UNLOGGED' : 'LOGGED'}`;
    case 'setStorageParameters':
      return c.index === undefined
        ? `set storage parameters of ${rel(c.table)}`
        : `set storage parameters of index ${c.table.schema}.${c.index}`;
    case 'setRowLevelSecurity':
      return `${c.on ? c.setting : c.setting === 'enable' ? 'disable' : 'no force'} row level security on ${rel(c.table)}`;
    case 'setReplicaIdentity':
      return `set replica identity of ${rel(c.table)} to ${replicaIdentityText(c.to)}`;
    case 'setClusterOn':
      return c.to === undefined ? `set ${rel(c.table)} without cluster` : `cluster ${rel(c.table)} on ${c.to}`;
    case 'addColumn':
      return `add column ${rel(c.table)}.${c.column.name}`;
    case 'dropColumn':
      return `drop column ${rel(c.table)}.${c.column.name}`;
    case 'alterColumn':
      return `alter column ${rel(c.table)}.${c.to.name}`;
    case 'replaceColumn':
      return c.from.name === c.to.name
        ? `change type of column ${rel(c.table)}.${c.to.name}`
        : `rename column ${rel(c.table)}.${c.from.name} to ${c.to.name}`;
    case 'addPrimaryKey':
      return `add primary key ${c.primaryKey.name} on ${rel(c.table)}`;
    case 'dropPrimaryKey':
      return `drop primary key ${c.primaryKey.name} on ${rel(c.table)}`;
    case 'addUnique':
      return `add unique constraint ${c.constraint.name} on ${rel(c.table)}`;
    case 'dropUnique':
      return `drop unique constraint ${c.constraint.name} on ${rel(c.table)}`;
    case 'addCheck':
      return `add check ${c.check.name} on ${rel(c.table)}`;
    case 'dropCheck':
      return `drop check ${c.check.name} on ${rel(c.table)}`;
    case 'validateCheck':
      return `validate check ${c.check.name} on ${rel(c.table)}`;
    case 'addForeignKey':
      return `add foreign key ${c.foreignKey.name} on ${rel(c.table)}`;
    case 'dropForeignKey':
      return `drop foreign key ${c.foreignKey.name} on ${rel(c.table)}`;
    case 'validateForeignKey':
      return `validate foreign key ${c.foreignKey.name} on ${rel(c.table)}`;
    case 'addExclusion':
      return `add exclusion constraint ${c.constraint.name} on ${rel(c.table)}`;
    case 'dropExclusion':
      return `drop exclusion constraint ${c.constraint.name} on ${rel(c.table)}`;
    case 'createIndex':
      return `create index ${c.table.schema}.${c.index.name} on ${rel(c.table)}`;
    case 'dropIndex':
      return `drop index ${c.table.schema}.${c.index.name}`;
    case 'repairIndex':
      return `rebuild invalid index ${c.table.schema}.${c.index.name}`;
    case 'addPartition':
      return `add partition ${c.partition.schema}.${c.partition.name} of ${rel(c.parent)}`;
    case 'dropPartition':
      return `drop partition ${c.partition.schema}.${c.partition.name} of ${rel(c.parent)}`;
    case 'createView':
      return `create view ${c.view.schema}.${c.view.name}`;
    case 'dropView':
      return `drop view ${c.view.schema}.${c.view.name}`;
    case 'replaceView':
      return `replace view ${c.to.schema}.${c.to.name}`;
    case 'recreateView':
      return `recreate view ${c.to.schema}.${c.to.name}`;
    case 'createMaterializedView':
      return `create materialized view ${c.view.schema}.${c.view.name}`;
    case 'dropMaterializedView':
      return `drop materialized view ${c.view.schema}.${c.view.name}`;
    case 'replaceMaterializedView':
      return `replace materialized view ${c.to.schema}.${c.to.name}`;
    case 'alterMaterializedView':
      return `alter materialized view ${c.to.schema}.${c.to.name}`;
    case 'createRoutine':
    case 'dropRoutine':
    case 'replaceRoutine':
    case 'recreateRoutine':
    case 'createTrigger':
    case 'dropTrigger':
    case 'replaceTrigger':
    case 'alterTrigger':
      return describeRoutineChange(c);
    case 'setComment':
      return `${c.comment === undefined ? 'remove' : 'set'} comment on ${commentTargetName(c.target)}`;
    case 'unsupported':
      return `${c.object}: ${c.reason}`;
    default:
      return assertNever(c);
  }
}

/** `DEFAULT`, `FULL`, `NOTHING` or `USING INDEX name`, as in REPLICA IDENTITY (names unquoted). */
export function replicaIdentityText(r: ReplicaIdentity | undefined): string {
  if (r === undefined) return 'DEFAULT';
  return r.kind === 'index' ? `USING INDEX ${r.index}` : r.kind.toUpperCase();
}

export function commentTargetName(t: CommentTarget): string {
  switch (t.kind) {
    case 'schema':
      return `schema ${t.name}`;
    case 'table':
      return `table ${t.schema}.${t.name}`;
    case 'column':
      return `column ${t.schema}.${t.table}.${t.column}`;
    case 'index':
      return `index ${t.schema}.${t.name}`;
    case 'constraint':
      return `constraint ${t.name} on ${t.schema}.${t.table}`;
    case 'domainConstraint':
      return `constraint ${t.name} on domain ${t.schema}.${t.domain}`;
    case 'enum':
      return `type ${t.schema}.${t.name}`;
    case 'domain':
      return `domain ${t.schema}.${t.name}`;
    case 'sequence':
      return `sequence ${t.schema}.${t.name}`;
    case 'view':
      return `view ${t.schema}.${t.name}`;
    case 'materializedView':
      return `materialized view ${t.schema}.${t.name}`;
    case 'viewColumn':
      return `column ${t.schema}.${t.view}.${t.column}`;
    default:
      return assertNever(t);
  }
}
