/**
 * The plan file's shape (README.md, "A plan"), shared by the planner (which writes it), the renderers and
 * apply (which executes it). `schemas/plan.schema.json` describes the same shape for other tools.
 */

export const PHASES = ['expand', 'backfill', 'contract'] as const;
export type PhaseName = (typeof PHASES)[number];

/**
 * The closed list of hazards. A step that carries one runs only when the user allows it with
 * `zdm apply --allow-hazards NAME,…`. Each name's meaning is in HAZARD_DESCRIPTIONS.
 */
export const HAZARDS = [
  'data-loss',
  'table-rewrite',
  'blocks-writes',
  'blocks-reads',
  'long-running',
  'app-compat',
  'unique-scope-change',
  'fires-user-triggers',
  'not-validated',
  'data-unchecked',
] as const;
export type Hazard = (typeof HAZARDS)[number];

export const HAZARD_DESCRIPTIONS: Readonly<Record<Hazard, string>> = {
  'data-loss': 'drops a table, column or other object together with its data',
  'table-rewrite': 'rewrites the whole table while holding ACCESS EXCLUSIVE: reads and writes wait for the rewrite',
  'blocks-writes': 'holds a lock that blocks INSERT/UPDATE/DELETE on the table for the length of a scan or build',
  'blocks-reads': 'holds ACCESS EXCLUSIVE for longer than an instant: even SELECTs wait',
  'long-running': 'runs for a time proportional to the table size (it does not block traffic while it runs)',
  'app-compat': 'changes something the running application version may rely on (deploy the new version first)',
  'unique-scope-change': 'changes which rows a unique or primary key treats as duplicates',
  'fires-user-triggers': "a backfill's updates fire the table's own row triggers",
  'not-validated': 'leaves existing rows unchecked: a constraint stays NOT VALID',
  'data-unchecked':
    "zdm plan's data preflight could not check the existing rows this step checks or converts (its time budget ran out, or the check failed): the step may fail on them",
};

/** Table lock modes, weakest first (PostgreSQL's "Explicit Locking", table 13.2). */
export const LOCK_MODES = [
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

export interface LockInfo {
  /** `schema.name` of the table (or index/type) locked, as it appears in messages. */
  readonly relation: string;
  readonly mode: LockMode;
  /** `instant`: a catalog change, held for milliseconds; `scan`: held while the table is read or built. */
  readonly hold: 'instant' | 'scan';
}

interface StepBase {
  /** `<phase>.<n>`, n from 1 in execution order. */
  readonly id: string;
  readonly summary: string;
  readonly locks: readonly LockInfo[];
  readonly hazards: readonly Hazard[];
}

/** One or more SQL statements, run in one transaction (`transaction: true`) or one by one outside any. */
export interface SqlStep extends StepBase {
  readonly kind: 'sql';
  readonly sql: readonly string[];
  readonly transaction: boolean;
  /**
   * For a `CREATE [UNIQUE] INDEX CONCURRENTLY` step: the index it builds, so that apply can drop an
   * INVALID leftover of an earlier failed try before it runs the step again.
   */
  readonly concurrentIndex?: { readonly schema: string; readonly name: string };
  /**
   * A contract step that ends a renamed column: the sequence in which the sync trigger notes the old
   * application version's writes (src/sql/old-writes.ts). Apply refuses the phase while that
   * version wrote within `--old-writes-quiet`.
   */
  readonly oldWrites?: OldWritesGate;
  /**
   * What `zdm rollback` runs to undo the step before contract, when its statements do not say it
   * themselves: a trigger re-created in place (CREATE OR REPLACE TRIGGER) is put back as it was.
   */
  readonly undo?: readonly string[];
}

/** The contract gate of one renamed column (SqlStep.oldWrites). */
export interface OldWritesGate {
  readonly table: { readonly schema: string; readonly name: string };
  /** The old column (its name until contract) and the new one. */
  readonly column: string;
  readonly newColumn: string;
  /** The tracking sequence, in zdm's schema. */
  readonly sequence: { readonly schema: string; readonly name: string };
}

/** A batched UPDATE, one transaction per batch, resumable from the journaled cursor. */
export interface BackfillStep extends StepBase {
  readonly kind: 'backfill';
  readonly transaction: false;
  readonly table: { readonly schema: string; readonly name: string };
  /** Column → SQL expression over the row's current values. */
  readonly set: Readonly<Record<string, string>>;
  /** Only rows matching this predicate need the update (e.g. `verified_at IS NULL`). */
  readonly where: string;
  readonly batchSize: number;
  /** The SQL a reviewer reads: what one batch runs, with the key range as placeholders. */
  readonly sql: readonly string[];
}

/**
 * How a partition swap's copy keeps the application's concurrent writes of the rows it copies:
 *   for-share  each batch reads the live rows `FOR SHARE` (a lock record and a dirtied page for each
 *              row): an UPDATE or DELETE of a row being copied waits for the batch to commit;
 *   repair     no row lock: the mirror's insert is an upsert, so a write that meets a batch's
 *              uncommitted copy waits for it and overwrites it; a delete (or the old key of an
 *              UPDATE that changed it) whose mirror did not see a batch's copy leaves that copy in
 *              the shadow, and the copy removes such rows after its last batch (src/sql/rows.ts, copyRepairSql).
 */
export type CopyGuard = 'for-share' | 'repair';

/**
 * How a copy batch keeps the rows the mirror trigger already wrote to the shadow (src/sql/rows.ts,
 * copyBatchSql): `anti-join` inserts only the rows whose copy it does not find, and redoes a batch
 * that meets a copy it could not see (a unique violation) with `on-conflict`, `INSERT … ON CONFLICT
 * DO NOTHING`, which logs a second WAL record per row; `copy` reads the anti-join's rows on a second
 * connection and streams them in through `COPY … FROM STDIN` (one WAL record per page of rows; the
 * anti-join where apply has no second connection), redone the same way.
 */
export type CopyInsert = 'copy' | 'anti-join' | 'on-conflict';

/**
 * A batched copy of every row of `from` into `to` (the shadow table of a partition swap), in key
 * order, one transaction per batch, resumable from the journaled cursor: `INSERT INTO to (columns)
 * SELECT columns FROM from WHERE key in the batch ORDER BY key [FOR SHARE] ON CONFLICT DO NOTHING`
 * (FOR SHARE under the `for-share` guard), then under the `repair` guard the removal of the rows a
 * concurrent delete left in `to`.
 */
export interface CopyStep extends StepBase {
  readonly kind: 'copy';
  readonly transaction: false;
  readonly from: { readonly schema: string; readonly name: string };
  readonly to: { readonly schema: string; readonly name: string };
  /** Columns copied (every column but generated ones), in the source's order. */
  readonly columns: readonly string[];
  /** Key of the source the batches walk (its primary key or a unique key over NOT NULL columns). */
  readonly key: readonly string[];
  /** `INSERT … OVERRIDING SYSTEM VALUE`: the target has a GENERATED ALWAYS identity column. */
  readonly overridingSystemValue: boolean;
  /** Absent (plans made before it was chosen): `for-share`. */
  readonly guard?: CopyGuard;
  /** Absent (plans made before it was chosen): `on-conflict`. */
  readonly insert?: CopyInsert;
  /**
   * With `guard: repair`: the columns that find a row's copy in `to` (the key, then the partition
   * key's plain columns): a row of `to` no row of `from` has these values of is removed after the copy.
   */
  readonly match?: readonly string[];
  /**
   * A table rewrite (`typeChanges: swap`): the columns whose type `to` changes, each with its type
   * there; the copy reads them as `"col"::type`. Absent: none.
   */
  readonly casts?: Readonly<Record<string, string>>;
  readonly batchSize: number;
  /** The SQL a reviewer reads: what one batch runs, with the key range as placeholders. */
  readonly sql: readonly string[];
}

/**
 * Compares two tables in one snapshot: row count and an order-independent checksum over `columns`.
 * The step fails, saying by how many rows they differ, when they do not agree.
 */
export interface VerifyStep extends StepBase {
  readonly kind: 'verify';
  readonly transaction: false;
  readonly from: { readonly schema: string; readonly name: string };
  readonly to: { readonly schema: string; readonly name: string };
  readonly columns: readonly string[];
  /** As the copy step's: the columns of `from` compared as converted to `to`'s types. */
  readonly casts?: Readonly<Record<string, string>>;
  /** The comparison query, for the reviewer. */
  readonly sql: readonly string[];
}

export type Step = SqlStep | BackfillStep | CopyStep | VerifyStep;

export interface Phase {
  readonly name: PhaseName;
  /** Fingerprint of the live schema this phase expects to start from (drift check). */
  readonly before: string;
  /** Fingerprint the live schema must have when the phase is done. */
  readonly after: string;
  /**
   * Fingerprints of the objects this phase touches (`table public.orders`, `enum public.status`, …)
   * as they must be before it runs: when `before` does not match, these say what drifted.
   */
  readonly objects: Readonly<Record<string, string>>;
  /**
   * Fingerprints of the same objects as they must be when the phase is done (`absent` for an object
   * the phase drops), keyed like `objects`: when the post-check finds `after` does not match, these
   * say which objects came out differently. Optional: without it the post-check can only say that
   * the schema differs.
   */
  readonly objectsAfter?: Readonly<Record<string, string>>;
  readonly steps: readonly Step[];
}

export interface PlanSource {
  /** sha256 of the desired-state input (the file's bytes, or the directory's files in path order). */
  readonly desiredSha256: string;
  /** `PostgreSQL 18.4` */
  readonly server: string;
  /** Fingerprint of the live schema the plan was made against. */
  readonly fingerprint: string;
}

/** A lock rehearsal saw a step hold: `mode` on `relation` (`schema.name`). */
export interface ObservedLock {
  readonly relation: string;
  readonly mode: LockMode;
}

/** What rehearsal (src/workflow/rehearse.ts) saw one step do on the scratch copy. */
export interface RehearsedStep {
  readonly id: string;
  /** Wall time of the step on the scratch copy (schema only: not a forecast of the live duration). */
  readonly durationMs: number;
  /** Relation locks the step held, per relation the modes no other of its modes covers; relations it created left out. */
  readonly locks: readonly ObservedLock[];
}

/**
 * `zdm plan`'s rehearsal: every phase applied by the apply engine to a scratch copy of the live
 * schema, each step's locks read from pg_locks. `rehearsed: false` when `--no-rehearse` skipped it.
 */
export type Rehearsal =
  | { readonly rehearsed: false }
  | {
      readonly rehearsed: true;
      /** The scratch server, `PostgreSQL 18.4`. */
      readonly server: string;
      readonly durationMs: number;
      readonly steps: readonly RehearsedStep[];
      /** `zdm plan --rehearse-rows N` with N > 0: the rows copied; absent when the copy was schema only. */
      readonly rows?: RehearsalRows;
      /**
       * The copy held `objects` of the live schema's `of` objects (schemas and extensions, always
       * copied, not counted): what the plan changes, what depends on it and what those need
       * (src/plan/scope.ts). Absent: the whole live schema was copied.
       */
      readonly scope?: { readonly objects: number; readonly of: number };
    };

/** The live rows a rehearsal copied into the scratch copy before the phases ran. */
export interface RehearsalRows {
  /** N of `--rehearse-rows N`: rows read of each table the plan changes. */
  readonly limit: number;
  /**
   * Rows copied per table (`schema.name`, a partitioned table's rows under its root): up to `limit`,
   * plus the rows of referenced tables that the copied rows' foreign keys point to.
   */
  readonly tables: Readonly<Record<string, number>>;
}

export interface Plan {
  readonly version: 1;
  readonly id: string;
  /** zdm version that wrote the plan. */
  readonly zdm: string;
  readonly createdAt: string;
  readonly source: PlanSource;
  readonly phases: readonly Phase[];
  /** Absent in plans written before rehearsal existed, or by library callers that did not ask for it. */
  readonly rehearsal?: Rehearsal;
  /** `sha256:` over the canonical content of everything above; apply refuses a plan that does not match. */
  readonly checksum: string;
}
