/**
 * The shape of a desired-state document once it has passed the JSON Schema: what the converter may
 * assume. Keep in step with schemas/desired-state.schema.json.
 */

/** SQL text; YAML numbers and booleans are taken as written. */
export type RawText = string | number | boolean;

export interface RawDocument {
  readonly version: 1;
  /** How zdm plans for this project (src/desired/load.ts, DesiredOptions). */
  readonly options?: { readonly renames?: 'copy' | 'views'; readonly typeChanges?: 'column' | 'swap' };
  readonly extensions?: readonly RawExtension[];
  /** By role (FOR ROLE): ALTER DEFAULT PRIVILEGES (issue 12). */
  readonly defaultPrivileges?: Readonly<Record<string, RawRoleDefaultPrivileges>>;
  readonly schemas?: Readonly<Record<string, RawSchema>>;
  /** CREATE CAST: database-wide, named by their two types. */
  readonly casts?: readonly RawCast[];
}

/** One of `function`, `inout: true`, `withoutFunction: true`. */
export interface RawCast {
  readonly source: string;
  readonly target: string;
  readonly function?: string;
  readonly inout?: true;
  readonly withoutFunction?: true;
  readonly context?: 'explicit' | 'assignment' | 'implicit';
  readonly comment?: string;
}

/** The default privileges of one role's new objects, by kind of object; `inSchema` by schema. */
export interface RawRoleDefaultPrivileges {
  readonly tables?: RawGrants;
  readonly sequences?: RawGrants;
  readonly functions?: RawGrants;
  readonly types?: RawGrants;
  readonly schemas?: RawGrants;
  readonly inSchema?: Readonly<
    Record<
      string,
      {
        readonly tables?: RawGrants;
        readonly sequences?: RawGrants;
        readonly functions?: RawGrants;
        readonly types?: RawGrants;
      }
    >
  >;
}

export type RawExtension = string | { readonly name: string; readonly schema?: string; readonly version?: string };

export interface RawSchema {
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  readonly comment?: string;
  readonly grants?: RawGrants;
  readonly enums?: Readonly<Record<string, RawEnum>>;
  readonly domains?: Readonly<Record<string, RawDomain>>;
  readonly compositeTypes?: Readonly<Record<string, RawCompositeType>>;
  readonly sequences?: Readonly<Record<string, RawSequence>>;
  readonly tables?: Readonly<Record<string, RawTable>>;
  readonly views?: Readonly<Record<string, RawView>>;
  readonly materializedViews?: Readonly<Record<string, RawMaterializedView>>;
  /** Keyed by name, or by `name(type, …)` for one of several overloads. */
  readonly functions?: Readonly<Record<string, RawRoutine>>;
  readonly procedures?: Readonly<Record<string, RawRoutine>>;
  readonly aggregates?: Readonly<Record<string, RawAggregate>>;
  readonly textSearchConfigurations?: Readonly<Record<string, RawTextSearchConfiguration>>;
  readonly collations?: Readonly<Record<string, RawCollation>>;
  /** Keyed by the table (or view) they are on, then by trigger name. */
  readonly triggers?: Readonly<Record<string, Readonly<Record<string, RawTrigger>>>>;
}

export type RawEnum =
  | readonly RawText[]
  | {
      readonly values: readonly RawText[];
      readonly owner?: string;
      readonly comment?: string;
      readonly grants?: RawGrants;
    };

export interface RawDomain {
  readonly type: string;
  readonly nullable?: boolean;
  readonly default?: RawText;
  readonly collation?: string;
  readonly checks?: Readonly<Record<string, { readonly expression: RawText; readonly comment?: string }>>;
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  readonly comment?: string;
  readonly grants?: RawGrants;
}

/** `CREATE TYPE … AS (…)`: attributes in order. */
export interface RawCompositeType {
  readonly attributes: Readonly<
    Record<string, { readonly type: string; readonly collation?: string; readonly comment?: string }>
  >;
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  readonly comment?: string;
  readonly grants?: RawGrants;
}

export type RawNumber = number | string;

/** Options of a sequence, standalone or an identity column's. */
export interface RawSequenceOptions {
  readonly start?: RawNumber;
  readonly increment?: RawNumber;
  readonly minValue?: RawNumber;
  readonly maxValue?: RawNumber;
  readonly cache?: RawNumber;
  readonly cycle?: boolean;
}

export interface RawSequence extends RawSequenceOptions {
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  readonly grants?: RawGrants;
  readonly type?: string;
  readonly ownedBy?: string | { readonly table: string; readonly column: string };
  readonly comment?: string;
}

export type RawIdentityKind = 'always' | 'by default';

/** `identity: always`, or with options of its sequence: `{ generated: always, increment: 5 }`. */
export type RawIdentity = RawIdentityKind | (RawSequenceOptions & { readonly generated: RawIdentityKind });

/** Privileges by grantee (issue 12): `{ app_reader: [SELECT, 'INSERT WITH GRANT OPTION'] }`. */
export type RawGrants = Readonly<Record<string, readonly string[]>>;

export interface RawColumn {
  readonly grants?: RawGrants;
  readonly type: string;
  readonly nullable?: boolean;
  readonly default?: RawText;
  readonly identity?: RawIdentity;
  readonly generated?: string | { readonly expression: RawText; readonly stored?: boolean };
  readonly collation?: string;
  readonly options?: RawStorageParameters;
  readonly statistics?: number;
  readonly storage?: 'plain' | 'external' | 'extended' | 'main';
  readonly compression?: 'pglz' | 'lz4';
  readonly notNullName?: string;
  readonly comment?: string;
  readonly renamedFrom?: string;
  readonly using?: RawText;
  readonly reverse?: RawText;
}

export interface RawTiming {
  readonly deferrable?: boolean;
  readonly initiallyDeferred?: boolean;
}

export interface RawPrimaryKey extends RawTiming {
  readonly name?: string;
  readonly columns: readonly string[];
  readonly include?: readonly string[];
  readonly comment?: string;
}

export interface RawUnique extends RawTiming {
  readonly columns: readonly string[];
  readonly include?: readonly string[];
  readonly nullsNotDistinct?: boolean;
  readonly comment?: string;
}

export interface RawCheck {
  readonly expression: RawText;
  readonly noInherit?: boolean;
  readonly notValid?: boolean;
  readonly comment?: string;
}

export type RawFkAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';

export interface RawForeignKey extends RawTiming {
  readonly columns: readonly string[];
  readonly references: { readonly schema?: string; readonly table: string; readonly columns: readonly string[] };
  readonly onDelete?: RawFkAction;
  readonly onUpdate?: RawFkAction;
  readonly match?: 'simple' | 'full' | 'partial';
  readonly notValid?: boolean;
  readonly comment?: string;
}

export interface RawKeyObject {
  readonly column?: string;
  readonly expression?: RawText;
  readonly collation?: string;
  readonly opclass?: string;
  readonly order?: 'asc' | 'desc';
  readonly nulls?: 'first' | 'last';
}

export type RawIndexKey = string | RawKeyObject;

export interface RawExclusionElement extends RawKeyObject {
  readonly with: string;
}

export interface RawExclusion extends RawTiming {
  readonly using?: string;
  readonly elements: readonly RawExclusionElement[];
  readonly include?: readonly string[];
  readonly where?: RawText;
  readonly comment?: string;
}

/** Storage parameters: `{ fillfactor: 80, autovacuum_enabled: false }`. */
export type RawStorageParameters = Readonly<Record<string, RawText>>;

export interface RawIndex {
  readonly columns: readonly RawIndexKey[];
  readonly unique?: boolean;
  readonly using?: string;
  readonly include?: readonly string[];
  readonly where?: RawText;
  readonly nullsNotDistinct?: boolean;
  readonly with?: RawStorageParameters;
  readonly comment?: string;
}

export interface RawPartitionBy {
  readonly strategy: 'range' | 'list' | 'hash';
  readonly columns: readonly string[];
}

export type RawReplicaIdentity = 'default' | 'full' | 'nothing' | { readonly index: string };

export interface RawRelationParts {
  readonly comment?: string;
  readonly with?: RawStorageParameters;
  readonly rowLevelSecurity?: boolean;
  readonly forceRowLevelSecurity?: boolean;
  readonly replicaIdentity?: RawReplicaIdentity;
  readonly clusterOn?: string;
  readonly primaryKey?: RawPrimaryKey;
  readonly uniqueConstraints?: Readonly<Record<string, RawUnique>>;
  readonly checks?: Readonly<Record<string, RawCheck>>;
  readonly foreignKeys?: Readonly<Record<string, RawForeignKey>>;
  readonly exclusionConstraints?: Readonly<Record<string, RawExclusion>>;
  readonly indexes?: Readonly<Record<string, RawIndex>>;
  readonly partitionBy?: RawPartitionBy;
  readonly partitions?: Readonly<Record<string, RawPartition>>;
}

export interface RawTable extends RawRelationParts {
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  readonly unlogged?: boolean;
  readonly inherits?: readonly string[];
  readonly renamedFrom?: string;
  readonly columns?: Readonly<Record<string, RawColumn>>;
  readonly policies?: Readonly<Record<string, RawPolicy>>;
  readonly grants?: RawGrants;
}

/** A row level security policy (issue 12). */
export interface RawPolicy {
  readonly restrictive?: boolean;
  readonly command?: 'all' | 'select' | 'insert' | 'update' | 'delete';
  readonly roles?: readonly string[];
  readonly using?: RawText;
  readonly withCheck?: RawText;
  readonly comment?: string;
}

/** A partition bound value; null is SQL's NULL (list partitions). */
export type RawBoundValue = RawText | null;

export interface RawPartition extends RawRelationParts {
  readonly schema?: string;
  readonly notNullNames?: Readonly<Record<string, string>>;
  readonly from?: readonly RawBoundValue[];
  readonly to?: readonly RawBoundValue[];
  readonly in?: readonly RawBoundValue[];
  readonly modulus?: number;
  readonly remainder?: number;
  readonly default?: boolean;
}

export interface RawViewColumn {
  readonly comment?: string;
}

/** What views and materialized views share: the query, inline or in a file, comments. */
export interface RawViewLike {
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  /** The query (SQL). Exactly one of `definition` and `file`. */
  readonly definition?: RawText;
  /** A .sql file holding the query, relative to the YAML file that names it. */
  readonly file?: string;
  readonly comment?: string;
  readonly columns?: Readonly<Record<string, RawViewColumn>>;
}

export interface RawView extends RawViewLike {
  readonly securityBarrier?: boolean;
  readonly securityInvoker?: boolean;
  readonly checkOption?: 'local' | 'cascaded';
}

export interface RawMaterializedView extends RawViewLike {
  readonly withData?: boolean;
  readonly indexes?: Readonly<Record<string, RawIndex>>;
  readonly with?: RawStorageParameters;
  readonly clusterOn?: string;
}

// --- Functions, procedures and triggers ---

export interface RawRoutineArgument {
  readonly mode?: 'in' | 'out' | 'inout' | 'variadic';
  readonly name?: string;
  readonly type: string;
  readonly default?: RawText;
}

export interface RawRoutine {
  /** ALTER … OWNER TO (issue 12); absent: the owner is not managed. */
  readonly owner?: string;
  readonly arguments?: readonly RawRoutineArgument[];
  readonly returns?: string;
  readonly language: string;
  /** The body (`AS $$…$$`, or a SQL-standard `RETURN …` / `BEGIN ATOMIC … END`). One of `body` and `file`. */
  readonly body?: RawText;
  readonly file?: string;
  readonly library?: string;
  readonly volatility?: 'immutable' | 'stable' | 'volatile';
  readonly strict?: boolean;
  readonly securityDefiner?: boolean;
  readonly leakproof?: boolean;
  readonly parallel?: 'safe' | 'restricted' | 'unsafe';
  readonly cost?: number;
  readonly rows?: number;
  readonly set?: Readonly<Record<string, RawText>>;
  readonly comment?: string;
  readonly grants?: RawGrants;
}

export interface RawCollation {
  readonly provider?: 'libc' | 'icu' | 'builtin';
  readonly locale?: string;
  readonly lcCollate?: string;
  readonly lcCtype?: string;
  readonly deterministic?: boolean;
  readonly comment?: string;
}

export interface RawTextSearchConfiguration {
  readonly parser: string;
  readonly mappings?: Readonly<Record<string, readonly string[]>>;
  readonly comment?: string;
}

export interface RawAggregate {
  readonly arguments?: readonly RawRoutineArgument[];
  readonly sfunc: string;
  readonly stype: string;
  readonly finalfunc?: string;
  readonly finalfuncExtra?: boolean;
  readonly combinefunc?: string;
  readonly serialfunc?: string;
  readonly deserialfunc?: string;
  readonly initcond?: string | number;
  readonly parallel?: 'safe' | 'restricted' | 'unsafe';
  readonly comment?: string;
}

export interface RawTrigger extends RawTiming {
  readonly timing: 'before' | 'after' | 'instead of';
  readonly events: readonly ('insert' | 'update' | 'delete' | 'truncate')[];
  readonly columns?: readonly string[];
  readonly forEach?: 'row' | 'statement';
  readonly when?: RawText;
  readonly function: string;
  readonly arguments?: readonly RawText[];
  readonly oldTable?: string;
  readonly newTable?: string;
  readonly constraint?: boolean;
  readonly enabled?: 'enabled' | 'disabled' | 'replica' | 'always';
  readonly comment?: string;
}
