/**
 * Statements about the session and its transaction rather than an object: settings (`SET`,
 * `set_config`) and explicit table locks.
 */
import type { LockMode } from '../plan/types.js';
import { identList, quoteIdent, quoteLiteral, type RelationName, rel } from './quote.js';

const assignments = (scope: string, settings: Readonly<Record<string, string>>): string =>
  Object.entries(settings)
    .map(([name, value]) => `SET ${scope}${quoteIdent(name)} = ${quoteLiteral(value)}`)
    .join('; ');

/** `SET LOCAL a = '…'; SET LOCAL b = '…'`: ends with the transaction, whatever happens to it. One round trip. */
export function setLocalSql(settings: Readonly<Record<string, string>>): string {
  return assignments('LOCAL ', settings);
}

/** `SET a = '…'`: for the rest of the session (statements that refuse to run in a transaction block). */
export function setSessionSql(settings: Readonly<Record<string, string>>): string {
  return assignments('', settings);
}

export function resetSql(name: string): string {
  return `RESET ${quoteIdent(name)}`;
}

/**
 * `SELECT pg_catalog.set_config('a', $1, false), …`: session settings whose values are the query's
 * parameters, in the order of `names` (works outside a transaction block too).
 */
export function setConfigSql(names: readonly string[]): string {
  return `SELECT ${names.map((n, i) => `pg_catalog.set_config(${quoteLiteral(n)}, $${i + 1}, false)`).join(', ')}`;
}

/** `SET LOCAL search_path = a, b`; none: an empty search_path (every name printed schema-qualified). */
export function searchPathSql(schemas: readonly string[]): string {
  return `SET LOCAL search_path = ${schemas.length > 0 ? identList(schemas) : "''"}`;
}

/** `LOCK TABLE a, b IN <mode> MODE`, each table once, in the order given (the order locks are taken in). */
export function lockTablesSql(tables: readonly RelationName[], mode: LockMode): string {
  return `LOCK TABLE ${[...new Set(tables.map(rel))].join(', ')} IN ${mode} MODE`;
}

/**
 * The largest replay lag of the standbys streaming from this server, in ms (`lag_ms`; NULL with no
 * standby, with none behind, or without the right to read it: pg_read_all_stats).
 */
export const REPLICA_LAG_SQL =
  "SELECT (pg_catalog.max(pg_catalog.date_part('epoch', replay_lag)) * 1000)::float8 AS lag_ms FROM pg_catalog.pg_stat_replication";

/**
 * How many sessions wait for a lock this session holds (`n`): who a batch's row locks hold up. Only
 * sessions waiting on a lock are asked who blocks them: each pg_blocking_pids call takes the lock
 * manager's shared state exclusively for a moment, which on a server with hundreds of sessions, once
 * per batch, is a cost to every one of them.
 */
export const WAITING_ON_ME_SQL =
  "SELECT pg_catalog.count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE CASE WHEN wait_event_type = 'Lock' THEN pg_catalog.pg_backend_pid() = ANY (pg_catalog.pg_blocking_pids(pid)) ELSE false END";

/**
 * Where the server is in its WAL stream, in bytes since 0/0 (`bytes`, as text: it passes 2^53 only
 * after 8 PB of WAL). The difference of two readings is the WAL written between them. The insert
 * position, not pg_current_wal_lsn() (what has been written out of the WAL buffers so far, which
 * lags behind with synchronous_commit off and moves in jumps).
 */
export const WAL_POSITION_SQL =
  "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_insert_lsn(), '0/0')::text AS bytes";

/**
 * `VACUUM (TRUNCATE false) t`: not FULL, so it takes SHARE UPDATE EXCLUSIVE, which no query and no
 * INSERT, UPDATE or DELETE waits for; without the truncation of empty pages at the end of the table,
 * which would take ACCESS EXCLUSIVE for a moment (and on standbys, replayed).
 */
export function vacuumSql(table: RelationName): string {
  return `VACUUM (TRUNCATE false) ${rel(table)}`;
}

/** The size of a table's main fork in bytes (`bytes`, as text), its indexes and TOAST left out. */
export function heapBytesSql(table: RelationName): string {
  return `SELECT pg_catalog.pg_relation_size(${quoteLiteral(rel(table))}::pg_catalog.regclass)::text AS bytes`;
}
