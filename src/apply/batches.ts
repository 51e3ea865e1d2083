/**
 * The loop every batched data step runs (a backfill's UPDATEs, a partition swap's copy): one short
 * transaction per batch, the cursor journaled in the batch's own transaction (so a killed apply
 * resumes after the last committed batch and never repeats one), lock waits bounded and retried,
 * batches halved when one runs past `--max-batch` time and grown back when they are quick, progress
 * reported after each batch (with the rate the server writes WAL at), a pause between batches (see
 * `pauseAfter`), longer when the WAL rate is over `--max-wal-rate` (src/apply/wal-rate.ts), and
 * what the caller does between two batches (`between`: a backfill's VACUUM, src/apply/vacuum.ts).
 *
 * What a batch does is the caller's: `batch(position, size)` runs inside the transaction and says
 * how many rows it touched, where the walk is now, and whether that was the last batch.
 */
import type { LockInfo } from '../plan/types.js';
import { REPLICA_LAG_SQL, setLocalSql, WAITING_ON_ME_SQL, WAL_POSITION_SQL } from '../sql/session.js';
import { type RunContext, type Settings, stopIfAsked, withLockRetry } from './context.js';
import { advanceCursorAndCommit, type JournalCursor } from './journal.js';
import { msSetting, sleep } from './timing.js';
import type { BackfillStrategy, StepOutcome } from './types.js';
import { formatRate, walPacing } from './wal-rate.js';

export interface BatchResult<P> {
  readonly rows: number;
  readonly next: P;
  readonly last: boolean;
}

export interface BatchProgress<P> {
  readonly position: P;
  readonly done: boolean;
  readonly rowsDone: number;
  readonly batchesDone: number;
  /** Rows per second in this run. */
  readonly rowsPerSecond: number;
  /** Seconds since this run's first batch started. */
  readonly elapsedSeconds: number;
}

export interface BatchLoop<P> {
  readonly stepId: string;
  /** Shown in errors: `backfill batch 3 of public.orders`. */
  readonly what: string;
  readonly display: string;
  /** What the batches lock, for naming the holders when a lock wait times out. */
  readonly wanted: readonly LockInfo[];
  /** lock_timeout of each batch (row locks it waits for). */
  readonly lockTimeoutMs: number;
  /** Further settings of each batch's transaction (`SET LOCAL`), with the loop's own. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Rows per batch; the loop goes below it (never above) to keep batches under `maxBatchMs`. */
  readonly targetSize: number;
  /** Where the walk starts (or resumes). */
  readonly start: P;
  /** Counters of earlier runs of the step. */
  readonly rowsDone: number;
  readonly batchesDone: number;
  /** One batch, inside its transaction. */
  readonly batch: (position: P, size: number) => Promise<BatchResult<P>>;
  /** The estimate and the message of the progress event after each batch. */
  readonly progress: (p: BatchProgress<P>) => {
    readonly estimatedTotal: number | null;
    readonly etaSeconds: number | null;
    readonly message: string;
  };
  /**
   * False: the last batch does not journal the step `done` (the caller still has work to do after
   * it, and journals `done` itself). Default true.
   */
  readonly lastMarksDone?: boolean;
  /**
   * True: the batch that just failed with this error (and was rolled back) is run again at once, in
   * the same try; the caller changes what `batch` runs next (a copy batch that met a row it could not
   * see is redone ON CONFLICT DO NOTHING). It must not say true twice for the same batch.
   */
  readonly redo?: (err: unknown) => boolean;
  /** After each committed batch (the last one too), before the pause: no transaction is open. */
  readonly between?: (p: { readonly rowsDone: number; readonly done: boolean }) => Promise<void>;
}

export interface BatchLoopOutcome {
  readonly rowsDone: number;
  readonly batchesDone: number;
  readonly rowsThisRun: number;
  readonly batchesThisRun: number;
  /** The most tries any batch needed (lock timeouts retried). */
  readonly maxAttempts: number;
}

/** The counters of a step's earlier runs, from its journaled cursor (none: it has not run). */
export function earlierRuns(cursor: JournalCursor | undefined): { rowsDone: number; batchesDone: number } {
  return { rowsDone: cursor?.rowsDone ?? 0, batchesDone: cursor?.batchesDone ?? 0 };
}

/** A batched step's outcome as apply reports it. */
export function batched(strategy: BackfillStrategy, run: BatchLoopOutcome): NonNullable<StepOutcome['backfill']> {
  const { rowsThisRun, batchesThisRun, rowsDone, batchesDone } = run;
  return { strategy, rowsThisRun, batchesThisRun, rowsDone, batchesDone };
}

/** The pause after a batch that took `batchMs`: the fixed part plus the proportional part. */
export function pauseAfter(s: Pick<Settings, 'pauseMs' | 'pauseRatio'>, batchMs: number): number {
  return Math.round(s.pauseMs + s.pauseRatio * batchMs);
}

/**
 * What a batch's statements run under (runBatchLoop, and a copy's reader session beside the batch):
 * lock waits bounded by `lockTimeoutMs`, the backfill statement_timeout, and the key's index for the
 * key range (enable_seqscan and enable_sort off: see runBatchLoop).
 */
export function batchSettings(s: Settings, lockTimeoutMs: number): Record<string, string> {
  return {
    lock_timeout: msSetting(lockTimeoutMs),
    statement_timeout: msSetting(s.backfillStatementTimeoutMs),
    enable_seqscan: 'off',
    enable_sort: 'off',
  };
}

export async function runBatchLoop<P>(ctx: RunContext, loop: BatchLoop<P>): Promise<BatchLoopOutcome> {
  const { c, plan, s } = ctx;
  const target = Math.max(1, loop.targetSize);
  const minSize = Math.min(target, 10);
  let size = target;
  let position = loop.start;
  let rowsDone = loop.rowsDone;
  let batchesDone = loop.batchesDone;
  let rowsThisRun = 0;
  let batchesThisRun = 0;
  let maxAttempts = 1;
  const runStart = performance.now();
  // The WAL position is read with the cursor's advance, in the batch's own statement; a server that
  // cannot report it (a first reading fails) is not asked again.
  let wal = await readWal(c);
  const readings: Record<string, string> = { waiting: WAITING_ON_ME_SQL };
  if (wal !== null) readings.wal = WAL_POSITION_SQL;
  // The standbys' lag is read before the first batch, then at the end of each batch (with the
  // cursor's advance: no round trip of its own), and decides whether the next batch waits.
  const lagInBatch = s.maxReplicaLagMs > 0 && s.replicaLag === undefined;
  if (lagInBatch) readings.lag = REPLICA_LAG_SQL;
  let lag: number | undefined = s.maxReplicaLagMs > 0 ? await readLag(ctx) : undefined;
  // One round trip opens the batch's transaction with its settings. A batch walks its key index (or
  // a TID range): never a scan of the whole table. Without statistics (a table loaded and not
  // analyzed yet) the planner took the batch's filter for rare and scanned and sorted the whole
  // table for every batch, a batch took longer than the cap, and batches shrank to a few hundred
  // rows: 1,000,000 rows took 273 s instead of 37.
  //
  // synchronous_commit off: a batch's COMMIT does not wait for its WAL to be flushed to disk (nor
  // for a synchronous standby; --max-replica-lag paces the batches on the standbys instead). A crash
  // can lose the last batches committed, but then it loses their cursor advance with them (the same
  // transaction): the next run redoes them, as after any kill. On a server with fsync on, the flush
  // was one disk sync per batch, which the single UPDATE pays once.
  const begin =
    'BEGIN ISOLATION LEVEL READ COMMITTED; ' +
    setLocalSql({ ...batchSettings(s, loop.lockTimeoutMs), synchronous_commit: 'off', ...loop.settings });
  let done = false;
  while (!done) {
    await waitForReplicas(ctx, loop.stepId, lag);
    const { value: batch, attempts } = await withLockRetry(
      ctx,
      loop.stepId,
      loop.wanted,
      async () => {
        const t0 = performance.now();
        for (;;) {
          try {
            await c.query(begin);
            const r = await loop.batch(position, size);
            await s.hooks.beforeBatchCommit?.(loop.stepId, batchesDone);
            // The cursor's advance and COMMIT, one round trip; with the advance, read while the
            // batch's row locks are held: did the application queue behind them? Where is the WAL, how
            // far behind are the standbys?
            const advanced = await advanceCursorAndCommit(
              c,
              plan.id,
              loop.stepId,
              r.next,
              r.rows,
              r.last && loop.lastMarksDone !== false,
              readings,
            );
            const walBytes = Number(advanced.also.wal);
            const lagMs = advanced.also.lag;
            return {
              ...r,
              counters: advanced,
              waiting: Number(advanced.also.waiting ?? 0),
              lag: lagMs === null || lagMs === undefined ? undefined : Number(lagMs),
              wal: Number.isFinite(walBytes) ? { bytes: walBytes, at: performance.now() } : null,
              ms: performance.now() - t0,
            };
          } catch (err) {
            await c.query('ROLLBACK').catch(() => {});
            if (loop.redo?.(err) !== true) throw err;
          }
        }
      },
      { rowLocks: true, what: `${loop.what} ${batchesDone + 1} of ${loop.display}` },
    );
    maxAttempts = Math.max(maxAttempts, attempts);
    // An injected lag source (tests) is read after the batch commits, where the query would have been.
    if (!batch.last && s.maxReplicaLagMs > 0) lag = lagInBatch ? batch.lag : await readLag(ctx);
    position = batch.next;
    done = batch.last;
    rowsDone = batch.counters.rowsDone;
    batchesDone = batch.counters.batchesDone;
    rowsThisRun += batch.rows;
    batchesThisRun += 1;
    const elapsedSeconds = (performance.now() - runStart) / 1000;
    const rowsPerSecond = elapsedSeconds > 0 ? Math.round(rowsThisRun / elapsedSeconds) : 0;
    const batchMs = Math.round(batch.ms);
    const shown = loop.progress({ position, done, rowsDone, batchesDone, rowsPerSecond, elapsedSeconds });
    await loop.between?.({ rowsDone, done });
    // The WAL written since the last reading (the last vacuum, this batch, the application's
    // writes), and the pause that brings its rate down to --max-wal-rate.
    const walNow = batch.wal;
    const paced =
      wal !== null && walNow !== null
        ? walPacing(walNow.bytes - wal.bytes, walNow.at - wal.at, s.maxWalRate)
        : { bytesPerSecond: null, pauseMs: 0 };
    const walPauseMs = done ? 0 : paced.pauseMs;
    // The pause pays for this interval's bytes: the next interval starts after it (counted in both,
    // the rate could reach twice the cap).
    wal = walNow === null ? null : { ...walNow, at: walNow.at + walPauseMs };
    const walText =
      paced.bytesPerSecond === null
        ? ''
        : `, WAL ${formatRate(paced.bytesPerSecond)}` +
          (walPauseMs > 0 ? ` (over --max-wal-rate ${formatRate(s.maxWalRate)}: pause ${walPauseMs} ms)` : '');
    ctx.emit({
      type: 'backfill-progress',
      stepId: loop.stepId,
      rowsDone,
      batchesDone,
      batchRows: batch.rows,
      batchMs,
      batchSize: size,
      rowsPerSecond,
      walBytesPerSecond: paced.bytesPerSecond === null ? null : Math.round(paced.bytesPerSecond),
      walPauseMs,
      ...shown,
      message: `${shown.message}${walText}`,
    });
    // Keep each batch short: it holds its row locks until it commits.
    let resized = size;
    if (batch.ms > s.maxBatchMs && size > minSize) resized = Math.max(minSize, Math.floor(size / 2));
    else if (batch.ms < s.maxBatchMs / 2 && size < target)
      resized = Math.min(target, Math.max(size + 1, Math.ceil(size * 1.2)));
    if (resized !== size) {
      ctx.emit({
        type: 'backfill-resize',
        stepId: loop.stepId,
        from: size,
        to: resized,
        batchMs,
        message: `${loop.stepId}: batch took ${batchMs} ms (limit ${s.maxBatchMs}): batch size ${size} → ${resized}`,
      });
      size = resized;
    }
    await s.hooks.afterBatch?.(loop.stepId, batchesDone, rowsDone);
    let pause = Math.max(pauseAfter(s, batch.ms), walPauseMs);
    if (batch.waiting > 0 && !done) {
      // Application statements waited for this batch: halve the next one, and give them at least as
      // long as the batch took before it.
      const smaller = Math.max(minSize, Math.floor(size / 2));
      pause = Math.max(pause, Math.round(batch.ms));
      ctx.emit({
        type: 'backfill-backoff',
        stepId: loop.stepId,
        waiting: batch.waiting,
        from: size,
        to: smaller,
        pauseMs: pause,
        message: `${loop.stepId}: ${batch.waiting} application session(s) waited for batch ${batchesDone}'s row locks: batch size ${size} → ${smaller}, pause ${pause} ms`,
      });
      size = smaller;
    }
    if (!done && pause > 0) await sleep(pause, s.signal);
    // Committed and journaled: a stop request ends the run here (the next run resumes after it).
    if (!done) {
      stopIfAsked(s, plan, ctx.phase.name, `after batch ${batchesDone} of ${loop.display} (${rowsDone} rows done)`);
    }
  }
  return { rowsDone, batchesDone, rowsThisRun, batchesThisRun, maxAttempts };
}

/**
 * Waits (without holding anything) while a standby replays more than --max-replica-lag behind: `lag`
 * is the last reading (undefined: no standby, or not asked); over the limit, the lag is read again
 * after each wait.
 */
async function waitForReplicas(ctx: RunContext, stepId: string, lastLag: number | undefined): Promise<void> {
  const { s } = ctx;
  if (s.maxReplicaLagMs === 0) return;
  let lag = lastLag;
  for (;;) {
    if (lag === undefined || lag <= s.maxReplicaLagMs) return;
    ctx.emit({
      type: 'replica-lag-wait',
      stepId,
      lagMs: Math.round(lag),
      maxLagMs: s.maxReplicaLagMs,
      message: `${stepId}: waiting: a standby replays ${(lag / 1000).toFixed(1)} s behind (--max-replica-lag ${(s.maxReplicaLagMs / 1000).toFixed(1)} s)`,
    });
    await sleep(Math.min(1000, Math.max(100, lag - s.maxReplicaLagMs)), s.signal);
    stopIfAsked(s, ctx.plan, ctx.phase.name, `while ${stepId} waited for a standby`);
    lag = await readLag(ctx);
  }
}

/** How far behind the furthest standby replays, in ms (undefined: no standby). */
async function readLag(ctx: RunContext): Promise<number | undefined> {
  return (ctx.s.replicaLag ?? readReplicaLag)(ctx.c);
}

/** Where the server's WAL is, and when that was read; null where it cannot be read (a standby). */
async function readWal(c: RunContext['c']): Promise<{ bytes: number; at: number } | null> {
  try {
    const r = await c.query<{ bytes: string }>(WAL_POSITION_SQL);
    const bytes = Number(r.rows[0]?.bytes);
    return Number.isFinite(bytes) ? { bytes, at: performance.now() } : null;
  } catch {
    return null;
  }
}

async function readReplicaLag(c: RunContext['c']): Promise<number | undefined> {
  const r = await c.query<{ lag_ms: number | null }>(REPLICA_LAG_SQL);
  return r.rows[0]?.lag_ms ?? undefined;
}
