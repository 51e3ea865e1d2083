/**
 * Rows to model objects: one function per kind, pure, no database. Assembling them into the tree
 * (tables, partitions, schemas) is build.ts.
 */

import { compareGrants } from '../model/grants.js';
import { identityOptionsOf } from '../model/identity.js';
import type {
  CheckConstraint,
  Column,
  ColumnCompression,
  ColumnStorage,
  CompositeType,
  DependencyTarget,
  Dependent,
  Domain,
  DomainCheck,
  EnumType,
  ExclusionConstraint,
  Extension,
  FkAction,
  FkMatch,
  ForeignKey,
  Grant,
  IdentityOptions,
  Index,
  IndexKey,
  MaterializedView,
  PartitionBound,
  PartitionKey,
  Policy,
  PolicyCommand,
  PrimaryKey,
  ReplicaIdentity,
  Sequence,
  StorageParameters,
  UniqueConstraint,
  View,
  ViewColumn,
} from '../model/types.js';
import { viewDefinitionText, viewOptionsFrom } from '../model/views.js';
import type {
  ColumnRow,
  CompositeAttributeRow,
  ConstraintRow,
  DependentRow,
  DomainCheckRow,
  ExtensionRow,
  GrantJson,
  GrantRow,
  IndexKeyRow,
  IndexRow,
  PolicyRow,
  RelationRow,
  SequenceRow,
  TypeRow,
  ViewColumnRow,
  ViewRow,
} from './queries.js';
import { DeparseError, indexDefElements, parseKeySuffix, parsePartitionBound, parsePartitionKey } from './sql-text.js';

/** Byte-order comparison (UTF-16 code units), independent of any locale or server collation. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byName<T extends { readonly name: string }>(a: T, b: T): number {
  return compareText(a.name, b.name);
}

/** Adds `key: value` only when value is not null, so absent stays absent (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return value === null || value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** Something zdm read but cannot represent in the model; reported beside it, never silently lost. */
export interface UnsupportedFeature {
  /** `schema.name` of the object (`schema.table.column` for a column, `schema.table: index` …). */
  readonly object: string;
  readonly feature: string;
}

export function parseExtension(row: ExtensionRow): Extension {
  return {
    kind: 'extension',
    name: row.name,
    ...(row.schema === 'public' ? {} : { schema: row.schema }),
    installedVersion: row.version,
  };
}

export function parseEnum(row: TypeRow): EnumType {
  return {
    kind: 'enum',
    schema: row.schema,
    name: row.name,
    values: row.enum_values ?? [],
    ...opt('comment', row.comment),
    grants: parseGrantList(row.grants),
  };
}

export function parseDomainCheck(row: DomainCheckRow): DomainCheck {
  return { name: row.name, expression: row.expression, ...opt('comment', row.comment) };
}

export function parseDomain(row: TypeRow, checks: readonly DomainCheck[]): Domain {
  if (row.base_type === null) throw new Error(`domain ${row.schema}.${row.name} has no base type`);
  return {
    kind: 'domain',
    schema: row.schema,
    name: row.name,
    type: row.base_type,
    nullable: !row.not_null,
    ...opt('default', row.default_value),
    ...opt('collation', row.collation),
    checks: [...checks].sort(byName),
    ...opt('comment', row.comment),
    grants: parseGrantList(row.grants),
  };
}

export function parseSequence(row: SequenceRow): Sequence {
  const ownedBy =
    row.owned_schema !== null && row.owned_table !== null && row.owned_column !== null
      ? { schema: row.owned_schema, table: row.owned_table, column: row.owned_column }
      : null;
  return {
    kind: 'sequence',
    schema: row.schema,
    name: row.name,
    type: row.type,
    start: row.start,
    increment: row.increment,
    minValue: row.min_value,
    maxValue: row.max_value,
    cache: row.cache,
    cycle: row.cycle,
    ...opt('ownedBy', ownedBy),
    ...opt('comment', row.comment),
  };
}

export function parseColumn(row: ColumnRow): Column {
  const identity: Column['identity'] | null =
    row.identity === 'a' ? 'always' : row.identity === 'd' ? 'by default' : null;
  let generated: { expression: string; stored: boolean } | null = null;
  if (row.generated === 's' || row.generated === 'v') {
    if (row.default_value === null) throw new Error(`generated column ${row.name} has no expression`);
    generated = { expression: row.default_value, stored: row.generated === 's' };
  }
  return {
    kind: 'column',
    name: row.name,
    type: row.type,
    nullable: !row.not_null,
    // The expression of a generated column lives in pg_attrdef too, but it is not a default.
    ...opt('default', generated === null ? row.default_value : null),
    ...opt('identity', identity),
    ...opt('identityOptions', identity === null ? null : parseIdentityOptions(row)),
    ...opt('generated', generated),
    ...opt('collation', row.collation),
    ...opt('options', parseReloptions(row.options)),
    ...opt('statistics', row.statistics),
    ...opt('storage', row.storage === null ? null : COLUMN_STORAGE[row.storage]),
    ...opt('compression', row.compression === null ? null : COLUMN_COMPRESSION[row.compression]),
    ...opt('comment', row.comment),
  };
}

const COLUMN_STORAGE: Readonly<Record<string, ColumnStorage>> = { p: 'plain', e: 'external', x: 'extended', m: 'main' };
const COLUMN_COMPRESSION: Readonly<Record<string, ColumnCompression>> = { p: 'pglz', l: 'lz4' };

/** The identity sequence's options that are not the defaults for the column's type. */
function parseIdentityOptions(row: ColumnRow): IdentityOptions | undefined {
  if (row.identity_start === null) throw new Error(`identity column ${row.name} has no sequence`);
  return identityOptionsOf(row.type, {
    start: BigInt(row.identity_start),
    increment: BigInt(row.identity_increment!),
    minValue: BigInt(row.identity_min!),
    maxValue: BigInt(row.identity_max!),
    cache: BigInt(row.identity_cache!),
    cycle: row.identity_cycle === true,
  });
}

/** An index's keys with what is needed to model them. */
export interface IndexKeys {
  readonly keys: readonly IndexKey[];
  readonly include: readonly string[];
  readonly unsupported: readonly string[];
}

/**
 * Keys of one index. Direction and NULLS order come from indoption; collation and operator class are
 * named from the catalog but kept only where `pg_get_indexdef` prints them, i.e. where PostgreSQL
 * itself considers them not the default for the key (see parseKeySuffix).
 */
export function parseIndexKeys(index: IndexRow, keyRows: readonly IndexKeyRow[]): IndexKeys {
  // No definition: no key prints a COLLATE or an operator class (see INDEX_MAY_PRINT_SUFFIX).
  const elements = index.definition === null ? null : indexDefElements(index.definition);
  if (elements !== null && elements.length !== index.key_count) {
    throw new DeparseError(
      `index ${index.name}: ${elements.length} key elements in "${index.definition}", expected ${index.key_count}`,
    );
  }
  const keys: IndexKey[] = [];
  const include: string[] = [];
  const unsupported: string[] = [];
  for (const row of keyRows) {
    if (row.position >= index.key_count) {
      if (row.column_name === null) throw new DeparseError(`index ${index.name}: INCLUDE of an expression`);
      include.push(row.column_name);
      continue;
    }
    const suffix =
      elements === null
        ? { collate: false, opclass: false, opclassOptions: false }
        : parseKeySuffix(elements[row.position]!, row.key_text);
    if (suffix.opclassOptions) unsupported.push(`operator class parameters on key ${row.key_text}`);
    const options = row.options ?? 0;
    const descending = (options & 1) !== 0;
    const nullsFirst = (options & 2) !== 0;
    keys.push({
      ...(row.column_name !== null ? { column: row.column_name } : { expression: row.key_text }),
      ...opt('collation', suffix.collate ? row.collation : null),
      ...opt('opclass', suffix.opclass ? row.opclass : null),
      descending,
      // The default is NULLS LAST ascending and NULLS FIRST descending.
      ...(nullsFirst !== descending ? { nullsFirst } : {}),
    });
  }
  return { keys, include, unsupported };
}

/**
 * `WITH (fillfactor=70)` from pg_class.reloptions (`name=value` strings), in the catalog's order:
 * statements that set them keep that order (see StorageParameters).
 */
export function parseReloptions(options: readonly string[] | null): StorageParameters | null {
  if (options === null || options.length === 0) return null;
  const pairs = options.map((o) => {
    const eq = o.indexOf('=');
    return eq < 0 ? ([o, ''] as const) : ([o.slice(0, eq), o.slice(eq + 1)] as const);
  });
  return Object.fromEntries(pairs);
}

export function parseIndex(row: IndexRow, keys: IndexKeys): Index {
  return {
    kind: 'index',
    name: row.name,
    unique: row.unique,
    method: row.method,
    keys: keys.keys,
    include: keys.include,
    ...opt('where', row.predicate),
    nullsNotDistinct: row.nulls_not_distinct,
    ...opt('with', parseReloptions(row.options)),
    valid: row.valid,
    ...opt('comment', row.comment),
  };
}

const FK_ACTIONS: Readonly<Record<string, FkAction>> = {
  a: 'no action',
  r: 'restrict',
  c: 'cascade',
  n: 'set null',
  d: 'set default',
};

const FK_MATCH: Readonly<Record<string, FkMatch>> = { s: 'simple', f: 'full', p: 'partial' };

function fkAction(code: string, constraint: string): FkAction {
  const a = FK_ACTIONS[code];
  if (!a) throw new Error(`foreign key ${constraint}: unknown action code '${code}'`);
  return a;
}

export function parsePrimaryKey(row: ConstraintRow, keys: IndexKeys | undefined): PrimaryKey {
  return {
    kind: 'primaryKey',
    name: row.name,
    columns: row.columns,
    include: keys?.include ?? [],
    deferrable: row.deferrable,
    initiallyDeferred: row.deferred,
    ...opt('comment', row.comment),
  };
}

export function parseUnique(
  row: ConstraintRow,
  index: IndexRow | undefined,
  keys: IndexKeys | undefined,
): UniqueConstraint {
  return {
    kind: 'unique',
    name: row.name,
    columns: row.columns,
    include: keys?.include ?? [],
    nullsNotDistinct: index?.nulls_not_distinct ?? false,
    deferrable: row.deferrable,
    initiallyDeferred: row.deferred,
    ...opt('comment', row.comment),
  };
}

export function parseCheck(row: ConstraintRow): CheckConstraint {
  if (row.expression === null) throw new Error(`check ${row.name} has no expression`);
  return {
    kind: 'check',
    name: row.name,
    expression: row.expression,
    noInherit: row.no_inherit,
    valid: row.validated,
    ...opt('comment', row.comment),
  };
}

export function parseForeignKey(row: ConstraintRow): ForeignKey {
  if (row.ref_schema === null || row.ref_table === null)
    throw new Error(`foreign key ${row.name}: no referenced table`);
  const match = FK_MATCH[row.match_type];
  if (!match) throw new Error(`foreign key ${row.name}: unknown match type '${row.match_type}'`);
  return {
    kind: 'foreignKey',
    name: row.name,
    columns: row.columns,
    references: { schema: row.ref_schema, table: row.ref_table, columns: row.ref_columns },
    onUpdate: fkAction(row.on_update, row.name),
    onDelete: fkAction(row.on_delete, row.name),
    match,
    deferrable: row.deferrable,
    initiallyDeferred: row.deferred,
    valid: row.validated,
    ...opt('comment', row.comment),
  };
}

export function parseExclusion(row: ConstraintRow, index: IndexRow, keys: IndexKeys): ExclusionConstraint {
  if (keys.keys.length !== row.exclusion_operators.length) {
    throw new Error(
      `exclusion constraint ${row.name}: ${keys.keys.length} keys but ${row.exclusion_operators.length} operators`,
    );
  }
  return {
    kind: 'exclusion',
    name: row.name,
    method: index.method,
    elements: keys.keys.map((key, i) => ({ key, operator: row.exclusion_operators[i]! })),
    include: keys.include,
    ...opt('where', index.predicate),
    deferrable: row.deferrable,
    initiallyDeferred: row.deferred,
    ...opt('comment', row.comment),
  };
}

/** Storage parameters, row level security, replica identity and CLUSTER ON of a table or partition. */
export function parseRelationProperties(row: RelationRow): {
  with?: StorageParameters;
  rowLevelSecurity?: true;
  forceRowLevelSecurity?: true;
  replicaIdentity?: ReplicaIdentity;
  clusterOn?: string;
} {
  const options = [...(row.options ?? []), ...row.toast_options];
  let replicaIdentity: ReplicaIdentity | null = null;
  switch (row.replica_identity) {
    case 'f':
      replicaIdentity = { kind: 'full' };
      break;
    case 'n':
      replicaIdentity = { kind: 'nothing' };
      break;
    case 'i':
      // With its index dropped, PostgreSQL keeps 'i' and logs no old key, as with NOTHING.
      replicaIdentity =
        row.replica_identity_index === null
          ? { kind: 'nothing' }
          : { kind: 'index', index: row.replica_identity_index };
      break;
    default:
      break;
  }
  return {
    ...opt('with', parseReloptions(options)),
    ...(row.row_security ? { rowLevelSecurity: true as const } : {}),
    ...(row.force_row_security ? { forceRowLevelSecurity: true as const } : {}),
    ...opt('replicaIdentity', replicaIdentity),
    ...opt('clusterOn', row.cluster_index),
  };
}

export function parseBound(text: string): PartitionBound {
  return parsePartitionBound(text);
}

export function parsePartitionBy(text: string): PartitionKey {
  const { strategy, columns } = parsePartitionKey(text);
  if (strategy !== 'range' && strategy !== 'list' && strategy !== 'hash') {
    throw new DeparseError(`unknown partition strategy in: ${text}`);
  }
  return { strategy, columns };
}

function compareTargets(a: DependencyTarget, b: DependencyTarget): number {
  return (
    compareText(a.schema, b.schema) || compareText(a.table, b.table) || compareText(a.column ?? '', b.column ?? '')
  );
}

/**
 * Folds the one-row-per-dependency rows of VIEWS_SQL, FUNCTIONS_SQL or TRIGGERS_SQL into dependents,
 * targets deduplicated and sorted.
 */
export function parseDependents(
  rows: readonly DependentRow[],
  kindOf: (row: DependentRow) => Dependent['kind'],
): Dependent[] {
  const byOid = new Map<string, { row: DependentRow; targets: Map<string, DependencyTarget> }>();
  for (const row of rows) {
    let entry = byOid.get(row.oid);
    if (!entry) {
      entry = { row, targets: new Map() };
      byOid.set(row.oid, entry);
    }
    if (row.dep_schema !== null && row.dep_table !== null) {
      const target: DependencyTarget = {
        schema: row.dep_schema,
        table: row.dep_table,
        ...opt('column', row.dep_column),
      };
      entry.targets.set(JSON.stringify([target.schema, target.table, target.column ?? null]), target);
    }
  }
  const out: Dependent[] = [...byOid.values()].map(({ row, targets }) => ({
    kind: kindOf(row),
    schema: row.schema,
    name: row.name,
    ...opt('table', row.table_name),
    dependsOn: [...targets.values()].sort(compareTargets),
  }));
  return out.sort(
    (a, b) =>
      compareText(a.schema, b.schema) || compareText(a.table ?? '', b.table ?? '') || compareText(a.name, b.name),
  );
}

export function parseViewColumn(row: ViewColumnRow): ViewColumn {
  return { name: row.name, type: row.type, ...opt('collation', row.collation), ...opt('comment', row.comment) };
}

export function parseView(row: ViewRow, columns: readonly ViewColumn[]): View {
  const o = viewOptionsFrom(row.options);
  return {
    kind: 'view',
    schema: row.schema,
    name: row.name,
    definition: viewDefinitionText(row.definition),
    columns,
    securityBarrier: o.securityBarrier,
    securityInvoker: o.securityInvoker,
    ...opt('checkOption', o.checkOption),
    ...opt('comment', row.comment),
  };
}

export function parseMaterializedView(
  row: ViewRow,
  columns: readonly ViewColumn[],
  indexes: readonly Index[],
): MaterializedView {
  return {
    kind: 'materializedView',
    schema: row.schema,
    name: row.name,
    definition: viewDefinitionText(row.definition),
    columns,
    withData: row.populated,
    indexes,
    ...opt('with', parseReloptions(row.options)),
    ...opt('clusterOn', row.cluster_index),
    ...opt('comment', row.comment),
  };
}

// ---------------------------------------------------------------- composite types (issue 12)

export function parseCompositeType(row: TypeRow, attributes: readonly CompositeAttributeRow[]): CompositeType {
  return {
    kind: 'compositeType',
    schema: row.schema,
    name: row.name,
    attributes: attributes.map((a) => ({
      name: a.name,
      type: a.type,
      ...opt('collation', a.collation),
      ...opt('comment', a.comment),
    })),
    ...opt('comment', row.comment),
    grants: parseGrantList(row.grants),
  };
}

// ---------------------------------------------------------------- row level security policies (issue 12)

const POLICY_COMMANDS: Readonly<Record<string, PolicyCommand | undefined>> = {
  r: 'select',
  a: 'insert',
  w: 'update',
  d: 'delete',
  '*': undefined,
};

export function parsePolicy(row: PolicyRow): Policy {
  if (!(row.command in POLICY_COMMANDS)) throw new Error(`policy ${row.name}: unknown command ${row.command}`);
  const command = POLICY_COMMANDS[row.command];
  const publicOnly = row.roles.length === 1 && row.roles[0] === 'public';
  return {
    name: row.name,
    ...(row.permissive ? {} : { restrictive: true as const }),
    ...opt('command', command),
    ...(publicOnly ? {} : { roles: [...row.roles].sort() }),
    ...opt('using', row.using),
    ...opt('withCheck', row.with_check),
    ...opt('comment', row.comment),
  };
}

// ---------------------------------------------------------------- privileges (issue 12)

export function parseGrant(row: Pick<GrantRow, 'grantee' | 'privilege' | 'grantable'>): Grant {
  return { grantee: row.grantee, privilege: row.privilege, ...(row.grantable ? { grantable: true as const } : {}) };
}

/** The privileges of a function or type (aclGrantsJson), in the model's order. */
export function parseGrantList(rows: readonly GrantJson[]): Grant[] {
  return rows.map(parseGrant).sort(compareGrants);
}
