/**
 * Reads a live PostgreSQL (14–18) database into the schema model.
 *
 *   const model = await introspect(client);                         // every user schema
 *   const model = await introspect(client, { schemas: ['public'] });
 *   const { model, unsupported } = await introspectDetailed(client); // plus what the model cannot hold
 *
 * All queries run in one `REPEATABLE READ READ ONLY` transaction (one snapshot) with settings made
 * `SET LOCAL`, so the caller's session is left as it was. Call it outside a transaction (it refuses
 * otherwise), or pass `inTransaction: true` to read inside the caller's open one.
 */

import type { Queryable } from '../db/connection.js';
import { InternalError, UnsupportedServerError } from '../errors.js';
import { StringPool } from '../model/strings.js';
import type { DatabaseModel } from '../model/types.js';
import { buildModel, type CatalogRows, IntrospectionError } from './build.js';
import { CASTS_SQL, type CastRow } from './casts.js';
import { COLLATIONS_SQL, type CollationRow } from './collations.js';
import { DEFAULT_PRIVILEGES_SQL, type DefaultPrivilegeRow } from './default-privileges.js';
import type { UnsupportedFeature } from './parse.js';
import {
  COLUMNS_SQL,
  COMPOSITE_ATTRIBUTES_SQL,
  type ColumnRow,
  type CompositeAttributeRow,
  type ConstraintRow,
  constraintsSql,
  DEPENDENCIES_SQL,
  type DependencyRow,
  type DependentRow,
  DOMAIN_CHECKS_SQL,
  type DomainCheckRow,
  EXTENSIONS_SQL,
  type ExtensionRow,
  FUNCTIONS_SQL,
  GRANTS_SQL,
  type GrantRow,
  INDEX_KEYS_SQL,
  type IndexKeyRow,
  type IndexRow,
  indexesSql,
  NOT_NULL_NAMES_SQL,
  type NotNullNameRow,
  OUTSIDE_TRANSACTION_SQL,
  type OutsideTransactionRow,
  POLICIES_SQL,
  type PolicyRow,
  RELATIONS_SQL,
  type RelationRow,
  SCHEMAS_SQL,
  type SchemaRow,
  SEQUENCES_SQL,
  SETTINGS_SQL,
  type SequenceRow,
  type SettingsRow,
  TRIGGERS_SQL,
  TYPES_SQL,
  type TypeRow,
  UNMANAGED_COUNTS_SQL,
  type UnmanagedCountRow,
  VIEW_COLUMNS_SQL,
  VIEWS_SQL,
  type ViewColumnRow,
  type ViewRow,
} from './queries.js';
import { ROUTINES_SQL, type RoutineRow, TRIGGER_DEFINITIONS_SQL, type TriggerRow } from './routines.js';
import { TEXT_SEARCH_CONFIGURATIONS_SQL, type TextSearchConfigurationRow } from './text-search.js';

export { IntrospectionError } from './build.js';
export type { UnsupportedFeature } from './parse.js';

export interface IntrospectOptions {
  /** Read only these schemas (zdm's own `zdm` schema is never read). Default: every user schema. */
  readonly schemas?: readonly string[];
  /**
   * The caller has a transaction open (e.g. to read back objects it created and will roll back):
   * read inside it, under a savepoint that is rolled back afterwards so the settings below do not
   * leak into the caller's transaction. Without it, introspection opens and commits its own.
   */
  readonly inTransaction?: boolean;
  /**
   * `false`: leave out the reads of the whole database that do not depend on `schemas`, the
   * dependency graph and the counts of objects zdm does not manage (the model's `dependencies` and
   * `unmanaged` come back empty), for a caller that wants only the objects of `schemas`
   * (normalization reading back its scratch schema: at 10,000 tables the graph took seconds).
   */
  readonly databaseWide?: false;
}

export interface IntrospectionResult {
  readonly model: DatabaseModel;
  /** What was read but has no place in the model (inheritance, composite types, …), sorted. */
  readonly unsupported: readonly UnsupportedFeature[];
}

/**
 * Session settings for the snapshot. An empty search_path makes `format_type`, `pg_get_expr` and
 * `pg_get_indexdef` qualify every name outside pg_catalog, whatever the role or database sets; the
 * others pin how literals in defaults and partition bounds are printed. JIT is off: the planner
 * prices the catalog queries with their many per-row subqueries high enough to compile them, which
 * took 1.8 s of a 47 ms query (the dependency graph of musicbrainz, PostgreSQL 15 with LLVM).
 */
const SETTINGS = [
  `SET LOCAL search_path = ''`,
  'SET LOCAL jit = off',
  `SET LOCAL TimeZone = 'UTC'`,
  `SET LOCAL DateStyle = 'ISO, YMD'`,
  `SET LOCAL IntervalStyle = 'postgres'`,
  'SET LOCAL extra_float_digits = 3',
  'SET LOCAL standard_conforming_strings = on',
];
const OWN_TRANSACTION = ['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', ...SETTINGS].join(';\n');
const SAVEPOINT = 'zdm_introspect';
const IN_CALLER_TRANSACTION = [`SAVEPOINT ${SAVEPOINT}`, ...SETTINGS].join(';\n');

async function readRows<R extends object>(
  client: Queryable,
  what: string,
  sql: string,
  values?: readonly unknown[],
  strings?: StringPool,
): Promise<R[]> {
  try {
    const result = values
      ? await client.query<R & Record<string, unknown>>(sql, values)
      : await client.query<R & Record<string, unknown>>(sql);
    if (strings !== undefined) for (const row of result.rows) pooled(row, strings);
    return result.rows;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new IntrospectionError(`introspecting ${what}: ${msg}`, { cause: err });
  }
}

/**
 * The row's text values (and those of its arrays) replaced by the pool's copies: the rows of one
 * introspection repeat the same names, types and expressions on every table, and the model built
 * from them keeps what they hold.
 */
function pooled(row: Record<string, unknown>, strings: StringPool): void {
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'string') row[k] = strings.get(v);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        if (typeof e === 'string') v[i] = strings.get(e);
      }
    }
  }
}

/** The catalog queries are written for PostgreSQL 14 and later (columns 13 does not have). */
export function checkServerVersion(versionNum: number, version: string): void {
  if (!(versionNum >= 140000)) {
    throw new UnsupportedServerError(`PostgreSQL ${version} is not supported: zdm needs PostgreSQL 14 or later`);
  }
}

async function readCatalog(client: Queryable, options: IntrospectOptions): Promise<CatalogRows> {
  const strings = new StringPool();
  const read = <R extends object>(c: Queryable, what: string, sql: string, values?: readonly unknown[]) =>
    readRows<R>(c, what, sql, values, strings);
  const [settings] = await read<SettingsRow>(client, 'server version', SETTINGS_SQL);
  if (!settings) throw new IntrospectionError('introspecting server version: no row');
  const versionNum = Number(settings.server_version_num);
  checkServerVersion(versionNum, settings.server_version);
  const p = [options.schemas ? [...options.schemas] : null];
  // Sequential on purpose: one connection runs one query at a time anyway.
  const schemas = await read<SchemaRow>(client, 'schemas', SCHEMAS_SQL, p);
  const extensions = await read<ExtensionRow>(client, 'extensions', EXTENSIONS_SQL);
  const types = await read<TypeRow>(client, 'types', TYPES_SQL, p);
  const domainChecks = await read<DomainCheckRow>(client, 'domain checks', DOMAIN_CHECKS_SQL, p);
  const compositeAttributes = await read<CompositeAttributeRow>(
    client,
    'composite type attributes',
    COMPOSITE_ATTRIBUTES_SQL,
    p,
  );
  const sequences = await read<SequenceRow>(client, 'sequences', SEQUENCES_SQL, p);
  const relations = await read<RelationRow>(client, 'tables', RELATIONS_SQL, p);
  const columns = await read<ColumnRow>(client, 'columns', COLUMNS_SQL, p);
  const constraints = await read<ConstraintRow>(client, 'constraints', constraintsSql(versionNum), p);
  const notNullNames =
    versionNum >= 180000 ? await read<NotNullNameRow>(client, 'NOT NULL constraint names', NOT_NULL_NAMES_SQL, p) : [];
  const indexes = await read<IndexRow>(client, 'indexes', indexesSql(versionNum), p);
  const indexKeys = await read<IndexKeyRow>(client, 'index keys', INDEX_KEYS_SQL, p);
  const policies = await read<PolicyRow>(client, 'policies', POLICIES_SQL, p);
  const grants = await read<GrantRow>(client, 'privileges', GRANTS_SQL, p);
  const defaultPrivileges = await read<DefaultPrivilegeRow>(client, 'default privileges', DEFAULT_PRIVILEGES_SQL, p);
  const views = await read<ViewRow>(client, 'views', VIEWS_SQL, p);
  const viewColumns = await read<ViewColumnRow>(client, 'view columns', VIEW_COLUMNS_SQL, p);
  const wide = options.databaseWide !== false;
  const dependencies = wide ? await read<DependencyRow>(client, 'dependencies', DEPENDENCIES_SQL) : [];
  const unmanaged = wide
    ? await read<UnmanagedCountRow>(client, 'objects zdm does not manage', UNMANAGED_COUNTS_SQL)
    : [];
  const functions = await read<DependentRow>(client, 'functions', FUNCTIONS_SQL, p);
  const triggers = await read<DependentRow>(client, 'triggers', TRIGGERS_SQL, p);
  const routineDefinitions = await read<RoutineRow>(client, 'function definitions', ROUTINES_SQL, p);
  const triggerDefinitions = await read<TriggerRow>(client, 'trigger definitions', TRIGGER_DEFINITIONS_SQL, p);
  const textSearchConfigurations = await read<TextSearchConfigurationRow>(
    client,
    'text search configurations',
    TEXT_SEARCH_CONFIGURATIONS_SQL,
    p,
  );
  const collations = await read<CollationRow>(client, 'collations', COLLATIONS_SQL, p);
  const casts = await read<CastRow>(client, 'casts', CASTS_SQL, p);
  return {
    casts,
    textSearchConfigurations,
    collations,
    settings,
    schemas,
    extensions,
    types,
    domainChecks,
    compositeAttributes,
    policies,
    grants,
    defaultPrivileges,
    sequences,
    relations,
    columns,
    constraints,
    notNullNames,
    indexes,
    indexKeys,
    views,
    viewColumns,
    dependencies,
    unmanaged,
    functions,
    triggers,
    routineDefinitions,
    triggerDefinitions,
  };
}

/** The model of the connected database plus the features it holds that the model cannot express. */
export async function introspectDetailed(
  client: Queryable,
  options: IntrospectOptions = {},
): Promise<IntrospectionResult> {
  const nested = options.inTransaction === true;
  const undo = nested ? `ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}` : 'ROLLBACK';
  if (!nested) {
    // Inside an open transaction our BEGIN would only warn (or fail, and abort it), and our COMMIT
    // would end the caller's transaction: refuse before touching it.
    const [state] = await readRows<OutsideTransactionRow>(client, 'session state', OUTSIDE_TRANSACTION_SQL);
    if (state?.outside !== true) {
      throw new InternalError(
        'introspecting: called inside an open transaction; pass { inTransaction: true } to read inside it',
      );
    }
  }
  try {
    await client.query(nested ? IN_CALLER_TRANSACTION : OWN_TRANSACTION);
  } catch (err) {
    await client.query(undo).catch(() => {});
    const msg = err instanceof Error ? err.message : String(err);
    throw new IntrospectionError(`introspecting: cannot open a read-only snapshot: ${msg}`, { cause: err });
  }
  let rows: CatalogRows;
  try {
    rows = await readCatalog(client, options);
  } catch (err) {
    await client.query(undo).catch(() => {});
    throw err;
  }
  // Only reads happened: rolling back changes nothing but the SET LOCALs.
  await client.query(nested ? undo : 'COMMIT');
  // The rows are this function's: built kind by kind, each let go once built.
  return buildModel(rows, { release: true });
}

/**
 * Reads the connected database into the model: every schema except PostgreSQL's own and `zdm`, with
 * enums, domains, sequences, tables (partitions under their parent), views and materialized views;
 * as never-compared facts, the dependency graph and the functions and triggers zdm does not manage
 * (`dependents`). Objects that belong to an extension are left out.
 * The same database gives a deep-equal model every time.
 */
export async function introspect(client: Queryable, options: IntrospectOptions = {}): Promise<DatabaseModel> {
  return (await introspectDetailed(client, options)).model;
}
