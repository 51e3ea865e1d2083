import type { Hazard, PhaseName } from '../plan/types.js';
import type { LockHolder } from './errors.js';
import type { BlockerAction, SideConnection } from './guard.js';
import type { Blocker } from './locks.js';

/** Test seams: awaited at fixed points of the run, so a test can pause, observe or kill an apply there. */
export interface ApplyTestHooks {
  /** Before a step's first statement runs (after the journal says `started`). */
  readonly beforeStep?: (stepId: string) => void | Promise<void>;
  /**
   * Inside a transactional SQL step's transaction, its statements run, before it is journaled `done`
   * and committed: the step's locks are all held here (rehearsal reads them from pg_locks).
   */
  readonly beforeCommit?: (stepId: string) => void | Promise<void>;
  /** After a step is journaled `done`, before the next step starts. Not called for skipped steps. */
  readonly afterStep?: (stepId: string) => void | Promise<void>;
  /** After each committed backfill batch, before the pause. */
  readonly afterBatch?: (stepId: string, batchesDone: number, rowsDone: number) => void | Promise<void>;
  /** Inside a batch's transaction, its rows written and locked, before it counts who waits for them. */
  readonly beforeBatchCommit?: (stepId: string, batchesDone: number) => void | Promise<void>;
  /** Between batches, right before a backfill's VACUUM of its table (src/apply/vacuum.ts). */
  readonly beforeVacuum?: (stepId: string) => void | Promise<void>;
}

export interface ApplyOptions {
  readonly phase: PhaseName;
  /** Hazards the user consented to (`--allow-hazards a,b`). Default: none. */
  readonly allowHazards?: readonly Hazard[];
  /**
   * `lock_timeout` of each try of a step that makes the application's statements queue behind it
   * while it waits (a lock stronger than SHARE UPDATE EXCLUSIVE), and of each backfill batch: the
   * longest zdm can stall the application. Default 200 ms. Also the age from which a lock holder's
   * transaction counts as long: the guard waits for those without queueing (src/apply/guard.ts).
   */
  readonly lockTimeoutMs?: number;
  /**
   * How long a step (or a backfill batch) may wait for its locks in all, over its tries and the
   * guard's polls; then it fails as `lock-timeout` naming the blockers, with nothing of it applied.
   * Concurrent builds and validations wait up to this long in one try. Default 600000 (10 min).
   */
  readonly lockWaitMs?: number;
  /**
   * Cancel (pg_cancel_backend) application sessions that have blocked a step for longer than this;
   * each is reported (event `blocker-action`) and journaled in zdm.blocker_actions. Default: never.
   */
  readonly cancelBlockersAfterMs?: number;
  /**
   * With `cancelBlockersAfterMs`: terminate (pg_terminate_backend) blockers a cancel does not reach:
   * sessions idle in transaction, and sessions still blocking 2 s after a cancel. Default false.
   */
  readonly terminateBlockers?: boolean;
  /**
   * Opens a second connection to the same database, used to watch a concurrent build while it waits
   * (who it waits for; blockers to cancel). Without it such waits are reported only when they fail.
   */
  readonly sideConnection?: () => Promise<SideConnection>;
  /**
   * `statement_timeout` of every statement that is not a backfill batch (DDL, CREATE INDEX
   * CONCURRENTLY, VALIDATE CONSTRAINT). Default 600000 (10 min): it stops a runaway statement, and
   * must be raised for index builds or validations on very large tables. 0 turns it off.
   */
  readonly statementTimeoutMs?: number;
  /** `statement_timeout` of one backfill batch. Default 0 (off): batches are bounded by their size. */
  readonly backfillStatementTimeoutMs?: number;
  /**
   * At most this many retries after a lock timeout (55P03) or deadlock (40P01), per step or backfill
   * batch. Default: no cap (`lockWaitMs` bounds them).
   */
  readonly maxLockRetries?: number;
  /** First backoff delay; it doubles per retry up to `retryMaxDelayMs`, times a random factor in [0.5, 1). Default 250. */
  readonly retryBaseDelayMs?: number;
  /** Default 10000. */
  readonly retryMaxDelayMs?: number;
  /**
   * The contract gate (src/apply/old-writes.ts): contract refuses while the old application version
   * wrote a renamed column within this long. Default 3600000 (1 h); 0 turns the gate off.
   */
  readonly oldWritesQuietMs?: number;
  /** Run contract even while the old application version writes (the gate reports and goes on). */
  readonly force?: boolean;
  /** Run the checks and report what would run (events of type `would-run`); change nothing. */
  readonly dryRun?: boolean;
  /** Rows per backfill batch; default: the step's `batchSize`. */
  readonly batchSize?: number;
  /**
   * Pause after each backfill batch, fixed (`pauseMs`) and in proportion to the batch's own duration
   * (`pauseRatio`: 0.25 sleeps a quarter of it), added. The application's (and replicas') breathing
   * room: in proportion, it grows when the server is busy and batches slow down. Default: `pauseRatio`
   * 0.25 and no fixed pause; giving either one leaves the other at 0.
   */
  readonly pauseMs?: number;
  readonly pauseRatio?: number;
  /** A batch slower than this halves the batch size; fast batches grow it back to `batchSize`. Default 200 ms. */
  readonly maxBatchMs?: number;
  /**
   * Before each backfill or copy batch, wait while a standby replays more than this far behind (its
   * `replay_lag` in pg_stat_replication, the largest of them). Default 5000 ms; 0 turns it off.
   */
  readonly maxReplicaLagMs?: number;
  /**
   * Cap on the rate at which the server writes WAL while a backfill or copy runs, in bytes per
   * second (`--max-wal-rate 20MB/s`): after each batch, the WAL written since the last one
   * (`pg_current_wal_insert_lsn()` differences: the whole server's) over the time since; above the cap the
   * loop sleeps until the average is back at it (src/apply/wal-rate.ts). Default 0: no cap.
   */
  readonly maxWalRate?: number;
  /**
   * A backfill runs `VACUUM` (not FULL: SHARE UPDATE EXCLUSIVE, no query or write waits for it) on
   * its table each time it has updated this share of the table's rows, and after its last batch, so
   * that the next batches reuse the space of the row versions they replaced and the table does not
   * double (src/apply/vacuum.ts). Default 0.1; 0: never.
   */
  readonly vacuumEvery?: number;
  /**
   * Where the replication lag is read (ms; undefined: no standby). Default: pg_stat_replication on
   * the applying session. Injected by tests that have no standby.
   */
  readonly replicaLag?: () => Promise<number | undefined>;
  /**
   * A stop request (the CLI aborts it on Ctrl-C or SIGTERM): checked after each backfill or copy
   * batch and before each step; the batch or step under way finishes and is journaled, then apply
   * stops with ApplyError `interrupted` (exit 130). Running the phase again resumes.
   */
  readonly signal?: AbortSignal;
  /** Progress and log lines; the engine never prints. */
  readonly onEvent?: (event: ApplyEvent) => void;
  readonly testHooks?: ApplyTestHooks;
}

export type BackfillStrategy = 'primary-key' | 'unique-key' | 'ctid';

interface EventBase {
  /** One human-readable line. */
  readonly message: string;
}

export type ApplyEvent = EventBase &
  (
    | {
        readonly type: 'phase-start';
        readonly planId: string;
        readonly phase: PhaseName;
        readonly steps: number;
        readonly resumed: boolean;
        readonly dryRun: boolean;
      }
    | {
        readonly type: 'check';
        readonly check: 'checksum' | 'hazards' | 'phase-order' | 'drift' | 'resume' | 'old-writes';
      }
    | { readonly type: 'warning' }
    | { readonly type: 'step-skipped'; readonly stepId: string; readonly reason: 'done' | 'index-valid' }
    | { readonly type: 'step-start'; readonly stepId: string; readonly summary: string; readonly attempt: number }
    | { readonly type: 'statement'; readonly stepId: string; readonly sql: string }
    | {
        readonly type: 'lock-retry';
        readonly stepId: string;
        /** The try that timed out, from 1. */
        readonly attempt: number;
        /** How long that try waited before PostgreSQL gave up (≈ lock_timeout). */
        readonly waitedMs: number;
        /** Backoff before the next try. */
        readonly delayMs: number;
        readonly sqlState: string;
        readonly holders: readonly LockHolder[];
      }
    | {
        readonly type: 'lock-wait';
        readonly stepId: string;
        /**
         * `guard`: zdm has not requested the lock and waits for long holders to finish, polling
         * pg_locks; `statement`: a statement that blocks no application statement while it waits (a
         * concurrent build or validation) is waiting for older transactions.
         */
        readonly where: 'guard' | 'statement';
        /** Since the step started waiting for its locks. */
        readonly waitedMs: number;
        /** The step's patience (`lockWaitMs`). */
        readonly lockWaitMs: number;
        readonly blockers: readonly Blocker[];
      }
    | ({ readonly type: 'blocker-action'; readonly stepId: string } & BlockerAction)
    | { readonly type: 'leftover-dropped'; readonly stepId: string; readonly index: string }
    | { readonly type: 'step-done'; readonly stepId: string; readonly attempts: number; readonly durationMs: number }
    | {
        readonly type: 'would-run';
        readonly stepId: string;
        readonly summary: string;
        readonly transaction: boolean;
        readonly sql: readonly string[];
        readonly hazards: readonly Hazard[];
        readonly alreadyDone: boolean;
      }
    | {
        readonly type: 'backfill-start';
        readonly stepId: string;
        readonly table: string;
        readonly strategy: BackfillStrategy;
        readonly key: readonly string[];
        readonly resumed: boolean;
        readonly rowsDone: number;
        readonly batchesDone: number;
        readonly estimatedTotal: number | null;
      }
    | {
        readonly type: 'backfill-progress';
        readonly stepId: string;
        /** Rows updated so far, over every run of this step. */
        readonly rowsDone: number;
        readonly batchesDone: number;
        readonly batchRows: number;
        readonly batchMs: number;
        readonly batchSize: number;
        /** Rows per second in this run. */
        readonly rowsPerSecond: number;
        /** pg_class.reltuples of the table when the step started (null: never analyzed). */
        readonly estimatedTotal: number | null;
        readonly etaSeconds: number | null;
        /** WAL the server wrote per second since the previous batch (null: not readable). */
        readonly walBytesPerSecond: number | null;
        /** The pause `--max-wal-rate` asked for after this batch (0: none). */
        readonly walPauseMs: number;
      }
    | {
        readonly type: 'vacuum';
        readonly stepId: string;
        readonly table: string;
        /** `skipped`: its lock was not had within the per-try lock timeout (autovacuum, a DDL). */
        readonly outcome: 'done' | 'skipped' | 'failed';
        readonly durationMs: number;
        /** pg_relation_size of the table after it (bytes). */
        readonly heapBytes: number | null;
      }
    | {
        /** A batch made application statements wait on its row locks: smaller batches, a longer pause. */
        readonly type: 'backfill-backoff';
        readonly stepId: string;
        /** Sessions waiting for the batch's transaction when it was about to commit. */
        readonly waiting: number;
        readonly from: number;
        readonly to: number;
        readonly pauseMs: number;
      }
    | {
        readonly type: 'replica-lag-wait';
        readonly stepId: string;
        /** The largest replay lag of a standby, ms. */
        readonly lagMs: number;
        readonly maxLagMs: number;
      }
    | {
        readonly type: 'backfill-resize';
        readonly stepId: string;
        readonly from: number;
        readonly to: number;
        readonly batchMs: number;
      }
    | {
        readonly type: 'backfill-done';
        readonly stepId: string;
        readonly rowsDone: number;
        readonly batchesDone: number;
        readonly rowsThisRun: number;
        readonly batchesThisRun: number;
        readonly durationMs: number;
      }
    | { readonly type: 'post-check'; readonly ok: boolean; readonly fingerprint: string }
    | { readonly type: 'phase-done'; readonly planId: string; readonly phase: PhaseName; readonly durationMs: number }
  );

export interface StepOutcome {
  readonly id: string;
  /** `skipped`: journaled done by an earlier run (or its index was found VALID). */
  readonly outcome: 'applied' | 'skipped' | 'would-run';
  /** Tries in this run (1 unless lock timeouts forced retries). */
  readonly attempts: number;
  readonly durationMs: number;
  readonly backfill?: {
    readonly strategy: BackfillStrategy;
    readonly rowsThisRun: number;
    readonly batchesThisRun: number;
    readonly rowsDone: number;
    readonly batchesDone: number;
  };
}

export interface ApplyResult {
  readonly planId: string;
  readonly phase: PhaseName;
  /** `already-applied`: the journal says the phase is complete; nothing ran. */
  readonly status: 'applied' | 'already-applied' | 'dry-run';
  /** True when an earlier, interrupted run of this phase had already changed something. */
  readonly resumed: boolean;
  readonly steps: readonly StepOutcome[];
  /** Live fingerprint after the phase (absent for dry runs and already applied phases). */
  readonly fingerprint?: string;
  readonly durationMs: number;
}
