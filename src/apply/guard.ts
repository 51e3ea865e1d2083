/**
 * The lock-queue guard: how every step waits for its locks without stalling the application.
 *
 * PostgreSQL grants locks in queue order: a request that conflicts with a lock someone holds waits,
 * and every later request that conflicts with the *waiting* one waits behind it, even when it does
 * not conflict with what is held. So an `ALTER TABLE` (ACCESS EXCLUSIVE) that waits for a 6 s report
 * (ACCESS SHARE) makes every SELECT, INSERT and UPDATE of the table wait behind it for as long as it
 * waits: `lock_timeout` alone only bounds that stall (a 3 s timeout stalled the application 3 s per
 * try). The guard avoids queueing at all while a long holder is there:
 *
 * 1. Before each try of a step whose lock is stronger than ROW EXCLUSIVE, zdm reads pg_locks (not
 *    a lock request: it queues nothing) for sessions holding a conflicting lock on the step's
 *    relations. While one of them has had its transaction open for at least the per-try lock
 *    timeout, zdm polls, saying on the progress line who blocks (pid, application_name, state, for
 *    how long, the start of its query).
 * 2. Holders younger than that are the application's own short transactions: on a busy table there
 *    always are some, and waiting until none is visible could wait forever. The try goes ahead
 *    under the short per-try `lock_timeout` (default 200 ms), which is all it can cost the
 *    application: a short holder is gone well within it, and a holder that turns out long (it
 *    started in the instant between the look and the request) makes the try time out, after which
 *    the guard sees it and waits for it without queueing.
 * 3. Timed-out tries back off with jitter, and the whole wait of a step is bounded by `--lock-wait`
 *    (default 10 min): then the step fails cleanly (nothing of it applied; the same command resumes),
 *    naming the blockers.
 *
 * Statements whose waits block no application statement are not given the short timeout (see
 * `waitKindOf`): a concurrent index build that times out in its wait for old snapshots leaves an
 * INVALID index whose build (a full table scan) the next try throws away. They wait as long as
 * `--lock-wait` allows, watched from a second session that reports what they wait for.
 *
 * Optionally (`--cancel-blockers-after`, `--terminate-blockers`), sessions that have blocked a step
 * for longer than a given time are cancelled or terminated, each one listed and journaled.
 */
import type { Queryable } from '../db/connection.js';
import { CONFLICTS } from '../plan/locks.js';
import { LOCK_MODES, type LockInfo, type LockMode } from '../plan/types.js';
import { ApplyError, messageOf, sqlStateOf } from './errors.js';
import { recordBlockerAction } from './journal.js';
import { ACTIVITY_COLUMNS, type Blocker, describeWanted, lockHolders, toHolder } from './locks.js';
import { backoffMs, oneLine, sleep } from './timing.js';
import type { ApplyEvent } from './types.js';

/** The settings the guard reads (a subset of the run's settings, see context.ts). */
export interface GuardSettings {
  /** `lock_timeout` of each try of a step that queues the application while it waits. */
  readonly lockTimeoutMs: number;
  /** Total time a step may wait for its locks, over all its tries and polls. */
  readonly lockWaitMs: number;
  /** Cap on tries after a lock timeout (Infinity: only `lockWaitMs` bounds them). */
  readonly maxLockRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Cancel application sessions that have blocked a step for longer than this; absent: never. */
  readonly cancelBlockersAfterMs: number | undefined;
  /** Terminate blockers a cancel does not reach (idle in transaction, or still there after a cancel). */
  readonly terminateBlockers: boolean;
  /** Between two looks at pg_locks while a blocker is there. */
  readonly guardPollMs: number;
}

/** A second session, opened on first use: it watches a statement that waits while the main session runs it. */
export interface SideConnection extends Queryable {
  end(): Promise<void>;
}

export class SideSession {
  private conn: Promise<SideConnection | null> | null = null;
  private pid: number | undefined;
  /** Why the side connection could not be opened (reported once). */
  failure: string | undefined;
  constructor(private readonly open: (() => Promise<SideConnection>) | undefined) {}

  /** The side connection, or null when none can be had (no opener, or it failed to connect). */
  get(): Promise<SideConnection | null> {
    if (!this.open) return Promise.resolve(null);
    this.conn ??= this.open().catch((err: unknown) => {
      this.failure = messageOf(err);
      return null;
    });
    return this.conn;
  }

  /** The backend pid of the main session (it never changes). */
  async pidOf(c: Queryable): Promise<number> {
    this.pid ??= (await c.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid')).rows[0]!.pid;
    return this.pid;
  }

  async close(): Promise<void> {
    const c = await this.conn;
    this.conn = null;
    await c?.end().catch(() => {});
  }
}

/** The events the guard emits (apply's and rollback's printers show them). */
export type GuardEvent = Extract<
  ApplyEvent,
  { readonly type: 'lock-wait' | 'lock-retry' | 'blocker-action' | 'warning' }
>;

/** What the guard needs of a run: the session, the settings, where events go and blocker actions are journaled. */
export interface GuardContext {
  readonly c: Queryable;
  readonly s: GuardSettings;
  emit(event: GuardEvent): void;
  readonly side?: SideSession;
  /** Blocker actions are journaled under this plan and phase (`rollback` for zdm rollback). */
  readonly journal?: { readonly planId: string; readonly phase: string };
}

/**
 * How a statement waits for what it needs, and so which `lock_timeout` it gets.
 *
 * - `queues-app`: its lock request, while it waits, makes application statements queue behind it
 *   (SHARE and stronger conflict with the ROW EXCLUSIVE of every INSERT/UPDATE/DELETE; ACCESS
 *   EXCLUSIVE with every SELECT). Short per-try timeout, after the guard.
 * - `harmless`: every wait of the statement leaves the application alone, so it may wait as long
 *   as `--lock-wait` allows. Only these forms, and only with locks no stronger than SHARE UPDATE
 *   EXCLUSIVE (which conflicts with no lock a query or a DML statement takes):
 *   - `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`: they hold
 *     SHARE UPDATE EXCLUSIVE on the table and its indexes (REINDEX's swap and drop of the old index
 *     too, where queries' planning takes ACCESS SHARE on every index), and their waits for older
 *     transactions and snapshots are waits on those transactions' virtual transaction ids, which no
 *     one else queues behind (proven from pg_locks in test/integration/apply-lock-guard.test.ts).
 *   - `VALIDATE CONSTRAINT`: SHARE UPDATE EXCLUSIVE on the table (ROW SHARE on a referenced one);
 *     a queued SHARE UPDATE EXCLUSIVE request lets ROW EXCLUSIVE and ACCESS SHARE through.
 *   - `DETACH PARTITION … CONCURRENTLY`: its first transaction takes SHARE UPDATE EXCLUSIVE on the
 *     parent and the partition, then it waits for every transaction using the parent. A timeout
 *     there would leave the detach pending (to be FINALIZEd), so it must not be short. Its second
 *     transaction takes ACCESS EXCLUSIVE on the partition, which only statements naming the
 *     partition itself wait for (queries on the parent no longer see it); zdm detaches a partition
 *     only to drop it next, and cannot give that request a timeout of its own inside one statement.
 */
export type WaitKind = 'queues-app' | 'harmless';

const HARMLESS_FORMS: readonly RegExp[] = [
  /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i,
  /^\s*DROP\s+INDEX\s+CONCURRENTLY\b/i,
  /^\s*REINDEX\b[^;]*\bCONCURRENTLY\b/i,
  /^\s*ALTER\s+TABLE\s+[^;]*\s+VALIDATE\s+CONSTRAINT\s+[^;]+$/i,
  /^\s*ALTER\s+TABLE\s+[^;]*\s+DETACH\s+PARTITION\s+[^;]*\s+CONCURRENTLY\s*$/i,
];

/** Lock modes the application's statements take: SELECT, SELECT FOR UPDATE/SHARE, INSERT/UPDATE/DELETE. */
const APP_MODES: readonly LockMode[] = ['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE'];

/** A request for `mode`, while it waits, makes some application statement wait behind it. */
export const queuesApplication = (mode: LockMode): boolean => CONFLICTS[mode].some((m) => APP_MODES.includes(m));

/** Stronger than ROW EXCLUSIVE: the steps the guard looks before (backfill batches take ROW EXCLUSIVE). */
export const guarded = (mode: LockMode): boolean => LOCK_MODES.indexOf(mode) > LOCK_MODES.indexOf('ROW EXCLUSIVE');

export function waitKindOf(sql: readonly string[], locks: readonly LockInfo[]): WaitKind {
  const forms = sql.length > 0 && sql.every((q) => HARMLESS_FORMS.some((re) => re.test(q)));
  return forms && !locks.some((l) => queuesApplication(l.mode)) ? 'harmless' : 'queues-app';
}

/** `850 ms`, `6.2 s`, `12 min 5 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}

/** `pid 4242 [report] idle in transaction, transaction open 6.2 s, holds AccessShareLock on public.orders: SELECT …` */
export function describeBlocker(b: Blocker): string {
  const held = b.relation ? `, holds ${b.mode} on ${b.relation}` : '';
  const kind = b.backendType && b.backendType !== 'client backend' ? ` (${b.backendType})` : '';
  return (
    `pid ${b.pid}${b.applicationName ? ` [${b.applicationName}]` : ''}${kind} ${b.state ?? 'state not visible'}` +
    `${b.transactionMs !== undefined ? `, transaction open ${duration(b.transactionMs)}` : ''}${held}` +
    `${b.query ? `: ${oneLine(b.query, 60)}` : ''}`
  );
}

const describeBlockers = (bs: readonly Blocker[]): string =>
  bs.length === 0 ? 'no blocker was visible when zdm looked last' : uniqueByPid(bs).map(describeBlocker).join('; ');

function uniqueByPid(bs: readonly Blocker[]): Blocker[] {
  const seen = new Set<number>();
  return bs.filter((b) => !seen.has(b.pid) && seen.add(b.pid));
}

// ---- Acting on blockers ------------------------------------------------------------------------

/** What zdm knows of each session that blocked one step: since when, and what was done to it. */
export class BlockerTracker {
  /** pid → when zdm first saw it blocking, in this step's wait (performance.now()). */
  readonly firstSeen = new Map<number, number>();
  readonly cancelledAt = new Map<number, number>();
  readonly terminated = new Set<number>();
  readonly warned = new Set<number>();

  /** Records the blockers of one look; a pid not seen in it starts over. */
  observe(blockers: readonly Blocker[], now: number): void {
    const pids = new Set(blockers.map((b) => b.pid));
    for (const pid of [...this.firstSeen.keys()]) if (!pids.has(pid)) this.firstSeen.delete(pid);
    for (const pid of pids) if (!this.firstSeen.has(pid)) this.firstSeen.set(pid, now);
  }

  blockedMs(pid: number, now: number): number {
    return now - (this.firstSeen.get(pid) ?? now);
  }
}

/** A cancel that left its session blocking (a client that sends ROLLBACK late, say) is followed by a terminate after this. */
export const TERMINATE_AFTER_CANCEL_MS = 2000;

export type BlockerDecision =
  | { readonly pid: number; readonly action: 'cancel' | 'terminate'; readonly reason: string }
  | { readonly pid: number; readonly action: 'warn'; readonly reason: string };

/**
 * What to do with each blocker now (pure; the caller signals and records). Never touched: other
 * kinds of backend (replication, background workers) and anti-wraparound vacuums, which PostgreSQL
 * itself never cancels.
 *
 * Autovacuum: PostgreSQL cancels an autovacuum worker that a lock request has waited for longer than
 * deadlock_timeout (1 s by default). zdm's requests never wait that long (the per-try timeout is
 * shorter, and the guard does not request at all), so zdm does what the lock manager would have
 * done, at once: the table is vacuumed again later.
 *
 * Application sessions, only with `cancelBlockersAfterMs` and once they have blocked the step that
 * long: a session running a statement is cancelled (its statement fails, its transaction aborts and
 * releases its locks); one idle in transaction is not reached by a cancel (PostgreSQL ignores it
 * between statements) and is terminated with `terminateBlockers`, else reported once; a cancelled
 * one still blocking `TERMINATE_AFTER_CANCEL_MS` later is terminated with `terminateBlockers`.
 */
export function decideBlockerActions(
  blockers: readonly Blocker[],
  tracker: BlockerTracker,
  now: number,
  s: Pick<GuardSettings, 'cancelBlockersAfterMs' | 'terminateBlockers'>,
): BlockerDecision[] {
  const out: BlockerDecision[] = [];
  for (const b of uniqueByPid(blockers)) {
    if (tracker.terminated.has(b.pid)) continue;
    if (b.backendType === 'autovacuum worker') {
      if (/\(to prevent wraparound\)/.test(b.query ?? '')) {
        if (!tracker.warned.has(b.pid)) {
          out.push({ pid: b.pid, action: 'warn', reason: 'an anti-wraparound autovacuum: zdm waits for it' });
        }
      } else if (!tracker.cancelledAt.has(b.pid)) {
        out.push({ pid: b.pid, action: 'cancel', reason: 'autovacuum, cancelled as PostgreSQL would' });
      }
      continue;
    }
    if (b.backendType !== undefined && b.backendType !== 'client backend') continue;
    const after = s.cancelBlockersAfterMs;
    if (after === undefined || tracker.blockedMs(b.pid, now) < after) continue;
    const cancelled = tracker.cancelledAt.get(b.pid);
    const idle = (b.state ?? '').startsWith('idle in transaction');
    if (idle && cancelled === undefined) {
      if (s.terminateBlockers) {
        out.push({ pid: b.pid, action: 'terminate', reason: 'idle in transaction: a cancel does not reach it' });
      } else if (!tracker.warned.has(b.pid)) {
        out.push({
          pid: b.pid,
          action: 'warn',
          reason: 'idle in transaction: a cancel does not reach it (--terminate-blockers would end its session)',
        });
      }
    } else if (cancelled === undefined) {
      out.push({ pid: b.pid, action: 'cancel', reason: 'running a statement' });
    } else if (s.terminateBlockers && now - cancelled >= TERMINATE_AFTER_CANCEL_MS) {
      out.push({
        pid: b.pid,
        action: 'terminate',
        reason: `still blocking ${duration(now - cancelled)} after a cancel`,
      });
    }
  }
  return out;
}

export interface BlockerAction {
  readonly action: 'cancel' | 'terminate';
  readonly blocker: Blocker;
  readonly blockedMs: number;
  readonly reason: string;
  /** What pg_cancel_backend / pg_terminate_backend returned (false: the session was gone, or no privilege). */
  readonly signalled: boolean;
  readonly error?: string;
}

/** Signals, journals (best effort: the journal is no reason to keep a blocker) and reports each decision. */
async function actOnBlockers(
  gc: GuardContext,
  via: Queryable,
  stepId: string,
  blockers: readonly Blocker[],
  tracker: BlockerTracker,
): Promise<void> {
  const now = performance.now();
  for (const d of decideBlockerActions(blockers, tracker, now, gc.s)) {
    const blocker = blockers.find((b) => b.pid === d.pid)!;
    if (d.action === 'warn') {
      tracker.warned.add(d.pid);
      gc.emit({ type: 'warning', message: `${stepId}: pid ${d.pid} blocks this step and is left alone: ${d.reason}` });
      continue;
    }
    const fn = d.action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
    let signalled = false;
    let error: string | undefined;
    try {
      signalled = (await via.query<{ ok: boolean }>(`SELECT pg_catalog.${fn}($1) AS ok`, [d.pid])).rows[0]?.ok === true;
    } catch (err) {
      error = messageOf(err);
    }
    if (d.action === 'cancel') tracker.cancelledAt.set(d.pid, now);
    else tracker.terminated.add(d.pid);
    const action: BlockerAction = {
      action: d.action,
      blocker,
      blockedMs: Math.round(tracker.blockedMs(d.pid, now)),
      reason: d.reason,
      signalled,
      ...(error ? { error } : {}),
    };
    if (gc.journal) await recordBlockerAction(via, gc.journal, stepId, action).catch(() => {});
    const verb = d.action === 'cancel' ? 'cancelled' : 'terminated';
    gc.emit({
      type: 'blocker-action',
      stepId,
      ...action,
      message:
        `${stepId}: ${signalled ? verb : `could not ${d.action}`} ${describeBlocker(blocker)} — ` +
        `it had blocked this step for ${duration(action.blockedMs)} (${d.reason})${error ? `: ${error}` : ''}`,
    });
  }
}

// ---- Waiting without queueing ------------------------------------------------------------------

/**
 * Holders that make the guard wait: a conflicting lock held by a transaction open for at least the
 * per-try timeout (or, when pg_stat_activity hides its start from this user, seen by zdm holding
 * it that long). Younger holders are left to the short per-try timeout (module comment, point 2).
 */
export function longHolders(
  holders: readonly Blocker[],
  seen: BlockerTracker,
  now: number,
  thresholdMs: number,
): Blocker[] {
  return holders.filter((h) => (h.transactionMs ?? seen.blockedMs(h.pid, now)) >= thresholdMs);
}

/**
 * Polls until no long holder conflicts with `wanted`; fails as `lock-timeout` at the deadline.
 * Reports the blockers on every look (the printer redraws one line on a terminal), acts on them.
 */
async function waitForClearance(
  gc: GuardContext,
  stepId: string,
  what: string | undefined,
  wanted: readonly LockInfo[],
  started: number,
  deadline: number,
  tracker: BlockerTracker,
): Promise<void> {
  const seenHolders = new BlockerTracker();
  for (;;) {
    const now = performance.now();
    const holders = await lockHolders(gc.c, wanted);
    seenHolders.observe(holders, now);
    const blockers = longHolders(holders, seenHolders, now, gc.s.lockTimeoutMs);
    tracker.observe(blockers, now);
    if (blockers.length === 0) return;
    if (now >= deadline) throw patienceError(gc, stepId, what, wanted, started, blockers);
    gc.emit({
      type: 'lock-wait',
      stepId,
      where: 'guard',
      waitedMs: Math.round(now - started),
      lockWaitMs: gc.s.lockWaitMs,
      blockers,
      message:
        `${stepId}: waiting for ${describeWanted(wanted)} without queueing (${duration(now - started)} of ` +
        `${duration(gc.s.lockWaitMs)}): ${describeBlockers(blockers)}`,
    });
    await actOnBlockers(gc, gc.c, stepId, blockers, tracker);
    await sleep(Math.min(gc.s.guardPollMs, Math.max(0, deadline - performance.now())));
  }
}

function patienceError(
  gc: GuardContext,
  stepId: string,
  what: string | undefined,
  wanted: readonly LockInfo[],
  started: number,
  blockers: readonly Blocker[],
  details: { readonly sqlState?: string; readonly attempts?: number } = {},
  kind: WaitKind = 'queues-app',
): ApplyError {
  const waited =
    kind === 'harmless'
      ? 'and the older transactions it waited for did not end: '
      : 'and never got it without stalling the application: ';
  const left =
    kind === 'harmless'
      ? 'An INVALID index a concurrent build leaves is dropped and built again by the next run'
      : 'Nothing of this step was left applied';
  return new ApplyError(
    'lock-timeout',
    `step ${stepId}${what ? ` (${what})` : ''}: waited ${duration(performance.now() - started)} (--lock-wait ` +
      `${duration(gc.s.lockWaitMs)}) for ${describeWanted(wanted)} ${waited}${describeBlockers(blockers)}. ` +
      `${left}; run the same command again when they are done, raise --lock-wait, or let zdm end them ` +
      '(--cancel-blockers-after DURATION, --terminate-blockers).',
    { stepId, holders: uniqueByPid(blockers), attempts: details.attempts ?? 0, ...details },
  );
}

// ---- Watching a statement that waits harmlessly ------------------------------------------------

const WATCH_FIRST_MS = 500;
const WATCH_EVERY_MS = 1000;

/** Sessions the main session's statement waits for now (pg_blocking_pids), from the side session. */
async function blockingSessions(side: Queryable, pid: number): Promise<Blocker[]> {
  const r = await side.query<Parameters<typeof toHolder>[0]>(
    `SELECT x.pid, 'its transaction' AS mode, NULL AS relation, ${ACTIVITY_COLUMNS}
       FROM pg_catalog.unnest(pg_catalog.pg_blocking_pids($1)) AS x(pid)
       JOIN pg_catalog.pg_stat_activity a ON a.pid = x.pid
      ORDER BY since, x.pid`,
    [pid],
  );
  return r.rows.map(toHolder);
}

/**
 * Runs `run` (a statement of kind `harmless` on the main session) while a side session reports
 * every second what it waits for, and acts on those blockers. Without a side session it just runs.
 */
async function watched<T>(
  gc: GuardContext,
  stepId: string,
  what: string | undefined,
  started: number,
  tracker: BlockerTracker,
  run: () => Promise<T>,
  last: { blockers: readonly Blocker[] },
): Promise<T> {
  const side = await gc.side?.get();
  if (!side || !gc.side) {
    if (gc.side?.failure !== undefined) {
      gc.emit({
        type: 'warning',
        message: `${stepId}: no second session to watch what the statement waits for: ${gc.side.failure}`,
      });
      gc.side.failure = undefined;
    }
    return run();
  }
  const pid = await gc.side.pidOf(gc.c);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let running = true;
  const watch = (async () => {
    await Promise.race([sleep(WATCH_FIRST_MS), stopped]);
    while (running) {
      const now = performance.now();
      const blockers = await blockingSessions(side, pid);
      tracker.observe(blockers, now);
      if (blockers.length > 0 && running) {
        last.blockers = blockers;
        gc.emit({
          type: 'lock-wait',
          stepId,
          where: 'statement',
          waitedMs: Math.round(now - started),
          lockWaitMs: gc.s.lockWaitMs,
          blockers,
          message:
            `${stepId}: ${what ?? 'the statement'} waits for older transactions to end; the application is not ` +
            `held up meanwhile (${duration(now - started)}, --lock-wait ${duration(gc.s.lockWaitMs)}): ` +
            describeBlockers(blockers),
        });
        await actOnBlockers(gc, side, stepId, blockers, tracker);
      }
      await Promise.race([sleep(WATCH_EVERY_MS), stopped]);
    }
  })().catch((err: unknown) => {
    gc.emit({ type: 'warning', message: `${stepId}: cannot watch what the statement waits for: ${messageOf(err)}` });
  });
  try {
    return await run();
  } finally {
    running = false;
    stop();
    await watch;
  }
}

// ---- The loop ----------------------------------------------------------------------------------

/**
 * SQLSTATEs after which the whole try is rolled back and repeated: 55P03 lock_not_available (our
 * lock_timeout fired), 40P01 deadlock_detected (the server chose our transaction as the victim),
 * 40001 serialization_failure.
 */
export const RETRIABLE = new Set(['55P03', '40P01', '40001']);

export interface GuardOptions {
  /** Batches: also name sessions that may hold the row locks the batch waited for. No guard. */
  readonly rowLocks?: boolean;
  readonly beforeRetry?: () => Promise<void>;
  /** Shown in errors and on the progress line: the step's summary. */
  readonly what?: string;
  /** Default `queues-app`. */
  readonly wait?: WaitKind;
}

/**
 * Runs `attempt` until it succeeds: the guard before each try (a `queues-app` wait for a lock
 * stronger than ROW EXCLUSIVE), each try under the lock timeout it is given (`lockTimeoutMs`, or for
 * a `harmless` wait what is left of `lockWaitMs`, watched from the side session), retries on lock
 * timeouts and deadlocks with jittered exponential backoff until `lockWaitMs` has passed (or
 * `maxLockRetries`); then `lock-timeout`, naming the lock and who held it. `attempt` must leave no
 * transaction open when it throws.
 */
export async function guardedTries<T>(
  gc: GuardContext,
  stepId: string,
  wanted: readonly LockInfo[],
  attempt: (n: number, t: { readonly lockTimeoutMs: number }) => Promise<T>,
  options: GuardOptions = {},
): Promise<{ value: T; attempts: number }> {
  const s = gc.s;
  const started = performance.now();
  const deadline = started + s.lockWaitMs;
  const kind = options.wait ?? 'queues-app';
  const guard = kind === 'queues-app' && options.rowLocks !== true && wanted.some((l) => guarded(l.mode));
  const tracker = new BlockerTracker();
  const last: { blockers: readonly Blocker[] } = { blockers: [] };
  for (let n = 1; ; n++) {
    if (guard) await waitForClearance(gc, stepId, options.what, wanted, started, deadline, tracker);
    const lockTimeoutMs =
      kind === 'harmless' ? Math.max(s.lockTimeoutMs, Math.round(deadline - performance.now())) : s.lockTimeoutMs;
    const t0 = performance.now();
    try {
      const value =
        kind === 'harmless'
          ? await watched(gc, stepId, options.what, started, tracker, () => attempt(n, { lockTimeoutMs }), last)
          : await attempt(n, { lockTimeoutMs });
      return { value, attempts: n };
    } catch (err) {
      const state = sqlStateOf(err);
      if (state === undefined || !RETRIABLE.has(state)) throw err;
      const waitedMs = Math.round(performance.now() - t0);
      const holders = await lockHolders(gc.c, wanted, options.rowLocks ? { rowLocks: true } : {}).catch(
        (lookup: unknown) => {
          gc.emit({ type: 'warning', message: `${stepId}: cannot read who holds the lock: ${messageOf(lookup)}` });
          return [] as Blocker[];
        },
      );
      const why = state === '55P03' ? `lock_timeout (${lockTimeoutMs} ms)` : messageOf(err);
      if (kind === 'harmless' && state === '55P03') {
        throw patienceError(
          gc,
          stepId,
          options.what,
          wanted,
          started,
          [...last.blockers, ...holders],
          { sqlState: state, attempts: n },
          kind,
        );
      }
      if (n > s.maxLockRetries || performance.now() >= deadline) {
        throw new ApplyError(
          'lock-timeout',
          `step ${stepId}${options.what ? ` (${options.what})` : ''}: could not get its lock after ${n} tries ` +
            `(${why} each${n > s.maxLockRetries ? '' : `, over ${duration(performance.now() - started)}: --lock-wait`}): ` +
            `it waits for ${describeWanted(wanted)}; ${describeBlockers(holders)}. ` +
            'Nothing of this step was left applied; run the same command again when the holder is done, ' +
            'or raise --lock-wait / --retries.',
          { stepId, sqlState: state, holders, attempts: n },
          { cause: err },
        );
      }
      const delayMs = Math.min(
        backoffMs(n, s.retryBaseDelayMs, s.retryMaxDelayMs),
        Math.max(0, Math.round(deadline - performance.now())),
      );
      gc.emit({
        type: 'lock-retry',
        stepId,
        attempt: n,
        waitedMs,
        delayMs,
        sqlState: state,
        holders,
        message:
          `${stepId}: try ${n} gave up after ${waitedMs} ms (${why}); retrying in ${delayMs} ms` +
          (holders.length ? ` — ${describeBlockers(holders)}` : ''),
      });
      await options.beforeRetry?.();
      await sleep(delayMs);
    }
  }
}
