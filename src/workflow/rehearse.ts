/**
 * Rehearsal: before `zdm plan` writes a plan, the plan is applied, every phase, by the real apply
 * engine (src/apply/) to a scratch copy of the live schema, and each step's locks are read from
 * pg_locks (src/apply/observe-locks.ts).
 *
 * 1. A scratch database of the live server's major version (scratch.ts: an embedded server zdm
 *    starts, or `--scratch-url`).
 * 2. The copy: zdm plans the live model against the empty scratch database and applies that plan
 *    there (what `zdm pull` then `zdm plan` on an empty database would do). Of the plan's scope
 *    when the plan's models are given (src/plan/scope.ts: what the plan changes, what depends on
 *    it, what those need; a few objects of thousands), the phases then checked against that part's
 *    fingerprints (applyPlan's `expected`); otherwise of the whole managed schema. A rehearsal of the
 *    scope that fails (a step, a post-check, the copy) runs again on the whole schema before anything
 *    is reported: the scope can only make the rehearsal faster, never make it fail. The copy must
 *    have the live schema's (or the part's) fingerprint, or the rehearsal stops (ScratchError). Schema only, unless
 *    `--rehearse-rows N`: then up to N live rows of each table the plan changes, and the rows they
 *    reference, read read-only and loaded before the phases run (rehearse-rows.ts).
 * 3. The plan, phase by phase, with every hazard allowed. For each step: its locks (a transactional
 *    step: read by the applying session itself just before its commit, so every lock it took is
 *    still held; any other step: sampled from a watcher session while it runs) and its duration.
 *    Backfills run without apply's vacuum rounds (apply's housekeeping between batches, taken only
 *    when its lock is free: not a step's lock).
 * 4. Stops (RehearsalError, a zdm bug: exit 4) when a step fails, when a step takes a lock its
 *    declared locks do not cover (`undeclaredLocks`: on a relation it does not declare, or in a mode
 *    that conflicts with something the declared mode lets through; relations the step itself
 *    creates are left out, nobody else can wait for them), when a phase's post-check fails, or when
 *    the schema after contract differs from the desired state (re-planning finds changes). With
 *    rows, a step that fails with a data error (SQLSTATE class 22 or 23) is the data, not zdm:
 *    RehearsalDataError (exit 1) naming the rows; an undeclared lock is still a zdm bug.
 *
 * What it does not prove: see README "Rehearsal". Objects zdm does not manage are not copied; with
 * no rows (the default), durations and data errors are not rehearsed (the data preflight reads those).
 */
import type pg from 'pg';
import { ApplyError, applyPlan, type ExpectedFingerprints, type PlanApplyResult } from '../apply/index.js';
import {
  heldLocks,
  LockWatcher,
  partitionAncestors,
  relationNames,
  strongestLocks,
  undeclaredLocks,
} from '../apply/observe-locks.js';
import { connect, type Queryable } from '../db/connection.js';
import { describeChange } from '../diff/changes.js';
import { diffModels } from '../diff/index.js';
import { InternalError, messageOf, sqlStateOf } from '../errors.js';
import { introspect } from '../introspect/index.js';
import { fingerprint } from '../model/canonical.js';
import { objectKey, subModel, withoutJournal } from '../model/objects.js';
import type { DatabaseModel } from '../model/types.js';
import { planChanges } from '../plan/index.js';
import { type DataCheck, describeRow } from '../plan/preflight.js';
import { type PlanModels, planScope } from '../plan/scope.js';
import { HAZARDS, type ObservedLock, type Plan, type Rehearsal, type RehearsedStep, type Step } from '../plan/types.js';
import { rel } from '../sql/quote.js';
import { ZDM_VERSION } from '../version.js';
import { runPreflight } from './preflight.js';
import {
  isDataError,
  loadRowSample,
  MAX_PARENT_ROUNDS,
  RehearsalDataError,
  type RowSample,
  readRowSample,
  tablesChanged,
} from './rehearse-rows.js';
import { PlanScratch, ScratchError } from './scratch.js';

export interface RehearseOptions {
  /** A server of the live server's major version to rehearse on (scratch.ts); default: an embedded one. */
  readonly scratchUrl?: string;
  /**
   * The plan's scratch server (zdm plan shares one, and starts it early): used instead of starting
   * one, and left running.
   */
  readonly scratch?: PlanScratch;
  /**
   * `zdm plan --rehearse-rows N`: copy up to `limit` live rows of each table the plan changes (and the
   * rows they reference) into the scratch copy first (rehearse-rows.ts), read from `live` read-only.
   * Absent or `limit` 0: schema only.
   */
  readonly rows?: { readonly limit: number; readonly live: Queryable; readonly timeoutMs?: number };
  /**
   * The plan's data checks (src/plan/preflight.ts): when a step fails on the copied rows, those of its
   * table run on the scratch copy to name the rows.
   */
  readonly checks?: readonly DataCheck[];
  /**
   * The plan's models (`planChanges` returns them; the live one is the plan's start): the copy is
   * then only the plan's scope (src/plan/scope.ts). Absent: the whole live schema is copied.
   */
  readonly models?: PlanModels;
  /**
   * A rehearsal on the plan's scope that fails is run again on a copy of the whole schema before
   * it is reported (the scope may have missed something the plan needs). `false` reports it as it
   * is: the tests use it to prove the scope holds.
   */
  readonly scopeFallback?: boolean;
}

/** The plan did not rehearse: a zdm bug (the planner wrote a step that fails or locks more than it says). Exit 4. */
export class RehearsalError extends InternalError {
  override readonly name = 'RehearsalError';
  constructor(
    message: string,
    /** The step that failed or took the undeclared lock; absent for the final schema check. */
    readonly stepId?: string,
    options?: ErrorOptions,
  ) {
    super(
      `rehearsal of the plan on a scratch copy of the live schema failed, nothing was written: ${message}\n` +
        'this is a zdm bug: please report it with the desired state and the live schema (zdm pull); ' +
        '--no-rehearse writes the plan anyway',
      options,
    );
  }
}

/** How a ScratchError about the copy (not the server) begins. */
const COPY_FAILED = 'cannot copy the live schema to the scratch database to rehearse the plan:';

/**
 * The scratch copy of the live schema (or of the plan's part of it) could not be made, or is not
 * that schema: unlike a server that cannot be had, a copy of the whole schema may still succeed.
 */
class ScratchCopyError extends ScratchError {}

/** Why zdm wants a scratch server, in the message when it cannot have one. */
export const REHEARSAL_PURPOSE = 'to rehearse the plan (--no-rehearse skips the rehearsal)';

const NOT_REHEARSED: Rehearsal = { rehearsed: false };

/** The section of a plan that was not rehearsed (`--no-rehearse`). */
export function notRehearsed(): Rehearsal {
  return NOT_REHEARSED;
}

/** Roles the schema names (grantees, policy roles): an embedded scratch server creates them NOLOGIN. */
function rolesOf(...models: DatabaseModel[]): string[] {
  const out = new Set<string>();
  // Every member of every object (two whole models: no entry arrays made, scalars not visited).
  const walk = (v: object): void => {
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') walk(x);
      return;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (x === null || typeof x !== 'object') {
        if (k === 'grantee' && typeof x === 'string') out.add(x);
      } else if (k === 'roles' && Array.isArray(x)) {
        for (const r of x) if (typeof r === 'string') out.add(r);
      } else walk(x);
    }
  };
  for (const m of models) walk(m.schemas);
  for (const m of models) for (const r of Object.values(m.owners ?? {})) out.add(r);
  out.delete('public');
  return [...out].sort();
}

const lockText = (locks: readonly { relation: string; mode: string }[]): string =>
  locks.length === 0 ? 'none' : locks.map((l) => `${l.mode} on ${l.relation}`).join(', ');

const sqlText = (sql: readonly string[]): string => sql.map((q) => `    ${q.replaceAll('\n', '\n    ')}`).join('\n');

/**
 * Builds the live schema in the empty scratch database: the plan from the empty database to the
 * live model, its SQL run in order. Not through the apply engine (no journal, drift checks,
 * post-checks: the copy is not what is being proven, and the plan's own expand drift check then
 * proves the copy has the live schema's fingerprint). The steps that move rows (backfills, copies,
 * verifications) have none to move in an empty database and are left out.
 */
async function copyLiveSchema(scratch: pg.Client, live: DatabaseModel, liveFingerprint: string): Promise<string> {
  const empty = withoutJournal(await introspect(scratch));
  const server = empty.server?.version ?? 'PostgreSQL';
  const copy = planChanges(empty, live, {
    id: '00000000T000000Z-rehearsal-copy',
    createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    zdmVersion: ZDM_VERSION,
    desiredSha256: liveFingerprint,
    serverVersion: server,
    rowCounts: Object.fromEntries(live.schemas.flatMap((s) => s.tables.map((t) => [`${t.schema}.${t.name}`, 0]))),
  }).plan;
  for (const step of copy.phases.flatMap((p) => p.steps)) {
    if (step.kind !== 'sql') continue;
    // A transactional step's statements in one transaction, as apply runs them: its SET LOCALs
    // (check_function_bodies off before a function whose body names a later table) hold. Sent as
    // one query, one round trip (the copy of a large plan's scope is hundreds of statements); when
    // it fails, rolled back and run again statement by statement to say which one failed.
    if (step.transaction) {
      try {
        await scratch.query(['BEGIN', ...step.sql, 'COMMIT'].join(';\n'));
        continue;
      } catch {
        await scratch.query('ROLLBACK');
      }
      await scratch.query('BEGIN');
    }
    for (const sql of step.sql) {
      try {
        await scratch.query(sql);
      } catch (err) {
        if (step.transaction) await scratch.query('ROLLBACK').catch(() => {});
        throw new ScratchCopyError(
          `${COPY_FAILED} ${messageOf(err)}, in:\n${sqlText([sql])}\n` +
            '(give --scratch-url a server that has what the live schema needs, or skip rehearsal with --no-rehearse)',
          { cause: err },
        );
      }
    }
    if (step.transaction) await scratch.query('COMMIT');
  }
  return server;
}

/**
 * Rehearses `plan` (made from `live` towards `desired`) on a scratch copy of the live schema, and
 * returns the plan's `rehearsal` section.
 *
 * @throws RehearsalError naming the step, its SQL and PostgreSQL's message (or the locks it took
 *   beyond its declared ones); ScratchError when no scratch database or copy can be had.
 */
export async function rehearsePlan(
  plan: Plan,
  live: DatabaseModel,
  desired: DatabaseModel,
  options: RehearseOptions = {},
): Promise<Rehearsal> {
  const t0 = performance.now();
  const steps = new Map<string, Step>(plan.phases.flatMap((p) => p.steps.map((s) => [s.id, s] as const)));
  const limit = Math.max(0, Math.floor(options.rows?.limit ?? 0));
  // Read before the scratch copy is made: the live transaction stays as short as the reads.
  const sample =
    options.rows && limit > 0
      ? await readRowSample(
          options.rows.live,
          tablesChanged(plan, live),
          { live, desired },
          {
            limit,
            ...(options.rows.timeoutMs !== undefined ? { timeoutMs: options.rows.timeoutMs } : {}),
          },
        )
      : undefined;
  const own =
    options.scratch === undefined
      ? new PlanScratch({
          major: Math.floor((live.server?.versionNum ?? 0) / 10000),
          purpose: REHEARSAL_PURPOSE,
          ...(options.scratchUrl !== undefined ? { url: options.scratchUrl } : {}),
        })
      : undefined;
  const shared = (options.scratch ?? own)!;
  const scope = scopeOf(plan, live, desired, options.models, sample);
  try {
    await (await shared.server()).createRoles(rolesOf(live, desired));
    if (scope === undefined) return await attempt(undefined);
    try {
      return await attempt(scope);
    } catch (err) {
      if (options.scopeFallback === false || !(err instanceof RehearsalError || err instanceof ScratchCopyError))
        throw err;
      return await attempt(undefined);
    }
  } finally {
    await own?.close();
  }

  /** One rehearsal on a fresh scratch database: of the plan's scope, or of the whole schema. */
  async function attempt(scope: Scope | undefined): Promise<Rehearsal> {
    return await shared.with(async (scratch, info) => {
      const copy = scope ? subModel(withoutJournal(live), scope.keys, scope.stubs) : live;
      const server = await copyLiveSchema(scratch, copy, scope ? fingerprint(copy) : plan.source.fingerprint);
      const copied = sample ? await loadRowSample(scratch, sample) : undefined;
      const pid = (await scratch.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid')).rows[0]!.pid;
      const side = await connect({ url: info.url, source: '--database-url' }, 'zdm rehearsal watcher');
      const rehearsed: RehearsedStep[] = [];
      const durations = new Map<string, number>();
      const lastSql = new Map<string, string>();
      let existing = new Map<string, string>();
      let ancestors = new Map<string, string[]>();
      let watcher: LockWatcher | undefined;
      let held: ObservedLock[] = [];
      let applied: PlanApplyResult | undefined;
      try {
        applied = await applyPlan(scratch, plan, {
          soleWriter: true,
          // As `zdm apply` opens one: a partition swap's copy streams its rows through it (COPY).
          sideConnection: () => connect({ url: info.url, source: '--database-url' }, 'zdm rehearsal (side)'),
          ...(scope ? { expected: scope.expected } : {}),
          allowHazards: HAZARDS,
          pauseMs: 0,
          maxReplicaLagMs: 0,
          // Apply's own housekeeping between batches, not a step's: its SHARE UPDATE EXCLUSIVE is
          // taken only when free (README "What the copy path costs"), and is not what is proven here.
          vacuumEvery: 0,
          onEvent: (e) => {
            if (e.type === 'step-done') durations.set(e.stepId, e.durationMs);
            if (e.type === 'statement') lastSql.set(e.stepId, e.sql);
          },
          testHooks: {
            beforeStep: async (id) => {
              existing = await relationNames(side);
              ancestors = await partitionAncestors(side);
              held = [];
              const step = steps.get(id)!;
              if (step.kind !== 'sql' || !step.transaction) watcher = await LockWatcher.start(side, pid, existing);
            },
            beforeCommit: async () => {
              held = await heldLocks(scratch, existing);
            },
            afterStep: async (id) => {
              if (watcher) held = await watcher.stop();
              watcher = undefined;
              const step = steps.get(id)!;
              const locks = strongestLocks(held);
              rehearsed.push({ id, durationMs: durations.get(id) ?? 0, locks });
              const extra = undeclaredLocks(step.locks, locks, ancestors);
              if (extra.length > 0) {
                throw new RehearsalError(
                  `step ${id} (${step.summary}) took ${lockText(extra)}, which its declared locks ` +
                    `(${lockText(step.locks)}) do not cover; its SQL:\n${sqlText(step.sql)}`,
                  id,
                );
              }
            },
          },
        });
      } catch (err) {
        await watcher?.stop().catch(() => {});
        if (err instanceof RehearsalError) throw err;
        if (err instanceof ApplyError && err.code === 'drift' && !rehearsed.length) {
          throw new ScratchCopyError(
            `${COPY_FAILED} the scratch copy of the live schema is not the live schema (${messageOf(err)}): rehearsal cannot run; ` +
              '--no-rehearse skips it',
            { cause: err },
          );
        }
        const stepId = (err as { details?: { stepId?: string } }).details?.stepId;
        const step = stepId === undefined ? undefined : steps.get(stepId);
        if (step) {
          const cause = (err as { cause?: unknown }).cause ?? err;
          const failing = lastSql.get(step.id);
          if (sample && isDataError(sqlStateOf(cause))) {
            await scratch.query('ROLLBACK').catch(() => {});
            throw await dataFailure(scratch, step, failing, cause, sample, options.checks ?? []);
          }
          throw new RehearsalError(
            `step ${step.id} (${step.summary}) failed: PostgreSQL said: ${messageOf(cause)}; ` +
              `its SQL:\n${sqlText(failing !== undefined ? [failing] : step.sql)}`,
            step.id,
            { cause: err },
          );
        }
        throw new RehearsalError(messageOf(err), undefined, { cause: err });
      } finally {
        await side.end().catch(() => {});
      }
      // The last post-check read the schema after contract: when it has the desired state's
      // fingerprint there is nothing left to find; otherwise read it again to say what differs.
      const after = applied?.phases.at(-1)?.fingerprint;
      const want = scope ? subModel(desired, scope.keys, scope.stubs) : desired;
      const left =
        after !== undefined && after === fingerprint(want)
          ? []
          : diffModels(withoutJournal(await introspect(scratch)), want);
      if (left.length > 0) {
        throw new RehearsalError(
          `after contract the scratch schema still differs from the desired state (${left.length} changes left, ` +
            `the first: ${describeChange(left[0]!)}${fieldsChanged(left[0]!)})`,
        );
      }
      return {
        rehearsed: true,
        server,
        durationMs: Math.round(performance.now() - t0),
        steps: rehearsed,
        ...(sample && copied ? { rows: { limit: sample.limit, tables: copied } } : {}),
        ...(scope ? { scope: { objects: scope.keys.size, of: scope.of } } : {}),
      };
    });
  }
}

/** The part of the schema a rehearsal copies, and the fingerprints of that part before and after each phase. */
interface Scope {
  readonly keys: ReadonlySet<string>;
  /** The tables of `keys` copied as stubs (`stubTable`). */
  readonly stubs: ReadonlySet<string>;
  /** Objects of the live schema (schemas and extensions not counted). */
  readonly of: number;
  readonly expected: ExpectedFingerprints;
}

/**
 * The plan's scope (src/plan/scope.ts) with the tables whose rows `--rehearse-rows` copies, and
 * the fingerprints of that part of each of the plan's models; undefined when the models are not
 * known.
 */
function scopeOf(
  plan: Plan,
  live: DatabaseModel,
  desired: DatabaseModel,
  models: PlanModels | undefined,
  sample: RowSample | undefined,
): Scope | undefined {
  if (models === undefined) return undefined;
  const sampled = (sample?.tables ?? []).map((t) => objectKey('table', t.table.schema, t.table.name));
  const { keys, stubs, objects } = planScope(plan, models, desired, sampled);
  const part = (m: DatabaseModel): string => fingerprint(subModel(m, keys, stubs));
  const before = part(withoutJournal(live));
  const expand = part(models.expand);
  const backfill = part(models.backfill);
  const contract = part(models.contract);
  return {
    keys,
    stubs,
    of: objects,
    expected: {
      expand: { before, after: expand },
      backfill: { before: expand, after: backfill },
      contract: { before: backfill, after: contract },
    },
  };
}

/**
 * A step failed on the rows copied from the live database: the error names the rows (PostgreSQL's
 * detail, and the rows the plan's data checks of the step's table find on the scratch copy) and says
 * this is the data. A foreign key failure is called a possible artefact of the sampling only when
 * the copy did not follow every level of foreign keys (rehearse-rows.ts).
 */
async function dataFailure(
  scratch: pg.Client,
  step: Step,
  failing: string | undefined,
  cause: unknown,
  sample: RowSample,
  checks: readonly DataCheck[],
): Promise<RehearsalDataError> {
  const detail = (cause as { detail?: unknown }).detail;
  const lines = [
    `rehearsal of the plan on a scratch copy of the live schema with live rows (--rehearse-rows ${sample.limit}) ` +
      `failed on those rows, nothing was written: step ${step.id} (${step.summary}) failed: PostgreSQL said: ` +
      `${messageOf(cause)}${typeof detail === 'string' ? ` (${detail})` : ''}; its SQL:\n` +
      sqlText(failing !== undefined ? [failing] : step.sql),
  ];
  const mine = checks.filter((c) => step.sql.some((q) => q.includes(rel(c.table))));
  const outcomes = await runPreflight(scratch, mine, { budgetMs: 10_000 }).catch(() => []);
  for (const o of outcomes) {
    if (o.status !== 'violated') continue;
    lines.push(`  ${o.check.object}: ${o.count} ${o.check.violation} (among the copied rows)`);
    for (const r of o.rows) lines.push(`    ${describeRow(r)}`);
    lines.push(`    what to do: ${o.check.fix}`);
  }
  if (sqlStateOf(cause) === '23503' && !sample.parentsComplete) {
    lines.push(
      'this may be an artefact of the sampling: zdm copied the rows the copied rows reference by foreign key ' +
        `${MAX_PARENT_ROUNDS} levels deep (or could not know which, for a key to a column the plan adds), not beyond, ` +
        'so the referenced row may exist in the live database; the data preflight (on unless --no-preflight) ' +
        'checks every live row; --rehearse-rows 0 rehearses on the schema only',
    );
  } else {
    lines.push(
      'this is the live data, not a zdm bug: the step would fail the same way on the live database' +
        (sqlStateOf(cause) === '23503'
          ? ' (zdm copied the rows the copied rows reference: the referenced row is missing there too)'
          : '') +
        '; fix the rows, or change the desired state',
    );
  }
  return new RehearsalDataError(lines.join('\n'), { cause });
}

/** `: start, cache` — the fields a change from → to alters, when it has both sides. */
function fieldsChanged(change: object): string {
  const { from, to } = change as { from?: unknown; to?: unknown };
  if (from === null || typeof from !== 'object' || to === null || typeof to !== 'object') return '';
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].filter(
    (k) => JSON.stringify((from as Record<string, unknown>)[k]) !== JSON.stringify((to as Record<string, unknown>)[k]),
  );
  return keys.length > 0 ? `: ${keys.sort().join(', ')}` : '';
}

/**
 * One line for `zdm plan`: `rehearsal: 5 steps applied to a scratch copy of the live schema (the 4 of its
 * 519 objects the plan needs) on PostgreSQL 18.4 in 812 ms, every lock taken as declared`.
 */
export function rehearsalSummary(r: Rehearsal): string {
  if (!r.rehearsed) return 'rehearsal: skipped (--no-rehearse): the plan says it was not rehearsed';
  const rows = r.rows ? Object.values(r.rows.tables).reduce((a, b) => a + b, 0) : 0;
  const tables = r.rows ? Object.keys(r.rows.tables).length : 0;
  return (
    `rehearsal: ${r.steps.length} steps applied to a scratch copy of the live schema` +
    `${r.scope ? ` (the ${r.scope.objects} of its ${r.scope.of} objects the plan needs)` : ''}` +
    `${r.rows ? ` with ${rows} live rows of ${tables} tables` : ''} on ${r.server} ` +
    `in ${r.durationMs} ms, every lock taken as declared`
  );
}
