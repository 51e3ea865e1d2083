/**
 * The schema model: one shape filled from two sides, a desired-state YAML file and a live database.
 *
 * Conventions every producer (desired/, introspect/) must follow, so that the two sides compare equal
 * when they describe the same schema (see canonical.ts):
 * - Names are stored exactly as PostgreSQL stores them (case preserved, never quoted).
 * - Types are canonical PostgreSQL spellings as `format_type()` prints them with an empty
 *   `search_path`: `character varying(200)`, `timestamp with time zone`, `integer[]`,
 *   `public.order_status`. `canonicalType()` in types-text.ts maps common aliases to these.
 * - Expressions (defaults, checks, predicates, generated columns, partition keys) are SQL text in
 *   PostgreSQL's normalized form (`pg_get_expr` output with an empty `search_path`).
 * - Optional properties are absent rather than `undefined` when they do not apply, and absent when
 *   they hold PostgreSQL's default (no storage parameters, row level security off, replica identity
 *   DEFAULT, identity sequence options at their defaults): both sides leave defaults out alike.
 * - Lists keep a meaningful order where PostgreSQL has one (columns in attnum order, enum values,
 *   key columns); sets of named objects are sorted by name in canonical form.
 */

export type FkAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';
export type FkMatch = 'simple' | 'full' | 'partial';
export type PartitionStrategy = 'range' | 'list' | 'hash';

export interface Extension {
  readonly kind: 'extension';
  readonly name: string;
  /** Schema the extension's objects live in, when not `public`. */
  readonly schema?: string;
  /**
   * Desired state only: the version it pins (created with VERSION, else updated with `ALTER
   * EXTENSION … UPDATE TO`); absent, any version will do. Left out of comparison (canonical.ts):
   * the diff compares it with `installedVersion` when it is there.
   */
  readonly version?: string;
  /** Live database only: the version installed (`pg_extension.extversion`). Never compared. */
  readonly installedVersion?: string;
}

export interface EnumType extends Grantable {
  readonly kind: 'enum';
  readonly schema: string;
  readonly name: string;
  readonly values: readonly string[];
  readonly comment?: string;
}

export interface DomainCheck {
  readonly name: string;
  readonly expression: string;
  readonly comment?: string;
}

export interface Domain extends Grantable {
  readonly kind: 'domain';
  readonly schema: string;
  readonly name: string;
  /** Canonical base type. */
  readonly type: string;
  readonly nullable: boolean;
  readonly default?: string;
  readonly collation?: string;
  readonly checks: readonly DomainCheck[];
  readonly comment?: string;
}

// ---------------------------------------------------------------- composite types (issue 12)

export interface CompositeAttribute {
  readonly name: string;
  /** Canonical type. */
  readonly type: string;
  /** A collation other than the type's default, qualified (`pg_catalog."C"`). */
  readonly collation?: string;
  readonly comment?: string;
}

/** `CREATE TYPE … AS (…)`. */
export interface CompositeType extends Grantable {
  readonly kind: 'compositeType';
  readonly schema: string;
  readonly name: string;
  /** In attnum order: the order is the type's (row constructors, `(x).*`). */
  readonly attributes: readonly CompositeAttribute[];
  readonly comment?: string;
}

export interface Sequence extends Grantable {
  readonly kind: 'sequence';
  readonly schema: string;
  readonly name: string;
  /** `smallint`, `integer` or `bigint`. */
  readonly type: string;
  /** 64-bit values are kept as decimal strings. */
  readonly start: string;
  readonly increment: string;
  readonly minValue: string;
  readonly maxValue: string;
  readonly cache: string;
  readonly cycle: boolean;
  /** `OWNED BY` a column (serial columns): table in the same schema as the sequence. */
  readonly ownedBy?: { readonly schema: string; readonly table: string; readonly column: string };
  readonly comment?: string;
}

/**
 * Options of an identity column's sequence, only those that differ from PostgreSQL's defaults for a
 * sequence of the column's type (src/model/identity.ts): absent entirely when all are defaults.
 * 64-bit values as decimal strings, like Sequence.
 */
export interface IdentityOptions {
  readonly start?: string;
  readonly increment?: string;
  readonly minValue?: string;
  readonly maxValue?: string;
  readonly cache?: string;
  readonly cycle?: true;
}

/** pg_attribute.attstorage, spelled as `SET STORAGE` takes it. */
export type ColumnStorage = 'plain' | 'external' | 'extended' | 'main';
/** pg_attribute.attcompression, spelled as `SET COMPRESSION` takes it. */
export type ColumnCompression = 'pglz' | 'lz4';

export interface Column extends Grantable {
  readonly kind: 'column';
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  readonly default?: string;
  readonly identity?: 'always' | 'by default';
  /** Only with `identity`, and only when some option of its sequence is not the default. */
  readonly identityOptions?: IdentityOptions;
  /** Generated column expression; `stored: false` is PostgreSQL 18's virtual generated column. */
  readonly generated?: { readonly expression: string; readonly stored: boolean };
  /** Only when it differs from the type's default collation; `schema.name` unless in pg_catalog. */
  readonly collation?: string;
  /** Attribute options (`ALTER COLUMN … SET (n_distinct = -0.02)`): n_distinct, n_distinct_inherited. */
  readonly options?: StorageParameters;
  /** Statistics target (`ALTER COLUMN … SET STATISTICS 1000`); absent: the server's default_statistics_target. */
  readonly statistics?: number;
  /** TOAST storage strategy (`ALTER COLUMN … SET STORAGE`), only when it is not the type's default. */
  readonly storage?: ColumnStorage;
  /** Compression method of new values (`ALTER COLUMN … SET COMPRESSION`); absent: default_toast_compression. */
  readonly compression?: ColumnCompression;
  readonly comment?: string;
  /**
   * Name of the column's NOT NULL constraint (PostgreSQL 18 makes one, contype 'n'), only when it is
   * not the name PostgreSQL gives it itself, `<table>_<column>_not_null` (notNullConstraintName).
   * Absent on a nullable column and on every column of PostgreSQL 14–17, which have no such name.
   */
  readonly notNullName?: string;
  /** Desired state only: the column's previous name (a rename, not drop + add). */
  readonly renamedFrom?: string;
  /** Desired state only: conversion expression for a type change that is not a plain cast. */
  readonly using?: string;
  /**
   * Desired state only: the reverse of `using` (new → old) for the sync trigger of a rename or type
   * change, written over the column's new name holding the new-typed value. Default: a plain cast.
   */
  readonly reverse?: string;
}

/** One key of an index (or of an exclusion constraint). */
export interface IndexKey {
  /** Column name, for a plain column key. Exactly one of `column` and `expression` is set. */
  readonly column?: string;
  /** Expression text as `pg_get_indexdef(index, n, true)` prints it, for an expression key. */
  readonly expression?: string;
  /** Non-default collation, `schema.name` unless in pg_catalog. */
  readonly collation?: string;
  /** Non-default operator class, `schema.name` unless in pg_catalog. */
  readonly opclass?: string;
  readonly descending: boolean;
  /** Only when not the default for the direction (NULLS LAST for ASC, NULLS FIRST for DESC). */
  readonly nullsFirst?: boolean;
}

export interface Index {
  readonly kind: 'index';
  readonly name: string;
  readonly unique: boolean;
  /** Access method: btree, gin, gist, hash, brin, spgist or an extension's. */
  readonly method: string;
  readonly keys: readonly IndexKey[];
  readonly include: readonly string[];
  readonly where?: string;
  readonly nullsNotDistinct: boolean;
  /** Storage parameters (`WITH (fillfactor = 70)`). */
  readonly with?: StorageParameters;
  /** Live database only: false for an INVALID index (a failed CONCURRENTLY build). Not compared. */
  readonly valid: boolean;
  readonly comment?: string;
}

export interface ConstraintTiming {
  readonly deferrable: boolean;
  readonly initiallyDeferred: boolean;
}

export interface PrimaryKey extends ConstraintTiming {
  readonly kind: 'primaryKey';
  readonly name: string;
  readonly columns: readonly string[];
  readonly include: readonly string[];
  readonly comment?: string;
}

export interface UniqueConstraint extends ConstraintTiming {
  readonly kind: 'unique';
  readonly name: string;
  readonly columns: readonly string[];
  readonly include: readonly string[];
  readonly nullsNotDistinct: boolean;
  readonly comment?: string;
}

export interface CheckConstraint {
  readonly kind: 'check';
  readonly name: string;
  readonly expression: string;
  readonly noInherit: boolean;
  /** False for a constraint added NOT VALID and not validated since. */
  readonly valid: boolean;
  readonly comment?: string;
}

export interface ForeignKey extends ConstraintTiming {
  readonly kind: 'foreignKey';
  readonly name: string;
  readonly columns: readonly string[];
  readonly references: { readonly schema: string; readonly table: string; readonly columns: readonly string[] };
  readonly onUpdate: FkAction;
  readonly onDelete: FkAction;
  readonly match: FkMatch;
  readonly valid: boolean;
  readonly comment?: string;
}

export interface ExclusionElement {
  readonly key: IndexKey;
  /** Operator, `schema.op` unless in pg_catalog, e.g. `&&` or `=`. */
  readonly operator: string;
}

export interface ExclusionConstraint extends ConstraintTiming {
  readonly kind: 'exclusion';
  readonly name: string;
  readonly method: string;
  readonly elements: readonly ExclusionElement[];
  readonly include: readonly string[];
  readonly where?: string;
  readonly comment?: string;
}

export interface PartitionKey {
  readonly strategy: PartitionStrategy;
  /** Key elements as `pg_get_partkeydef` prints them: a column name or a parenthesized expression. */
  readonly columns: readonly string[];
}

export type PartitionBound =
  | { readonly kind: 'range'; readonly from: readonly string[]; readonly to: readonly string[] }
  | { readonly kind: 'list'; readonly values: readonly string[] }
  | { readonly kind: 'hash'; readonly modulus: number; readonly remainder: number }
  | { readonly kind: 'default' };

/**
 * Storage parameters (`pg_class.reloptions`) in the order PostgreSQL keeps them: `fillfactor`,
 * `autovacuum_enabled`, … and, for a table's TOAST table, `toast.autovacuum_enabled`. Values are
 * the text PostgreSQL stores (`80`, `off`, `false`). Order is not a difference (canonical forms sort
 * keys); it is kept so that the statements zdm writes leave them in the order written.
 */
export type StorageParameters = Readonly<Record<string, string>>;

/** REPLICA IDENTITY other than DEFAULT (absent). */
export type ReplicaIdentity =
  | { readonly kind: 'full' }
  | { readonly kind: 'nothing' }
  /** USING INDEX: a unique index (or primary key / unique constraint) of the relation, by name. */
  | { readonly kind: 'index'; readonly index: string };

/**
 * What a table and a partition share: constraints and indexes declared on the relation itself.
 * For a partition, everything inherited from its parent (attached indexes, cloned constraints) is
 * left out: only what was declared on the partition alone is listed.
 */
export interface RelationParts {
  readonly primaryKey?: PrimaryKey;
  readonly uniqueConstraints: readonly UniqueConstraint[];
  readonly checks: readonly CheckConstraint[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly exclusionConstraints: readonly ExclusionConstraint[];
  readonly indexes: readonly Index[];
  readonly partitionBy?: PartitionKey;
  readonly partitions: readonly Partition[];
  readonly comment?: string;
  /** Storage parameters; absent when there are none. */
  readonly with?: StorageParameters;
  /** ENABLE ROW LEVEL SECURITY; absent when off. */
  readonly rowLevelSecurity?: true;
  /** FORCE ROW LEVEL SECURITY (policies apply to the table's owner too); absent when off. */
  readonly forceRowLevelSecurity?: true;
  /** Absent: REPLICA IDENTITY DEFAULT. */
  readonly replicaIdentity?: ReplicaIdentity;
  /** CLUSTER ON: the index a bare `CLUSTER` of the table uses (pg_index.indisclustered); absent when none. */
  readonly clusterOn?: string;
}

export interface Partition extends RelationParts {
  readonly kind: 'partition';
  /** Schema of the partition; usually the parent's. */
  readonly schema: string;
  readonly name: string;
  readonly bound: PartitionBound;
  /**
   * PostgreSQL 18: by column, the name of the partition's NOT NULL constraint where it is not its
   * parent's (a partition made by `PARTITION OF` takes its parent's names; one attached with ATTACH
   * PARTITION keeps those it had). Absent when every name is the parent's.
   */
  readonly notNullNames?: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------- privileges (issue 12)

/**
 * One privilege held by one grantee on an object (a table, one of its columns, a sequence, a
 * schema, a function or procedure, a type). The owner's own privileges are left out.
 */
export interface Grant {
  /** A role name, or `public` for PUBLIC. */
  readonly grantee: string;
  /** `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES`, `TRIGGER`, `MAINTAIN`, `USAGE`, `CREATE`, `EXECUTE`. */
  readonly privilege: string;
  /** WITH GRANT OPTION. */
  readonly grantable?: true;
}

/**
 * `grants` of a table, sequence or schema: a live model always has the list (empty when there are
 * none); a desired state has it only where the object's privileges are managed (its YAML has a
 * `grants` key, `{}` for none); absent, the privileges are left as they are. A table's `grants` key
 * manages its columns' privileges too (a column without `grants` has none). Never compared through
 * canonical.ts: the diff compares them where the desired state manages them (src/diff/grants.ts).
 * Functions, procedures and types (enums, domains, composite types) have them too; their live list
 * holds PostgreSQL's default (EXECUTE / USAGE to PUBLIC) when their ACL is NULL (src/model/grants.ts).
 */
export interface Grantable {
  readonly grants?: readonly Grant[];
}

/** What `ALTER DEFAULT PRIVILEGES … ON <kind>` applies to (pg_default_acl.defaclobjtype r, S, f, T, n). */
export type DefaultPrivilegeKind = 'tables' | 'sequences' | 'functions' | 'types' | 'schemas';

/**
 * `ALTER DEFAULT PRIVILEGES FOR ROLE role [IN SCHEMA schema] GRANT … ON kind`: the privileges the
 * objects `role` creates from now on get (one pg_default_acl row; src/model/default-privileges.ts).
 */
export interface DefaultPrivilege {
  /** FOR ROLE: whose new objects. */
  readonly role: string;
  /** IN SCHEMA; absent: in every schema (a global entry, which may also take PUBLIC's default away). */
  readonly schema?: string;
  readonly on: DefaultPrivilegeKind;
  /** By grantee, the role's own left out; sorted (compareGrants). */
  readonly grants: readonly Grant[];
}

// ---------------------------------------------------------------- row level security policies (issue 12)

export type PolicyCommand = 'select' | 'insert' | 'update' | 'delete';

/** `CREATE POLICY name ON table …`. Defaults are absent: PERMISSIVE, FOR ALL, TO PUBLIC. */
export interface Policy {
  readonly name: string;
  /** AS RESTRICTIVE; absent for PERMISSIVE. */
  readonly restrictive?: true;
  /** FOR …; absent for ALL. */
  readonly command?: PolicyCommand;
  /** TO …: role names, sorted; absent for PUBLIC alone. `public` stands for PUBLIC in a list. */
  readonly roles?: readonly string[];
  /** USING expression, normalized (`pg_get_expr`). */
  readonly using?: string;
  /** WITH CHECK expression, normalized. */
  readonly withCheck?: string;
  readonly comment?: string;
}

export interface Table extends RelationParts, Grantable {
  readonly kind: 'table';
  readonly schema: string;
  readonly name: string;
  readonly unlogged: boolean;
  /**
   * The columns declared on the table itself. A table with `inherits` lists only its own (attislocal):
   * the ones it inherits follow from its parents, with their defaults and NOT NULL.
   */
  readonly columns: readonly Column[];
  /** INHERITS: its parents (`schema.name`), in order; absent when none. */
  readonly inherits?: readonly string[];
  /** Row level security policies, sorted by name; absent when the table has none. */
  readonly policies?: readonly Policy[];
  /** Desired state only: the table's previous name in the same schema. */
  readonly renamedFrom?: string;
}

/**
 * An output column of a view or materialized view. Its name, type and collation follow from the
 * definition and the relations it reads, so only the comment is compared (see canonical.ts); the
 * rest is read from a server (the live database, or the scratch database that normalizes a desired
 * state) for the planner's decisions, e.g. whether `CREATE OR REPLACE VIEW` can replace a view.
 */
export interface ViewColumn {
  readonly name: string;
  /** `format_type()` of the column; absent in a desired state not normalized through a server. */
  readonly type?: string;
  /** Only when it differs from the type's default collation; `schema.name` unless in pg_catalog. */
  readonly collation?: string;
  readonly comment?: string;
}

export type ViewCheckOption = 'local' | 'cascaded';

export interface View {
  readonly kind: 'view';
  readonly schema: string;
  readonly name: string;
  /**
   * The query, as `pg_get_viewdef(oid, true)` prints it under an empty `search_path` (every name
   * outside pg_catalog schema-qualified), without the leading blank and the final semicolon.
   */
  readonly definition: string;
  /**
   * Output columns in order (read from a server). A desired state not normalized yet lists only the
   * columns it gives a comment.
   */
  readonly columns: readonly ViewColumn[];
  /** `WITH (security_barrier)`. */
  readonly securityBarrier: boolean;
  /** `WITH (security_invoker)` (PostgreSQL 15+). */
  readonly securityInvoker: boolean;
  /** `WITH [LOCAL | CASCADED] CHECK OPTION`. */
  readonly checkOption?: ViewCheckOption;
  readonly comment?: string;
}

export interface MaterializedView {
  readonly kind: 'materializedView';
  readonly schema: string;
  readonly name: string;
  /** As for View.definition. */
  readonly definition: string;
  /** As for View.columns. */
  readonly columns: readonly ViewColumn[];
  /** False for `WITH NO DATA` (live: not populated, `pg_class.relispopulated`). */
  readonly withData: boolean;
  readonly indexes: readonly Index[];
  /** Storage parameters (`WITH (fillfactor = 70)`). */
  readonly with?: StorageParameters;
  /** As for a table's: the index a bare `CLUSTER` uses; absent when none. */
  readonly clusterOn?: string;
  readonly comment?: string;
}

// --- Functions, procedures and triggers (src/model/routines.ts) ---

export type ArgumentMode = 'in' | 'out' | 'inout' | 'variadic';

/** One declared argument of a function or procedure (a `RETURNS TABLE` column is in `returns`). */
export interface RoutineArgument {
  /** Absent: `in`. */
  readonly mode?: Exclude<ArgumentMode, 'in'>;
  readonly name?: string;
  /** `format_type()` of the argument's type (no typmod: PostgreSQL keeps none for arguments). */
  readonly type: string;
  /** `pg_get_function_arg_default` of the argument. */
  readonly default?: string;
}

export type Volatility = 'immutable' | 'stable' | 'volatile';
export type Parallel = 'safe' | 'restricted' | 'unsafe';

/**
 * What `CREATE AGGREGATE` says of a plain aggregate (aggkind `n`, no moving-aggregate mode, no sort
 * operator): functions as `regproc` prints them under an empty search_path (`public.f`, or `f` for
 * pg_catalog's), the state type as `format_type` does.
 */
export interface AggregateDefinition {
  readonly sfunc: string;
  readonly stype: string;
  readonly finalfunc?: string;
  readonly finalfuncExtra?: true;
  readonly combinefunc?: string;
  readonly serialfunc?: string;
  readonly deserialfunc?: string;
  /** INITCOND: the initial state as text. */
  readonly initcond?: string;
}

/**
 * A function, procedure or aggregate. Its identity is `schema.name(argument types)` (routineIdentity
 * in routines.ts): overloads are separate objects. Options hold PostgreSQL's defaults when absent.
 * An aggregate has `aggregate`, language `internal` and an empty body; of the options only
 * `parallel` and `comment` apply to it.
 */
export interface Routine extends Grantable {
  readonly kind: 'function' | 'procedure' | 'aggregate';
  /** Aggregates only. */
  readonly aggregate?: AggregateDefinition;
  readonly schema: string;
  readonly name: string;
  readonly arguments: readonly RoutineArgument[];
  /** Functions only: `pg_get_function_result` (`integer`, `SETOF text`, `TABLE(a integer)`, `trigger`). */
  readonly returns?: string;
  readonly language: string;
  /**
   * The body: `prosrc` as written (`AS $$ … $$`), or for a SQL-standard body (`sqlBody`),
   * `pg_get_function_sqlbody` (`RETURN …` / `BEGIN ATOMIC … END`) under an empty search_path.
   */
  readonly body: string;
  /** C functions: the object file (`pg_proc.probin`, `AS 'file', 'symbol'`); `body` is then the link symbol. */
  readonly library?: string;
  readonly sqlBody?: true;
  /** Absent: volatile. */
  readonly volatility?: Exclude<Volatility, 'volatile'>;
  readonly strict?: true;
  readonly securityDefiner?: true;
  readonly leakproof?: true;
  /** Absent: unsafe. */
  readonly parallel?: Exclude<Parallel, 'unsafe'>;
  /** Absent: PostgreSQL's default (1 for C and internal functions, 100 for the others). */
  readonly cost?: number;
  /** Absent: the default (1000 for a set-returning function, none otherwise). */
  readonly rows?: number;
  /** `SET name = value` options (`proconfig`), in the order PostgreSQL keeps them. */
  readonly set?: Readonly<Record<string, string>>;
  readonly comment?: string;
}

export type TriggerEvent = 'insert' | 'update' | 'delete' | 'truncate';

/** Absent on a trigger: ENABLE (fires in origin and local sessions). */
export type TriggerEnabled = 'disabled' | 'replica' | 'always';

/** A trigger on a table, partitioned table or view of its schema (clones on partitions left out). */
export interface Trigger {
  readonly kind: 'trigger';
  readonly schema: string;
  /** The relation it is on, in the same schema. */
  readonly table: string;
  readonly name: string;
  readonly timing: 'before' | 'after' | 'instead of';
  /** In PostgreSQL's order: insert, delete, update, truncate. */
  readonly events: readonly TriggerEvent[];
  /** `UPDATE OF` columns, in attnum order. */
  readonly columns?: readonly string[];
  readonly forEach: 'row' | 'statement';
  /** `WHEN (…)`, as pg_get_triggerdef prints it (without the parentheses). */
  readonly when?: string;
  /** `schema.name` of the function it executes. */
  readonly function: string;
  readonly arguments?: readonly string[];
  readonly oldTable?: string;
  readonly newTable?: string;
  /** A constraint trigger (`CREATE CONSTRAINT TRIGGER`), with its timing. */
  readonly constraint?: ConstraintTiming;
  readonly enabled?: TriggerEnabled;
  readonly comment?: string;
}

export interface SchemaModel extends Grantable {
  readonly kind: 'schema';
  readonly name: string;
  readonly enums: readonly EnumType[];
  readonly domains: readonly Domain[];
  readonly compositeTypes: readonly CompositeType[];
  readonly sequences: readonly Sequence[];
  readonly tables: readonly Table[];
  readonly views: readonly View[];
  readonly materializedViews: readonly MaterializedView[];
  /** Functions and procedures, sorted by routineIdentity. */
  readonly functions: readonly Routine[];
  /** Triggers, sorted by table, then name. */
  readonly triggers: readonly Trigger[];
  /** Text search configurations, by name; absent when none (src/model/text-search.ts). */
  readonly textSearchConfigurations?: readonly TextSearchConfiguration[];
  /** Collations, by name; absent when none. */
  readonly collations?: readonly Collation[];
  readonly comment?: string;
}

/**
 * `CREATE COLLATION s.n (provider = …, locale = … | lc_collate = …, lc_ctype = …, deterministic = …)`.
 * `locale` when lc_collate and lc_ctype are the same (always for icu and builtin), else both.
 */
export interface Collation {
  readonly kind: 'collation';
  readonly name: string;
  readonly provider: 'libc' | 'icu' | 'builtin';
  readonly locale?: string;
  readonly lcCollate?: string;
  readonly lcCtype?: string;
  /** Absent: deterministic (the default). */
  readonly deterministic?: false;
  readonly comment?: string;
}

/**
 * `CREATE TEXT SEARCH CONFIGURATION s.n (PARSER = p)` and its mappings (`ALTER … ADD MAPPING FOR
 * token WITH d1, d2`).
 */
export interface TextSearchConfiguration {
  readonly kind: 'textSearchConfiguration';
  readonly name: string;
  /** The parser, `schema.name`, or the bare name of pg_catalog's (`default`); neither part quoted. */
  readonly parser: string;
  /**
   * Token type → its dictionaries in order, as `regdictionary` prints them under an empty
   * search_path (`simple`, `public.unaccent`). Compared as a map.
   */
  readonly mappings: Readonly<Record<string, readonly string[]>>;
  readonly comment?: string;
}

/** A reference from an object zdm does not manage (function, trigger) to a table or column. */
export interface DependencyTarget {
  readonly schema: string;
  readonly table: string;
  /** Absent when the dependency is on the table as a whole. */
  readonly column?: string;
}

export interface Dependent {
  readonly kind: 'function' | 'trigger';
  readonly schema: string;
  readonly name: string;
  /** For a trigger, the table it is on. */
  readonly table?: string;
  readonly dependsOn: readonly DependencyTarget[];
}

/**
 * Objects read from a live database that the desired state does not manage (yet). They are never
 * compared; planners use them to know what a change would break (a trigger on a renamed column, a
 * trigger a backfill would fire).
 */
export interface Dependents {
  readonly functions: readonly Dependent[];
  readonly triggers: readonly Dependent[];
}

/**
 * One edge of the dependency graph (src/model/dependencies.ts): `from` needs `to` (and PostgreSQL
 * knows it: pg_depend). Both are object keys (src/model/objects.ts): `view public.v`,
 * `table public.t`, `materializedView public.mv`; objects zdm does not manage get keys of their own
 * kind (`function public.f(integer)`, `rule r on public.t`, `trigger t on public.t`, …).
 */
export interface Dependency {
  readonly from: string;
  readonly to: string;
  /** The column of `to` (a table, view or materialized view) when the dependency is on one column. */
  readonly column?: string;
}

/**
 * `CREATE CAST (source AS target) WITH FUNCTION f(…) | WITHOUT FUNCTION | WITH INOUT [AS ASSIGNMENT |
 * AS IMPLICIT]`: a database-wide object, named by its two types. Types as format_type prints them
 * (schema-qualified outside pg_catalog), the function as regprocedure does (`public.f(public.t)`).
 */
export interface Cast {
  readonly kind: 'cast';
  readonly source: string;
  readonly target: string;
  /** `function`: WITH FUNCTION; `binary`: WITHOUT FUNCTION; `inout`: WITH INOUT. */
  readonly method: 'function' | 'binary' | 'inout';
  /** With `method: function`: the function's signature, `schema.name(type, …)`. */
  readonly function?: string;
  /** When PostgreSQL applies it on its own: `explicit` (only `::` or CAST), `assignment`, `implicit`. */
  readonly context: 'explicit' | 'assignment' | 'implicit';
  readonly comment?: string;
}

export interface DatabaseModel {
  readonly kind: 'database';
  readonly extensions: readonly Extension[];
  readonly schemas: readonly SchemaModel[];
  /** Live database only. */
  readonly dependents?: Dependents;
  /**
   * What depends on what, from pg_depend: of the live database, or of the scratch database a
   * desired state was built in (a desired state that was not has a copy of the live edges between
   * the objects it keeps). Never compared.
   */
  readonly dependencies?: readonly Dependency[];
  /**
   * Live database only: how many objects of each kind zdm does not manage (yet) the database holds,
   * by kind (`function`, `trigger`, `rule`, `event trigger`, `aggregate`, `operator`,
   * `foreign-data wrapper`, `foreign server`, `foreign table`, `publication`), kinds with none left out.
   */
  readonly unmanaged?: Readonly<Record<string, number>>;
  /**
   * Live database only: by schema, the names of the indexes the model leaves out (a partition's index
   * attached to its parent's index or key), which PostgreSQL counts as taken when it chooses a name.
   * Never compared.
   */
  readonly attachedIndexNames?: Readonly<Record<string, readonly string[]>>;
  /**
   * Default privileges (issue 12), sorted by role, schema, kind: a live model has every
   * pg_default_acl entry; a desired state has the list only when it manages them (its
   * `defaultPrivileges` key), and then an entry it leaves out is at PostgreSQL's default. Never
   * compared through canonical.ts: src/diff/default-privileges.ts compares them.
   */
  readonly defaultPrivileges?: readonly DefaultPrivilege[];
  /**
   * Desired state only: the owners it manages (issue 12; src/model/owners.ts), by object key, those
   * its `owner:` keys name; absent: it manages none. Never compared through canonical.ts:
   * src/diff/owners.ts compares them with `liveOwners`.
   */
  readonly owners?: Readonly<Record<string, string>>;
  /**
   * Live database only: the owner of every schema, table, sequence, view, materialized view,
   * function, procedure and type, by object key. Kept apart from `owners` so that a live model used
   * as a desired one (the rehearsal's copy of the live schema) manages no owner. Never compared.
   */
  readonly liveOwners?: Readonly<Record<string, string>>;
  /** User-defined casts (CREATE CAST), sorted by source and target; absent when none (src/model/casts.ts). */
  readonly casts?: readonly Cast[];
  /** Live database only: e.g. `PostgreSQL 18.4`. */
  readonly server?: { readonly version: string; readonly versionNum: number };
}
