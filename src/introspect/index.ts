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
import type { DatabaseModel } from '../model/types.js';
import { buildModel, type CatalogRows, IntrospectionError } from './build.js';
import { CASTS_SQL } from './casts.js';
import { COLLATIONS_SQL } from './collations.js';
import { DEFAULT_PRIVILEGES_SQL } from './default-privileges.js';
import type { UnsupportedFeature } from './parse.js';
import {
  COLUMNS_SQL,
  COMPOSITE_ATTRIBUTES_SQL,
  constraintsSql,
  DEPENDENCIES_SQL,
  DOMAIN_CHECKS_SQL,
  EXTENSIONS_SQL,
  FUNCTIONS_SQL,
  GRANTS_SQL,
  INDEX_KEYS_SQL,
  indexesSql,
  NOT_NULL_NAMES_SQL,
  OUTSIDE_TRANSACTION_SQL,
  type OutsideTransactionRow,
  POLICIES_SQL,
  RELATIONS_SQL,
  SCHEMAS_SQL,
  SEQUENCES_SQL,
  SETTINGS_SQL,
  type SettingsRow,
  TRIGGERS_SQL,
  TYPES_SQL,
  UNMANAGED_COUNTS_SQL,
  VIEW_COLUMNS_SQL,
  VIEWS_SQL,
} from './queries.js';
import { ROUTINES_SQL, TRIGGER_DEFINITIONS_SQL } from './routines.js';
import { TEXT_SEARCH_CONFIGURATIONS_SQL } from './text-search.js';

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
   * A second connection to the same database, idle: the catalog queries are split between the two
   * and run at once, in one snapshot (pg_export_snapshot), which about halves the time the server
   * takes where it has a core to spare. Ignored with `inTransaction`, or where the server will not
   * export the snapshot.
   */
  readonly helper?: Queryable;
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

async function read<R extends object>(
  client: Queryable,
  what: string,
  sql: string,
  values?: readonly unknown[],
): Promise<R[]> {
  try {
    const result = values
      ? await client.query<R & Record<string, unknown>>(sql, values)
      : await client.query<R & Record<string, unknown>>(sql);
    return result.rows;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new IntrospectionError(`introspecting ${what}: ${msg}`, { cause: err });
  }
}

/** The catalog queries are written for PostgreSQL 14 and later (columns 13 does not have). */
export function checkServerVersion(versionNum: number, version: string): void {
  if (!(versionNum >= 140000)) {
    throw new UnsupportedServerError(`PostgreSQL ${version} is not supported: zdm needs PostgreSQL 14 or later`);
  }
}

/** One catalog query: the rows it fills, what it reads (for errors), its SQL. */
interface CatalogRead {
  /** 0: on the caller's connection; 1: on the helper's, when there is one. */
  readonly lane: 0 | 1;
  readonly key: Exclude<keyof CatalogRows, 'settings'>;
  readonly what: string;
  readonly sql: string;
  /** Takes the `schemas` parameter. */
  readonly schemas: boolean;
}

/**
 * The catalog queries, each in one of two lanes of about the same server time (measured at 10,000
 * tables: each lane ~2.4 s of backend CPU). On one connection they run one after the other in this
 * order; given a second one (IntrospectOptions.helper), the two lanes run at once.
 */
function catalogReads(versionNum: number): readonly CatalogRead[] {
  const r = (lane: 0 | 1, key: CatalogRead['key'], what: string, sql: string, schemas = true): CatalogRead => ({
    lane,
    key,
    what,
    sql,
    schemas,
  });
  return [
    r(0, 'schemas', 'schemas', SCHEMAS_SQL),
    r(0, 'extensions', 'extensions', EXTENSIONS_SQL, false),
    r(0, 'types', 'types', TYPES_SQL),
    r(0, 'domainChecks', 'domain checks', DOMAIN_CHECKS_SQL),
    r(0, 'compositeAttributes', 'composite type attributes', COMPOSITE_ATTRIBUTES_SQL),
    r(1, 'sequences', 'sequences', SEQUENCES_SQL),
    r(0, 'relations', 'tables', RELATIONS_SQL),
    r(0, 'columns', 'columns', COLUMNS_SQL),
    r(0, 'constraints', 'constraints', constraintsSql(versionNum)),
    ...(versionNum >= 180000 ? [r(1, 'notNullNames', 'NOT NULL constraint names', NOT_NULL_NAMES_SQL)] : []),
    r(1, 'indexes', 'indexes', indexesSql(versionNum)),
    r(0, 'indexKeys', 'index keys', INDEX_KEYS_SQL),
    r(0, 'policies', 'policies', POLICIES_SQL),
    r(0, 'grants', 'privileges', GRANTS_SQL),
    r(0, 'defaultPrivileges', 'default privileges', DEFAULT_PRIVILEGES_SQL),
    r(0, 'views', 'views', VIEWS_SQL),
    r(0, 'viewColumns', 'view columns', VIEW_COLUMNS_SQL),
    r(1, 'dependencies', 'dependencies', DEPENDENCIES_SQL, false),
    r(1, 'unmanaged', 'objects zdm does not manage', UNMANAGED_COUNTS_SQL, false),
    r(1, 'functions', 'functions', FUNCTIONS_SQL),
    r(1, 'triggers', 'triggers', TRIGGERS_SQL),
    r(1, 'routineDefinitions', 'function definitions', ROUTINES_SQL),
    r(0, 'triggerDefinitions', 'trigger definitions', TRIGGER_DEFINITIONS_SQL),
    r(0, 'textSearchConfigurations', 'text search configurations', TEXT_SEARCH_CONFIGURATIONS_SQL),
    r(0, 'collations', 'collations', COLLATIONS_SQL),
    r(0, 'casts', 'casts', CASTS_SQL),
  ];
}

async function readCatalog(
  client: Queryable,
  helper: Queryable | undefined,
  options: IntrospectOptions,
): Promise<CatalogRows> {
  const [settings] = await read<SettingsRow>(client, 'server version', SETTINGS_SQL);
  if (!settings) throw new IntrospectionError('introspecting server version: no row');
  const versionNum = Number(settings.server_version_num);
  checkServerVersion(versionNum, settings.server_version);
  const p = [options.schemas ? [...options.schemas] : null];
  const rows: Record<string, unknown> = { settings, notNullNames: [] };
  const lane = async (on: Queryable, reads: readonly CatalogRead[]): Promise<void> => {
    // One connection runs one query at a time: a lane's queries go one after the other.
    for (const q of reads) rows[q.key] = await read(on, q.what, q.sql, q.schemas ? p : undefined);
  };
  const reads = catalogReads(versionNum);
  if (helper) {
    // Both lanes run to the end (an error on one must not leave the other's query running while
    // the caller rolls back), then the first error is thrown.
    const results = await Promise.allSettled([
      lane(
        client,
        reads.filter((q) => q.lane === 0),
      ),
      lane(
        helper,
        reads.filter((q) => q.lane === 1),
      ),
    ]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } else {
    await lane(client, reads);
  }
  return rows as unknown as CatalogRows;
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
    const [state] = await read<OutsideTransactionRow>(client, 'session state', OUTSIDE_TRANSACTION_SQL);
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
  const helper = !nested && options.helper ? await joinSnapshot(client, options.helper) : undefined;
  let rows: CatalogRows;
  try {
    rows = await readCatalog(client, helper, options);
  } catch (err) {
    await client.query(undo).catch(() => {});
    await helper?.query('ROLLBACK').catch(() => {});
    throw err;
  }
  // Only reads happened: rolling back changes nothing but the SET LOCALs.
  await client.query(nested ? undo : 'COMMIT');
  await helper?.query('ROLLBACK');
  return buildModel(rows);
}

/**
 * Opens on `helper` a transaction that sees the snapshot of `client`'s (pg_export_snapshot), with
 * the same settings; undefined when the server will not share it (the helper is then not used, and
 * everything is read on `client`).
 */
async function joinSnapshot(client: Queryable, helper: Queryable): Promise<Queryable | undefined> {
  try {
    const { rows } = await client.query<{ snapshot: string }>('SELECT pg_catalog.pg_export_snapshot() AS snapshot');
    const id = rows[0]?.snapshot;
    if (id === undefined || !/^[0-9A-Fa-f-]+$/.test(id)) return undefined;
    await helper.query(
      ['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', `SET TRANSACTION SNAPSHOT '${id}'`, ...SETTINGS].join(';\n'),
    );
    return helper;
  } catch {
    await helper.query('ROLLBACK').catch(() => {});
    return undefined;
  }
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
