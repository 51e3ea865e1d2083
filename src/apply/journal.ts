/**
 * The journal: what zdm has applied to this database, in schema `zdm` (created by the first apply).
 *
 * - `zdm.meta`: `journal_version`, so a later zdm can migrate (or refuse) an older layout.
 * - `zdm.plans`: one row per plan ever applied here, with its checksum and the plan itself (so
 *   `zdm status` can list steps not yet run).
 * - `zdm.phases`: `started` when a phase's first run begins, `done` after its post-check passed.
 * - `zdm.steps`: one row per step that ever started: `started` → `done` (or `failed`), with tries.
 *   A transactional step's `done` commits in the same transaction as the step's own SQL.
 * - `zdm.backfill_cursors`: per backfill step, the position after the last committed batch and its
 *   counters, updated in the same transaction as that batch.
 * - `zdm.blocker_actions` (version 2): every session zdm cancelled or terminated because it blocked a
 *   step (`--cancel-blockers-after`), with what it was doing. Not tied to `zdm.plans`: the record of
 *   a killed session outlives a rollback that removes the plan's rows.
 *
 * Versions: 1 had no blocker_actions; `ensureJournal` migrates a version-1 journal by adding the
 * table (nothing else changes, so an older journal is read as before). A zdm that understands only
 * version 1 refuses a version-2 journal, as it refuses any newer one.
 *
 * Timestamps use clock_timestamp(): now() is the start of the transaction, not of the event.
 */
import type { Queryable } from '../db/connection.js';
import { JOURNAL_SCHEMA } from '../model/objects.js';
import type { PhaseName, Plan } from '../plan/types.js';
import { quoteIdent, quoteLiteral } from '../sql/quote.js';
import { ApplyError } from './errors.js';
import type { BlockerAction } from './guard.js';

export const JOURNAL_VERSION = 2;

const DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${JOURNAL_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${JOURNAL_SCHEMA}.meta (
     key text PRIMARY KEY,
     value text NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS ${JOURNAL_SCHEMA}.plans (
     plan_id text PRIMARY KEY,
     checksum text NOT NULL,
     zdm_version text NOT NULL,
     first_applied_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
     plan jsonb NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS ${JOURNAL_SCHEMA}.phases (
     plan_id text NOT NULL REFERENCES ${JOURNAL_SCHEMA}.plans ON DELETE CASCADE,
     phase text NOT NULL CHECK (phase IN ('expand', 'backfill', 'contract')),
     status text NOT NULL CHECK (status IN ('started', 'done')),
     started_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
     finished_at timestamptz,
     PRIMARY KEY (plan_id, phase)
   )`,
  `CREATE TABLE IF NOT EXISTS ${JOURNAL_SCHEMA}.steps (
     plan_id text NOT NULL REFERENCES ${JOURNAL_SCHEMA}.plans ON DELETE CASCADE,
     phase text NOT NULL,
     step_id text NOT NULL,
     status text NOT NULL CHECK (status IN ('started', 'done', 'failed')),
     started_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
     finished_at timestamptz,
     error text,
     attempts integer NOT NULL DEFAULT 0,
     statements_done integer NOT NULL DEFAULT 0,
     PRIMARY KEY (plan_id, step_id)
   )`,
  `CREATE TABLE IF NOT EXISTS ${JOURNAL_SCHEMA}.backfill_cursors (
     plan_id text NOT NULL REFERENCES ${JOURNAL_SCHEMA}.plans ON DELETE CASCADE,
     step_id text NOT NULL,
     last_key jsonb,
     rows_done bigint NOT NULL DEFAULT 0,
     batches_done bigint NOT NULL DEFAULT 0,
     done boolean NOT NULL DEFAULT false,
     updated_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
     PRIMARY KEY (plan_id, step_id)
   )`,
  // Version 2.
  `CREATE TABLE IF NOT EXISTS ${JOURNAL_SCHEMA}.blocker_actions (
     at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
     plan_id text NOT NULL,
     phase text NOT NULL,
     step_id text NOT NULL,
     action text NOT NULL CHECK (action IN ('cancel', 'terminate')),
     pid integer NOT NULL,
     application_name text,
     state text,
     backend_type text,
     transaction_ms double precision,
     blocked_ms double precision NOT NULL,
     query text,
     reason text NOT NULL,
     signalled boolean NOT NULL
   )`,
];

export type StepStatus = 'started' | 'done' | 'failed';

export interface JournalStep {
  readonly stepId: string;
  readonly phase: string;
  readonly status: StepStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly attempts: number;
  readonly statementsDone: number;
}

export interface JournalPhase {
  readonly phase: string;
  readonly status: 'started' | 'done';
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface JournalCursor {
  readonly stepId: string;
  readonly lastKey: unknown;
  readonly rowsDone: number;
  readonly batchesDone: number;
  readonly done: boolean;
  readonly updatedAt: string;
}

export interface PlanJournal {
  readonly checksum: string;
  readonly firstAppliedAt: string;
  readonly phases: ReadonlyMap<string, JournalPhase>;
  readonly steps: ReadonlyMap<string, JournalStep>;
  readonly cursors: ReadonlyMap<string, JournalCursor>;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

/** The journal's version, or null when this database has no journal yet. */
export async function journalVersion(c: Queryable): Promise<number | null> {
  const r = await c.query<{ meta: string | null }>(
    `SELECT pg_catalog.to_regclass('${JOURNAL_SCHEMA}.meta')::text AS meta`,
  );
  if (!r.rows[0]?.meta) return null;
  const v = await c.query<{ value: string }>(`SELECT value FROM ${JOURNAL_SCHEMA}.meta WHERE key = 'journal_version'`);
  const version = Number(v.rows[0]?.value ?? Number.NaN);
  if (!Number.isInteger(version)) {
    throw new ApplyError('journal', `the zdm journal (schema ${JOURNAL_SCHEMA}) has no readable journal_version`);
  }
  if (version > JOURNAL_VERSION) {
    throw new ApplyError(
      'journal',
      `the zdm journal (schema ${JOURNAL_SCHEMA}) has version ${version}; this zdm understands version ` +
        `${JOURNAL_VERSION}: a newer zdm applied plans here, use it`,
    );
  }
  return version;
}

/** Creates the journal, or brings an older version up to this one (every step is IF NOT EXISTS). */
export async function ensureJournal(c: Queryable): Promise<void> {
  for (const sql of DDL) await c.query(sql);
  await c.query(
    `INSERT INTO ${JOURNAL_SCHEMA}.meta AS m (key, value) VALUES ('journal_version', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE m.value::integer < EXCLUDED.value::integer`,
    [String(JOURNAL_VERSION)],
  );
}

/** What the journal says about one plan; null when the plan was never applied (or no journal exists). */
export async function readPlanJournal(c: Queryable, planId: string): Promise<PlanJournal | null> {
  if ((await journalVersion(c)) === null) return null;
  const p = await c.query<{ checksum: string; first_applied_at: Date }>(
    `SELECT checksum, first_applied_at FROM ${JOURNAL_SCHEMA}.plans WHERE plan_id = $1`,
    [planId],
  );
  const plan = p.rows[0];
  if (!plan) return null;
  const phases = await c.query<{
    phase: string;
    status: 'started' | 'done';
    started_at: Date;
    finished_at: Date | null;
  }>(`SELECT phase, status, started_at, finished_at FROM ${JOURNAL_SCHEMA}.phases WHERE plan_id = $1`, [planId]);
  const steps = await c.query<{
    step_id: string;
    phase: string;
    status: StepStatus;
    started_at: Date;
    finished_at: Date | null;
    error: string | null;
    attempts: number;
    statements_done: number;
  }>(
    `SELECT step_id, phase, status, started_at, finished_at, error, attempts, statements_done
       FROM ${JOURNAL_SCHEMA}.steps WHERE plan_id = $1`,
    [planId],
  );
  const cursors = await c.query<{
    step_id: string;
    last_key: unknown;
    rows_done: string;
    batches_done: string;
    done: boolean;
    updated_at: Date;
  }>(
    `SELECT step_id, last_key, rows_done, batches_done, done, updated_at
       FROM ${JOURNAL_SCHEMA}.backfill_cursors WHERE plan_id = $1`,
    [planId],
  );
  return {
    checksum: plan.checksum,
    firstAppliedAt: iso(plan.first_applied_at),
    phases: new Map(
      phases.rows.map((r) => [
        r.phase,
        { phase: r.phase, status: r.status, startedAt: iso(r.started_at), finishedAt: isoOrNull(r.finished_at) },
      ]),
    ),
    steps: new Map(
      steps.rows.map((r) => [
        r.step_id,
        {
          stepId: r.step_id,
          phase: r.phase,
          status: r.status,
          startedAt: iso(r.started_at),
          finishedAt: isoOrNull(r.finished_at),
          error: r.error,
          attempts: r.attempts,
          statementsDone: r.statements_done,
        },
      ]),
    ),
    cursors: new Map(
      cursors.rows.map((r) => [
        r.step_id,
        {
          stepId: r.step_id,
          lastKey: r.last_key,
          rowsDone: Number(r.rows_done),
          batchesDone: Number(r.batches_done),
          done: r.done,
          updatedAt: iso(r.updated_at),
        },
      ]),
    ),
  };
}

export async function recordPlan(c: Queryable, plan: Plan): Promise<void> {
  await c.query(
    `INSERT INTO ${JOURNAL_SCHEMA}.plans (plan_id, checksum, zdm_version, plan) VALUES ($1, $2, $3, $4)
     ON CONFLICT (plan_id) DO NOTHING`,
    [plan.id, plan.checksum, plan.zdm, JSON.stringify(plan)],
  );
}

export async function phaseStarted(c: Queryable, planId: string, phase: PhaseName): Promise<void> {
  await c.query(
    `INSERT INTO ${JOURNAL_SCHEMA}.phases (plan_id, phase, status) VALUES ($1, $2, 'started')
     ON CONFLICT (plan_id, phase) DO NOTHING`,
    [planId, phase],
  );
}

export async function phaseDone(c: Queryable, planId: string, phase: PhaseName): Promise<void> {
  await c.query(
    `UPDATE ${JOURNAL_SCHEMA}.phases SET status = 'done', finished_at = pg_catalog.clock_timestamp()
      WHERE plan_id = $1 AND phase = $2`,
    [planId, phase],
  );
}

/** A try of a step begins: `started`, one more attempt. Committed on its own, before the step's SQL. */
export async function stepStarting(c: Queryable, planId: string, phase: PhaseName, stepId: string): Promise<void> {
  await c.query(
    `INSERT INTO ${JOURNAL_SCHEMA}.steps AS s (plan_id, phase, step_id, status, attempts) VALUES ($1, $2, $3, 'started', 1)
     ON CONFLICT (plan_id, step_id) DO UPDATE
       SET status = 'started', attempts = s.attempts + 1, error = NULL, finished_at = NULL`,
    [planId, phase, stepId],
  );
}

/** A non-transactional step's statement is tried again after a lock timeout. */
export async function stepRetried(c: Queryable, planId: string, stepId: string): Promise<void> {
  await c.query(`UPDATE ${JOURNAL_SCHEMA}.steps SET attempts = attempts + 1 WHERE plan_id = $1 AND step_id = $2`, [
    planId,
    stepId,
  ]);
}

/** Marks a step done; run inside the step's own transaction for transactional steps. */
const STEP_DONE_SQL = `UPDATE ${JOURNAL_SCHEMA}.steps SET status = 'done', finished_at = pg_catalog.clock_timestamp(), error = NULL
      WHERE plan_id = $1 AND step_id = $2`;

export async function stepDone(c: Queryable, planId: string, stepId: string): Promise<void> {
  await c.query(STEP_DONE_SQL, [planId, stepId]);
}

export async function stepFailed(c: Queryable, planId: string, stepId: string, error: string): Promise<void> {
  await c.query(
    `UPDATE ${JOURNAL_SCHEMA}.steps SET status = 'failed', finished_at = pg_catalog.clock_timestamp(), error = $3
      WHERE plan_id = $1 AND step_id = $2`,
    [planId, stepId, error],
  );
}

/** A non-transactional step committed its first `n` statements. */
export async function stepStatementsDone(c: Queryable, planId: string, stepId: string, n: number): Promise<void> {
  await c.query(`UPDATE ${JOURNAL_SCHEMA}.steps SET statements_done = $3 WHERE plan_id = $1 AND step_id = $2`, [
    planId,
    stepId,
    n,
  ]);
}

export async function ensureCursor(c: Queryable, planId: string, stepId: string): Promise<void> {
  await c.query(
    `INSERT INTO ${JOURNAL_SCHEMA}.backfill_cursors (plan_id, step_id) VALUES ($1, $2)
     ON CONFLICT (plan_id, step_id) DO NOTHING`,
    [planId, stepId],
  );
}

/** Moves the cursor past a batch; run inside the batch's transaction. */
type CursorRow = { rows_done: string; batches_done: string } & Record<string, unknown>;

/**
 * The cursor's advance; `also`: further readings (name → scalar SQL expression) taken by the same
 * statement, in the batch's transaction. Parameters: plan, step, the key (JSON), rows, done.
 */
function advanceCursorSql(also: Readonly<Record<string, string>>): string {
  const extra = Object.entries(also)
    .map(([name, expr]) => `, (${expr}) AS ${quoteIdent(name)}`)
    .join('');
  return `UPDATE ${JOURNAL_SCHEMA}.backfill_cursors
        SET last_key = $3, rows_done = rows_done + $4, batches_done = batches_done + 1, done = $5,
            updated_at = pg_catalog.clock_timestamp()
      WHERE plan_id = $1 AND step_id = $2
      RETURNING rows_done, batches_done${extra}`;
}

function cursorAdvanced(
  row: CursorRow | undefined,
  planId: string,
  stepId: string,
  also: Readonly<Record<string, string>>,
): { rowsDone: number; batchesDone: number; also: Readonly<Record<string, unknown>> } {
  if (!row) throw new Error(`journal: no backfill cursor for ${planId} ${stepId}`);
  return {
    rowsDone: Number(row.rows_done),
    batchesDone: Number(row.batches_done),
    also: Object.fromEntries(Object.keys(also).map((name) => [name, row[name]])),
  };
}

/**
 * A batch's end in one round trip: the cursor's advance (with the readings `also`), the step marked
 * done when it was the last batch, and COMMIT, sent as one simple query (the values as literals). An
 * error in the advance aborts the transaction and PostgreSQL runs nothing after it in the string:
 * the caller rolls back.
 */
export async function advanceCursorAndCommit(
  c: Queryable,
  planId: string,
  stepId: string,
  lastKey: unknown,
  rows: number,
  done: boolean,
  also: Readonly<Record<string, string>> = {},
): Promise<{ rowsDone: number; batchesDone: number; also: Readonly<Record<string, unknown>> }> {
  const literals = [
    quoteLiteral(planId),
    quoteLiteral(stepId),
    `${quoteLiteral(JSON.stringify(lastKey))}::jsonb`,
    String(Math.trunc(rows)),
    done ? 'true' : 'false',
  ];
  const sql = (text: string): string => text.replace(/\$([1-5])\b/g, (_, i: string) => literals[Number(i) - 1]!);
  const statements = [sql(advanceCursorSql(also)), ...(done ? [sql(STEP_DONE_SQL)] : []), 'COMMIT'];
  const results = (await c.query(statements.join(';\n'))) as unknown as { rows: CursorRow[] }[];
  return cursorAdvanced(results[0]?.rows[0], planId, stepId, also);
}

/** Starts a backfill's key walk over (a changed key strategy); counters are kept. */
export async function resetCursorKey(c: Queryable, planId: string, stepId: string, lastKey: unknown): Promise<void> {
  await c.query(
    `UPDATE ${JOURNAL_SCHEMA}.backfill_cursors SET last_key = $3, done = false, updated_at = pg_catalog.clock_timestamp()
      WHERE plan_id = $1 AND step_id = $2`,
    [planId, stepId, JSON.stringify(lastKey)],
  );
}

/** Journals a session zdm cancelled or terminated (src/apply/guard.ts): one row of blocker_actions. */
export async function recordBlockerAction(
  c: Queryable,
  at: { readonly planId: string; readonly phase: string },
  stepId: string,
  a: BlockerAction,
): Promise<void> {
  const b = a.blocker;
  await c.query(
    `INSERT INTO ${JOURNAL_SCHEMA}.blocker_actions (plan_id, phase, step_id, action, pid, application_name, state, backend_type,
                                      transaction_ms, blocked_ms, query, reason, signalled)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      at.planId,
      at.phase,
      stepId,
      a.action,
      b.pid,
      b.applicationName ?? null,
      b.state ?? null,
      b.backendType ?? null,
      b.transactionMs ?? null,
      a.blockedMs,
      b.query ?? null,
      a.error ? `${a.reason}; ${a.error}` : a.reason,
      a.signalled,
    ],
  );
}
