/**
 * The relation locks a session holds, read from pg_locks: the one implementation behind `zdm plan`'s
 * rehearsal (src/workflow/rehearse.ts) and the lock tests (test/support/observed-locks.ts).
 *
 * - `relationNames` maps the oids of the tables (partitioned too), views and materialized views of
 *   user schemas to `schema.name`, zdm's journal schema left out. Taken before a step, it names what
 *   the step locks by oid: a relation the step drops is no longer in pg_class afterwards, and one it
 *   creates is not in the map (a lock on a relation nobody else can see yet blocks nobody).
 * - `heldLocks` reads what a backend (the calling session by default) holds now.
 * - `LockWatcher` samples another backend's locks from a second session while it runs statements
 *   outside a transaction (CREATE INDEX CONCURRENTLY, backfill batches), where the applying session
 *   cannot look at its own locks while they are held. Sampling can miss a lock held for less than
 *   one round trip (a fraction of a millisecond): it can under-report, never invent a lock.
 */
import type pg from 'pg';
import type { Queryable } from '../db/connection.js';
import { JOURNAL_SCHEMA } from '../model/objects.js';
import { coversMode, PG_LOCK_NAME } from '../plan/locks.js';
import { LOCK_MODES, type LockInfo, type LockMode, type ObservedLock } from '../plan/types.js';
import { WAITING_FOR_OLDER_KEY } from './locks.js';

/** pg_locks' name of each mode (`AccessShareLock`) → zdm's (`ACCESS SHARE`). */
export const MODE_OF_PG_LOCK: Readonly<Record<string, LockMode>> = Object.fromEntries(
  LOCK_MODES.map((m) => [PG_LOCK_NAME[m], m] as const),
);

/** Tables (partitioned too), views and materialized views of user schemas, oid → `schema.name`. */
export async function relationNames(c: Queryable): Promise<Map<string, string>> {
  const r = await c.query<{ oid: string; rel: string }>(
    `SELECT k.oid::text AS oid, n.nspname || '.' || k.relname AS rel
       FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace
      WHERE k.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1)`,
    [JOURNAL_SCHEMA],
  );
  return new Map(r.rows.map((x) => [x.oid, x.rel]));
}

/**
 * The partitioned tables above each partition (`schema.name` → its ancestors, nearest first). A
 * statement on a partitioned table takes its lock on every partition too: a lock declared on the
 * parent covers them (`undeclaredLocks`).
 */
export async function partitionAncestors(c: Queryable): Promise<Map<string, string[]>> {
  const r = await c.query<{ rel: string; ancestors: string[] }>(
    `SELECT n.nspname || '.' || k.relname AS rel,
            ARRAY(SELECT an.nspname || '.' || ak.relname
                    FROM pg_catalog.pg_partition_ancestors(k.oid) WITH ORDINALITY AS a(oid, i)
                    JOIN pg_catalog.pg_class ak ON ak.oid = a.oid
                    JOIN pg_catalog.pg_namespace an ON an.oid = ak.relnamespace
                   WHERE a.oid <> k.oid ORDER BY a.i) AS ancestors
       FROM pg_catalog.pg_class k JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace
      WHERE k.relispartition AND k.relkind IN ('r', 'p')`,
  );
  return new Map(r.rows.map((x) => [x.rel, x.ancestors]));
}

const LOCKS_SQL = `SELECT l.relation::text AS oid, l.mode FROM pg_catalog.pg_locks l
  WHERE l.pid = COALESCE($1::int4, pg_catalog.pg_backend_pid()) AND l.granted AND l.locktype = 'relation'`;

/** Every (relation, mode) a backend holds now on the relations of `existing`, each once, sorted. */
export async function heldLocks(
  c: Queryable,
  existing: ReadonlyMap<string, string>,
  pid?: number,
): Promise<ObservedLock[]> {
  const r = await c.query<{ oid: string; mode: string }>(LOCKS_SQL, [pid ?? null]);
  return distinct(namedLocks(r.rows, existing));
}

function namedLocks(rows: readonly { oid: string; mode: string }[], existing: ReadonlyMap<string, string>) {
  return rows.flatMap((row) => {
    const relation = existing.get(row.oid);
    const mode = MODE_OF_PG_LOCK[row.mode];
    return relation === undefined || mode === undefined ? [] : [{ relation, mode }];
  });
}

function distinct(locks: readonly ObservedLock[]): ObservedLock[] {
  const seen = new Map(locks.map((l) => [`${l.relation}\u0000${l.mode}`, l] as const));
  return [...seen.values()].sort(
    (a, b) => a.relation.localeCompare(b.relation) || LOCK_MODES.indexOf(a.mode) - LOCK_MODES.indexOf(b.mode),
  );
}

/** Per relation, the modes no other held mode covers (`coversMode`): what the step's locks come to. */
export function strongestLocks(locks: readonly ObservedLock[]): ObservedLock[] {
  const all = distinct(locks);
  return all.filter(
    (l) => !all.some((o) => o !== l && o.relation === l.relation && o.mode !== l.mode && coversMode(o.mode, l.mode)),
  );
}

/**
 * The locks taken that the declared ones do not cover: on a relation not declared, or in a mode
 * that conflicts with something the declared mode of that relation lets through. A lock declared on
 * a partitioned table covers its partitions (`ancestors`: partition → its partitioned tables), which
 * PostgreSQL locks in the same mode when a statement recurses. ACCESS SHARE is never reported:
 * only ACCESS EXCLUSIVE conflicts with it, so it makes no application statement wait, and statements
 * take it on relations they only read (GRANT, ALTER INDEX … ATTACH PARTITION on the parent table,
 * ALTER SEQUENCE … OWNED BY on the table), which the planner does not declare.
 */
export function undeclaredLocks(
  declared: readonly LockInfo[],
  taken: readonly ObservedLock[],
  ancestors: ReadonlyMap<string, readonly string[]> = new Map(),
): ObservedLock[] {
  return taken.filter(
    (t) =>
      t.mode !== 'ACCESS SHARE' &&
      !declared.some(
        (d) =>
          (d.relation === t.relation || (ancestors.get(t.relation) ?? []).includes(d.relation)) &&
          coversMode(d.mode, t.mode),
      ),
  );
}

/** Its relation locks, and what it waits for (a lock not granted, or WAITING_FOR_OLDER_KEY held: not granted here). */
const ALL_LOCKS_SQL = `SELECT l.relation::text AS oid, l.mode, l.granted AND l.locktype = 'relation' AS granted
  FROM pg_catalog.pg_locks l
  WHERE l.pid = $1 AND (NOT l.granted OR l.locktype = 'relation'
    OR (l.locktype = 'advisory' AND l.classid = ${WAITING_FOR_OLDER_KEY[0]} AND l.objid = ${WAITING_FOR_OLDER_KEY[1]} AND l.objsubid = 2))`;

/**
 * Watches the locks of backend `pid` from another session `c`, as fast as round trips allow, until
 * `stop()`, which resolves with every (relation, mode) seen held. Sampling alone misses what is held
 * for less than a round trip, so the watcher also holds a snapshot open (REPEATABLE READ) from
 * `start` on: a concurrent index build waits for it before it finishes, its table lock held, and the
 * watcher reads that lock then; as soon as the watched backend waits for anything (a partition swap's
 * copy waiting for older transactions included), the watcher lets its snapshot go, so it never holds
 * a step up for longer than one round trip.
 */
export class LockWatcher {
  private readonly seen: ObservedLock[] = [];
  private running = true;
  private holding = true;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly c: pg.Client,
    private readonly pid: number,
    private readonly existing: ReadonlyMap<string, string>,
  ) {}

  /** Starts watching: resolves once the watcher's snapshot is taken (start the watched statements after). */
  static async start(c: pg.Client, pid: number, existing: ReadonlyMap<string, string>): Promise<LockWatcher> {
    const w = new LockWatcher(c, pid, existing);
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await c.query('SELECT 1');
    w.loop = w.watch();
    return w;
  }

  private async watch(): Promise<void> {
    while (this.running) {
      const r = await this.c.query<{ oid: string | null; mode: string; granted: boolean }>(ALL_LOCKS_SQL, [this.pid]);
      const granted = r.rows.flatMap((x) => (x.granted && x.oid !== null ? [{ oid: x.oid, mode: x.mode }] : []));
      this.seen.push(...namedLocks(granted, this.existing));
      if (this.holding && r.rows.some((x) => !x.granted)) await this.release();
    }
  }

  private async release(): Promise<void> {
    this.holding = false;
    await this.c.query('COMMIT');
  }

  async stop(): Promise<ObservedLock[]> {
    this.running = false;
    try {
      await this.loop;
    } finally {
      if (this.holding) await this.release();
    }
    return distinct(this.seen);
  }
}
