/**
 * Who holds what: the advisory lock that keeps applies from overlapping, and the readers of pg_locks
 * that name the session a step waited for.
 */
import type { Queryable } from '../db/connection.js';
import { CONFLICTS, PG_LOCK_NAME } from '../plan/locks.js';
import type { LockInfo } from '../plan/types.js';
import { ApplyError, type LockHolder } from './errors.js';
import { oneLine } from './timing.js';

/**
 * The advisory lock key, in the two-int4 form so pg_locks shows it as (classid, objid, objsubid = 2):
 * 0x7a646d is "zdm" in ASCII, 1 is "apply". Advisory locks are per database.
 */
export const ADVISORY_KEY = [0x7a646d, 1] as const;

/**
 * Held (session level) by a partition swap's copy while it waits for the transactions older than its
 * last batch to end (src/apply/copy.ts): a wait pg_locks cannot show otherwise (it polls), announced
 * so that a lock watcher holding a snapshot (observe-locks.ts) lets it go, as for any lock wait.
 */
export const WAITING_FOR_OLDER_KEY = [0x7a646d, 2] as const;

interface HolderRow {
  pid: number;
  mode: string;
  relation: string | null;
  state: string | null;
  since: Date | null;
  application_name: string | null;
  query: string | null;
  transaction_ms?: number | null;
  backend_type?: string | null;
}

/** A lock holder as the lock-queue guard sees it (src/apply/guard.ts): how long it has been at it, and what it is. */
export interface Blocker extends LockHolder {
  /** Milliseconds since its transaction (else its statement, else its session) started, when zdm looked. */
  readonly transactionMs?: number;
  /** pg_stat_activity.backend_type: `client backend`, `autovacuum worker`, … */
  readonly backendType?: string;
}

export const toHolder = (r: HolderRow): Blocker => ({
  pid: r.pid,
  mode: r.mode,
  ...(r.relation ? { relation: r.relation } : {}),
  ...(r.state ? { state: r.state } : {}),
  ...(r.since ? { since: r.since.toISOString() } : {}),
  ...(r.application_name ? { applicationName: r.application_name } : {}),
  ...(r.query ? { query: oneLine(r.query, 120) } : {}),
  ...(typeof r.transaction_ms === 'number' ? { transactionMs: Math.round(r.transaction_ms) } : {}),
  ...(r.backend_type ? { backendType: r.backend_type } : {}),
});

/**
 * pg_stat_activity columns of a holder (alias `a`), in the row shape `toHolder` reads. `since` and
 * `transaction_ms` count from the start of its transaction: a lock is held until the transaction ends.
 */
export const ACTIVITY_COLUMNS = `a.state, COALESCE(a.xact_start, a.backend_start) AS since, a.application_name, a.query,
            a.backend_type,
            (EXTRACT(EPOCH FROM pg_catalog.clock_timestamp() - COALESCE(a.xact_start, a.query_start, a.backend_start))
              * 1000)::float8 AS transaction_ms`;

/** The session holding the zdm advisory lock on this database, if any other than ours. */
export async function advisoryHolder(c: Queryable): Promise<LockHolder | null> {
  const r = await c.query<HolderRow>(
    `SELECT l.pid, l.mode, NULL AS relation, a.state, a.backend_start AS since, a.application_name, a.query
       FROM pg_catalog.pg_locks l
       LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
        AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
        AND l.pid <> pg_catalog.pg_backend_pid()`,
    [ADVISORY_KEY[0], ADVISORY_KEY[1]],
  );
  const row = r.rows[0];
  return row ? toHolder(row) : null;
}

/** Takes the apply lock or fails at once with `locked`, naming the holder. */
export async function acquireApplyLock(c: Queryable): Promise<void> {
  const r = await c.query<{ ok: boolean }>(`SELECT pg_catalog.pg_try_advisory_lock($1, $2) AS ok`, [
    ADVISORY_KEY[0],
    ADVISORY_KEY[1],
  ]);
  if (r.rows[0]?.ok) return;
  const holder = await advisoryHolder(c);
  const who = holder
    ? `pid ${holder.pid}${holder.since ? ` since ${holder.since}` : ''}${
        holder.applicationName ? `, ${holder.applicationName}` : ''
      }`
    : 'holder not visible to this user';
  throw new ApplyError(
    'locked',
    `another zdm apply is running on this database (${who}); wait for it to finish, or check it with \`zdm status\``,
    holder ? { holders: [holder] } : {},
  );
}

export async function releaseApplyLock(c: Queryable): Promise<void> {
  await c.query(`SELECT pg_catalog.pg_advisory_unlock($1, $2)`, [ADVISORY_KEY[0], ADVISORY_KEY[1]]);
}

/**
 * Sessions that hold, on the given relations, a lock conflicting with the mode we asked for. Read
 * just after our try timed out: the holder usually still holds it. `rowLocks` adds sessions with an
 * open transaction that wrote to the relation (they may hold the row locks a backfill batch waited for).
 */
export async function lockHolders(
  c: Queryable,
  wanted: readonly LockInfo[],
  options: { readonly rowLocks?: boolean } = {},
): Promise<Blocker[]> {
  if (wanted.length === 0) return [];
  const relations = wanted.map((w) => w.relation);
  // A parallel worker's lock is also held by its leader, the session to name (and to cancel).
  const r = await c.query<HolderRow & { relname: string }>(
    `SELECT l.pid, l.mode, n.nspname || '.' || c.relname AS relation, ${ACTIVITY_COLUMNS}
       FROM pg_catalog.pg_locks l
       JOIN pg_catalog.pg_class c ON c.oid = l.relation
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation' AND l.granted
        AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
        AND l.pid <> pg_catalog.pg_backend_pid()
        AND a.backend_type IS DISTINCT FROM 'parallel worker'
        AND n.nspname || '.' || c.relname = ANY ($1::text[])
      ORDER BY since, l.pid`,
    [relations],
  );
  const out: Blocker[] = [];
  for (const row of r.rows) {
    const conflicting = wanted.some(
      (w) =>
        w.relation === row.relation &&
        (CONFLICTS[w.mode].some((m) => PG_LOCK_NAME[m] === row.mode) ||
          (options.rowLocks === true &&
            (row.mode === 'RowExclusiveLock' || row.mode === 'RowShareLock') &&
            row.state !== 'active')),
    );
    if (conflicting && !out.some((h) => h.pid === row.pid && h.mode === row.mode)) out.push(toHolder(row));
  }
  return out;
}

export function describeHolders(holders: readonly LockHolder[]): string {
  if (holders.length === 0) return 'the holder had already released it when zdm looked';
  return holders
    .map(
      (h) =>
        `pid ${h.pid} holds ${h.mode}${h.relation ? ` on ${h.relation}` : ''}` +
        `${h.state ? ` (${h.state}${h.since ? ` since ${h.since}` : ''})` : ''}` +
        `${h.applicationName ? ` [${h.applicationName}]` : ''}${h.query ? `: ${h.query}` : ''}`,
    )
    .join('; ');
}

export function describeWanted(wanted: readonly LockInfo[]): string {
  return wanted.map((w) => `${w.mode} on ${w.relation}`).join(', ') || 'a lock';
}
