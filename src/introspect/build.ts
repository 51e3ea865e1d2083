/**
 * Assembles the parsed objects into the model tree: columns, constraints and indexes under their
 * relation, partitions under their parent (recursively), everything under its schema.
 */

import { InternalError, messageOf, ServerError } from '../errors.js';
import { sortedCasts } from '../model/casts.js';
import { compareGrants } from '../model/grants.js';
import { defaultNotNullName } from '../model/names.js';
import { COLUMN_OPTIONS } from '../model/objects.js';
import type {
  CheckConstraint,
  Column,
  CompositeType,
  DatabaseModel,
  Dependency,
  Dependents,
  Domain,
  EnumType,
  ExclusionConstraint,
  ForeignKey,
  Grant,
  Index,
  MaterializedView,
  Partition,
  PrimaryKey,
  RelationParts,
  SchemaModel,
  Sequence,
  Table,
  UniqueConstraint,
  View,
} from '../model/types.js';
import { TRANSITIONAL_COMMENT_PREFIX } from '../model/views.js';
import { type CastRow, parseCast } from './casts.js';
import { type CollationRow, parseCollation } from './collations.js';
import { type DefaultPrivilegeRow, parseDefaultPrivileges } from './default-privileges.js';
import { ownersOf } from './owners.js';
import {
  byName,
  compareText,
  type IndexKeys,
  parseBound,
  parseCheck,
  parseColumn,
  parseCompositeType,
  parseDependents,
  parseDomain,
  parseDomainCheck,
  parseEnum,
  parseExclusion,
  parseExtension,
  parseForeignKey,
  parseGrant,
  parseIndex,
  parseIndexKeys,
  parseMaterializedView,
  parsePartitionBy,
  parsePolicy,
  parsePrimaryKey,
  parseRelationProperties,
  parseSequence,
  parseUnique,
  parseView,
  parseViewColumn,
  type UnsupportedFeature,
} from './parse.js';
import type {
  ColumnRow,
  CompositeAttributeRow,
  ConstraintRow,
  DependencyRow,
  DependentRow,
  DomainCheckRow,
  ExtensionRow,
  GrantRow,
  IndexKeyRow,
  IndexRow,
  NotNullNameRow,
  PolicyRow,
  RelationRow,
  SchemaRow,
  SequenceRow,
  SettingsRow,
  TypeRow,
  UnmanagedCountRow,
  ViewColumnRow,
  ViewRow,
} from './queries.js';
import { type RoutineRow, routinesBySchema, type TriggerRow } from './routines.js';
import { parseTextSearchConfiguration, type TextSearchConfigurationRow } from './text-search.js';

/** Everything the queries returned, by kind. */
export interface CatalogRows {
  readonly settings: SettingsRow;
  readonly schemas: readonly SchemaRow[];
  readonly extensions: readonly ExtensionRow[];
  readonly types: readonly TypeRow[];
  readonly domainChecks: readonly DomainCheckRow[];
  readonly compositeAttributes: readonly CompositeAttributeRow[];
  /** Absent: none read (rows built by hand). */
  readonly textSearchConfigurations?: readonly TextSearchConfigurationRow[];
  /** Absent: none read (rows built by hand). */
  readonly collations?: readonly CollationRow[];
  /** Absent: none read (rows built by hand). */
  readonly casts?: readonly CastRow[];
  readonly policies: readonly PolicyRow[];
  readonly grants: readonly GrantRow[];
  readonly defaultPrivileges: readonly DefaultPrivilegeRow[];
  readonly sequences: readonly SequenceRow[];
  readonly relations: readonly RelationRow[];
  readonly columns: readonly ColumnRow[];
  readonly constraints: readonly ConstraintRow[];
  /** PostgreSQL 18 only; absent: none read (rows built by hand, or an earlier version). */
  readonly notNullNames?: readonly NotNullNameRow[];
  readonly indexes: readonly IndexRow[];
  readonly indexKeys: readonly IndexKeyRow[];
  readonly views: readonly ViewRow[];
  readonly viewColumns: readonly ViewColumnRow[];
  readonly dependencies: readonly DependencyRow[];
  readonly unmanaged: readonly UnmanagedCountRow[];
  readonly functions: readonly DependentRow[];
  readonly triggers: readonly DependentRow[];
  readonly routineDefinitions: readonly RoutineRow[];
  readonly triggerDefinitions: readonly TriggerRow[];
}

export interface BuildResult {
  readonly model: DatabaseModel;
  readonly unsupported: readonly UnsupportedFeature[];
}

/** A catalog query failed (permissions, a lost connection, …): what was being read, the cause kept. Exit 3. */
export class IntrospectionError extends ServerError {
  override readonly name = 'IntrospectionError';
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/**
 * Runs `fn`, prefixing any error with what was being read, the original kept as `cause`. What fails
 * here is zdm reading what the catalog returned, not the server: a bug to report, with the object.
 */
export function withContext<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InternalError(`introspecting ${what}: ${messageOf(err)}`, { cause: err });
  }
}

interface MutableParts {
  primaryKey?: PrimaryKey;
  uniqueConstraints: UniqueConstraint[];
  checks: CheckConstraint[];
  foreignKeys: ForeignKey[];
  exclusionConstraints: ExclusionConstraint[];
  indexes: Index[];
}

function emptyParts(): MutableParts {
  return { uniqueConstraints: [], checks: [], foreignKeys: [], exclusionConstraints: [], indexes: [] };
}

export interface BuildOptions {
  /**
   * The caller hands the rows over: each kind is let go (its arrays emptied) once its objects are
   * built, so that the rows of a large schema (50 MB at 10,000 tables) are not all held beside the
   * whole model. Default: the rows are left as they were given.
   */
  readonly release?: boolean;
}

type Owned = { -readonly [K in keyof CatalogRows]: CatalogRows[K] };

export function buildModel(rows: CatalogRows, options: BuildOptions = {}): BuildResult {
  const owned: Owned | undefined = options.release === true ? (rows as Owned) : undefined;
  const unsupported: UnsupportedFeature[] = [];
  const note = (object: string, feature: string): void => {
    unsupported.push({ object, feature });
  };

  const relByOid = new Map(rows.relations.map((r) => [r.oid, r]));
  const relName = (oid: string): string => {
    const r = relByOid.get(oid);
    return r ? `${r.schema}.${r.name}` : `relation ${oid}`;
  };

  // Indexes and their keys, by index oid.
  const keysByIndex = groupBy(rows.indexKeys, (k) => k.index_oid);
  const indexByOid = new Map(rows.indexes.map((i) => [i.oid, i]));
  const parsedKeys = new Map<string, IndexKeys>();
  for (const ix of rows.indexes) {
    const keys = withContext(`index ${ix.name} of ${relName(ix.table_oid)}`, () =>
      parseIndexKeys(ix, keysByIndex.get(ix.oid) ?? []),
    );
    for (const u of keys.unsupported) note(`${relName(ix.table_oid)}: index ${ix.name}`, u);
    parsedKeys.set(ix.oid, keys);
  }

  const parts = new Map<string, MutableParts>();
  const partsOf = (oid: string): MutableParts => {
    let p = parts.get(oid);
    if (!p) {
      p = emptyParts();
      parts.set(oid, p);
    }
    return p;
  };

  const attachedIndexNames: Record<string, string[]> = {};
  for (const ix of rows.indexes) {
    const schema = relByOid.get(ix.table_oid)?.schema;
    if (!ix.attached || schema === undefined) continue;
    attachedIndexNames[schema] = [...(attachedIndexNames[schema] ?? []), ix.name];
  }
  for (const names of Object.values(attachedIndexNames)) names.sort();

  for (const ix of rows.indexes) {
    // The model has no place for a comment or storage parameters on the index behind a constraint
    // (the constraint's own comment is kept): say so rather than drop them silently.
    if (ix.backs_constraint && ix.comment !== null) {
      note(`${relName(ix.table_oid)}: index ${ix.name}`, 'comment on the index of a constraint');
    }
    if (ix.backs_constraint && ix.options !== null && ix.options.length > 0) {
      note(
        `${relName(ix.table_oid)}: index ${ix.name}`,
        `storage parameters of the index of a constraint (${ix.options.join(', ')})`,
      );
    }
    // Constraint-backed indexes are the constraint; attached ones were declared on the parent.
    if (ix.backs_constraint || ix.attached) continue;
    const keys = parsedKeys.get(ix.oid)!;
    partsOf(ix.table_oid).indexes.push(parseIndex(ix, keys));
  }
  if (owned) {
    owned.indexKeys = [];
    keysByIndex.clear();
  }

  for (const con of rows.constraints) {
    const where = `constraint ${con.name} of ${relName(con.table_oid)}`;
    withContext(where, () => {
      const p = partsOf(con.table_oid);
      if (!con.enforced) note(`${relName(con.table_oid)}: ${con.name}`, 'NOT ENFORCED constraint');
      if (con.period) note(`${relName(con.table_oid)}: ${con.name}`, 'WITHOUT OVERLAPS / PERIOD');
      if (con.delete_set_columns > 0)
        note(`${relName(con.table_oid)}: ${con.name}`, 'ON DELETE SET NULL/DEFAULT (columns)');
      const index = indexByOid.get(con.index_oid);
      const keys = parsedKeys.get(con.index_oid);
      switch (con.type) {
        case 'p':
          p.primaryKey = parsePrimaryKey(con, keys);
          break;
        case 'u':
          p.uniqueConstraints.push(parseUnique(con, index, keys));
          break;
        case 'c':
          p.checks.push(parseCheck(con));
          break;
        case 'f':
          p.foreignKeys.push(parseForeignKey(con));
          break;
        case 'x':
          if (!index || !keys) throw new Error(`no index ${con.index_oid} behind the exclusion constraint`);
          p.exclusionConstraints.push(parseExclusion(con, index, keys));
          break;
        default:
          // Kinds the model has no place for (PostgreSQL may add more) are left out.
          break;
      }
    });
  }

  if (owned) {
    // What the constraints and indexes were read into is in `parts` now.
    owned.constraints = [];
    owned.indexes = [];
    indexByOid.clear();
    parsedKeys.clear();
  }

  const columnsByTable = groupBy(rows.columns, (c) => c.table_oid);
  if (owned) owned.columns = [];
  const notNullNamesByTable = groupBy(rows.notNullNames ?? [], (n) => n.table_oid);
  const partitionsByParent = groupBy(
    rows.relations.filter((r) => r.is_partition && r.parent_oid !== null),
    (r) => r.parent_oid!,
  );

  const relationParts = (rel: RelationRow): RelationParts => {
    const p = parts.get(rel.oid) ?? emptyParts();
    const partitionBy =
      rel.relkind === 'p' && rel.partition_key !== null
        ? withContext(`partition key of ${rel.schema}.${rel.name}`, () => parsePartitionBy(rel.partition_key!))
        : undefined;
    const partitions: Partition[] = [];
    for (const child of partitionsByParent.get(rel.oid) ?? []) {
      if (child.relkind === 'f') {
        note(`${child.schema}.${child.name}`, `foreign table partition of ${rel.schema}.${rel.name}`);
        continue;
      }
      partitions.push(buildPartition(child));
    }
    partitions.sort((a, b) => compareText(`${a.schema}.${a.name}`, `${b.schema}.${b.name}`));
    return {
      ...(p.primaryKey ? { primaryKey: p.primaryKey } : {}),
      uniqueConstraints: p.uniqueConstraints.sort(byName),
      checks: p.checks.sort(byName),
      foreignKeys: p.foreignKeys.sort(byName),
      exclusionConstraints: p.exclusionConstraints.sort(byName),
      indexes: p.indexes.sort(byName),
      ...(partitionBy ? { partitionBy } : {}),
      partitions,
      ...(rel.comment !== null ? { comment: rel.comment } : {}),
      ...parseRelationProperties(rel),
    };
  };

  const buildPartition = (rel: RelationRow): Partition => {
    // The model keeps UNLOGGED on tables only: say so rather than read the partition as logged silently.
    if (rel.unlogged) note(`${rel.schema}.${rel.name}`, 'UNLOGGED partition, read as a logged one');
    const bound = withContext(`partition bound of ${rel.schema}.${rel.name}`, () => {
      if (rel.partition_bound === null) throw new Error('partition without a bound');
      return parseBound(rel.partition_bound);
    });
    // Only the names that are not the parent's: a partition's own NOT NULL columns are not in the model.
    const notNullNames: Record<string, string> = {};
    for (const n of notNullNamesByTable.get(rel.oid) ?? []) {
      if (n.parent_name !== null && n.name !== n.parent_name) notNullNames[n.column] = n.name;
    }
    const names = Object.keys(notNullNames).sort(compareText);
    return {
      kind: 'partition',
      schema: rel.schema,
      name: rel.name,
      bound,
      ...relationParts(rel),
      ...(names.length > 0 ? { notNullNames: Object.fromEntries(names.map((c) => [c, notNullNames[c]!])) } : {}),
    };
  };

  const policiesByTable = groupBy(rows.policies, (p) => p.table_oid);
  // Privileges (issue 12): a live model lists them on every table, sequence and schema (none: []).
  const grantsByObject = groupBy(rows.grants, (g) => [g.on, g.schema, g.name ?? '', g.column ?? ''].join('\u0000'));
  // Most databases grant little: no key is built where nothing of the kind was granted (a key per
  // column was a sixth of building the model on musicbrainz).
  const grantedKinds = new Set(rows.grants.map((g) => g.on));
  const grantsOf = (on: GrantRow['on'], schema: string, name = '', column = ''): Grant[] =>
    grantedKinds.has(on)
      ? (grantsByObject.get([on, schema, name, column].join('\u0000')) ?? []).map(parseGrant).sort(compareGrants)
      : [];
  const buildTable = (rel: RelationRow): Table => {
    // A child of INHERITS lists its own columns; the inherited ones follow from its parents.
    const columnRows = (columnsByTable.get(rel.oid) ?? []).filter((c) => rel.inherits.length === 0 || c.local);
    if (owned) columnsByTable.delete(rel.oid);
    const notNullName = new Map((notNullNamesByTable.get(rel.oid) ?? []).map((n) => [n.column, n.name]));
    const withNotNullName = (c: Column): Column => {
      const name = c.nullable ? undefined : notNullName.get(c.name);
      return name === undefined || name === defaultNotNullName(rel.name, c.name) ? c : { ...c, notNullName: name };
    };
    const columns: Column[] = withContext(`columns of ${rel.schema}.${rel.name}`, () =>
      columnRows.map((row) => {
        const c = withKnownOptions(row, (unknown) =>
          note(`${rel.schema}.${rel.name}.${row.name}`, `attribute options PostgreSQL does not document (${unknown})`),
        );
        const g = grantsOf('column', rel.schema, rel.name, c.name);
        const column = withNotNullName(parseColumn(c));
        return g.length > 0 ? { ...column, grants: g } : column;
      }),
    );
    for (const c of columnRows) {
      if (c.identity_type !== null && c.identity_type !== c.type) {
        note(
          `${rel.schema}.${rel.name}.${c.name}`,
          `identity sequence of type ${c.identity_type} (read as one of the column's type, ${c.type})`,
        );
      }
    }
    const policies = (policiesByTable.get(rel.oid) ?? []).map(parsePolicy);
    return {
      kind: 'table',
      schema: rel.schema,
      name: rel.name,
      unlogged: rel.unlogged,
      columns,
      ...(rel.inherits.length > 0 ? { inherits: rel.inherits } : {}),
      ...relationParts(rel),
      ...(policies.length > 0 ? { policies } : {}),
      grants: grantsOf('relation', rel.schema, rel.name),
    };
  };

  // Schemas and what they hold.
  interface SchemaContent {
    enums: EnumType[];
    domains: Domain[];
    compositeTypes: CompositeType[];
    sequences: Sequence[];
    tables: Table[];
    views: View[];
    materializedViews: MaterializedView[];
  }
  const schemaContent = new Map<string, SchemaContent>();
  for (const s of rows.schemas) {
    schemaContent.set(s.name, {
      enums: [],
      domains: [],
      compositeTypes: [],
      sequences: [],
      tables: [],
      views: [],
      materializedViews: [],
    });
  }
  const contentOf = (schema: string): SchemaContent | undefined => schemaContent.get(schema);

  const checksByDomain = groupBy(rows.domainChecks, (c) => c.type_oid);
  const attributesByType = groupBy(rows.compositeAttributes, (a) => a.type_oid);
  for (const t of rows.types) {
    const content = contentOf(t.schema);
    if (!content) continue;
    switch (t.type_type) {
      case 'e':
        content.enums.push(parseEnum(t));
        break;
      case 'd':
        content.domains.push(
          withContext(`domain ${t.schema}.${t.name}`, () =>
            parseDomain(t, (checksByDomain.get(t.oid) ?? []).map(parseDomainCheck)),
          ),
        );
        break;
      case 'c':
        content.compositeTypes.push(parseCompositeType(t, attributesByType.get(t.oid) ?? []));
        break;
      case 'r':
        note(`${t.schema}.${t.name}`, 'range type');
        break;
      default:
        note(`${t.schema}.${t.name}`, 'base type');
        break;
    }
  }
  for (const s of rows.sequences) {
    contentOf(s.schema)?.sequences.push({ ...parseSequence(s), grants: grantsOf('relation', s.schema, s.name) });
  }
  for (const rel of rows.relations) {
    if (rel.is_partition) continue;
    const content = contentOf(rel.schema);
    if (!content) continue;
    if (rel.relkind === 'f') {
      note(`${rel.schema}.${rel.name}`, 'foreign table');
      continue;
    }
    if (rel.of_type !== null)
      note(`${rel.schema}.${rel.name}`, `typed table (OF ${rel.of_type}), read as a plain table`);
    content.tables.push(buildTable(rel));
  }

  const columnsByView = groupBy(rows.viewColumns, (c) => c.view_oid);
  for (const v of rows.views) {
    const content = contentOf(v.schema);
    if (!content) continue;
    // zdm's own, for the time of a plan (see TRANSITIONAL_COMMENT_PREFIX).
    if (v.kind === 'v' && v.comment?.startsWith(TRANSITIONAL_COMMENT_PREFIX)) continue;
    const columns = (columnsByView.get(v.oid) ?? []).map(parseViewColumn);
    if (v.kind === 'm') {
      const indexes = [...(parts.get(v.oid)?.indexes ?? [])].sort(byName);
      content.materializedViews.push(parseMaterializedView(v, columns, indexes));
    } else {
      content.views.push(parseView(v, columns));
    }
  }

  const routines = routinesBySchema(rows.routineDefinitions, rows.triggerDefinitions);
  const textSearch = groupBy(rows.textSearchConfigurations ?? [], (c) => c.schema);
  const collations = groupBy(rows.collations ?? [], (c) => c.schema);
  const schemas: SchemaModel[] = rows.schemas
    .map((s) => {
      const c = schemaContent.get(s.name)!;
      const r = routines.get(s.name);
      return {
        kind: 'schema' as const,
        name: s.name,
        enums: c.enums.sort(byName),
        domains: c.domains.sort(byName),
        compositeTypes: c.compositeTypes.sort(byName),
        sequences: c.sequences.sort(byName),
        tables: c.tables.sort(byName),
        views: c.views.sort(byName),
        materializedViews: c.materializedViews.sort(byName),
        functions: r?.functions ?? [],
        triggers: r?.triggers ?? [],
        ...(textSearch.has(s.name)
          ? { textSearchConfigurations: textSearch.get(s.name)!.map(parseTextSearchConfiguration) }
          : {}),
        ...(collations.has(s.name) ? { collations: collations.get(s.name)!.map(parseCollation) } : {}),
        ...(s.comment !== null ? { comment: s.comment } : {}),
        grants: grantsOf('schema', s.name),
      };
    })
    .sort(byName);

  const dependents: Dependents = {
    functions: parseDependents(rows.functions, () => 'function'),
    triggers: parseDependents(rows.triggers, () => 'trigger'),
  };

  unsupported.sort((a, b) => compareText(a.object, b.object) || compareText(a.feature, b.feature));
  const version = rows.settings.server_version.split(' ')[0] ?? rows.settings.server_version;
  const casts = sortedCasts((rows.casts ?? []).map(parseCast));
  const owners = ownersOf(rows);
  return {
    model: {
      kind: 'database',
      extensions: rows.extensions.map(parseExtension).sort(byName),
      schemas,
      dependents,
      dependencies: rows.dependencies.map(
        (r): Dependency => ({
          from: r.from_key,
          to: r.to_key,
          ...(r.to_column !== null ? { column: r.to_column } : {}),
        }),
      ),
      defaultPrivileges: parseDefaultPrivileges(rows.defaultPrivileges),
      ...(casts !== undefined ? { casts } : {}),
      ...(Object.keys(owners).length > 0 ? { liveOwners: owners } : {}),
      unmanaged: Object.fromEntries(rows.unmanaged.map((r) => [r.kind, Number(r.count)])),
      ...(Object.keys(attachedIndexNames).length > 0 ? { attachedIndexNames } : {}),
      server: { version: `PostgreSQL ${version}`, versionNum: Number(rows.settings.server_version_num) },
    },
    unsupported,
  };
}

/**
 * The column with only the attribute options the model holds (COLUMN_OPTIONS). Some servers keep
 * others of their own in pg_attribute.attoptions (`pg_attver=…` was seen on a Debian build of 15):
 * they cannot be set with ALTER COLUMN … SET, so they are named by pull instead of written.
 */
function withKnownOptions(row: ColumnRow, onUnknown: (unknown: string) => void): ColumnRow {
  if (row.options === null) return row;
  const known = row.options.filter((o) =>
    COLUMN_OPTIONS.has(o.slice(0, o.indexOf('=') < 0 ? o.length : o.indexOf('='))),
  );
  if (known.length === row.options.length) return row;
  onUnknown(row.options.filter((o) => !known.includes(o)).join(', '));
  return { ...row, options: known.length > 0 ? known : null };
}
