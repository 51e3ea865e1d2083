/**
 * `zdm status`: what the journal says, as plain JSON-serializable data.
 */
import type { Queryable } from '../db/connection.js';
import { assertNever } from '../errors.js';
import { JOURNAL_SCHEMA } from '../model/objects.js';
import { type VersionSchema, versionOfComment, versionSearchPath } from '../model/versions.js';
import { PHASES, type PhaseName, type Plan, type Step } from '../plan/types.js';
import { VERSION_SCHEMAS_SQL } from '../sql/version-schemas.js';
import type { LockHolder } from './errors.js';
import { journalVersion, readPlanJournal } from './journal.js';
import { advisoryHolder } from './locks.js';
import { type OldWritesStatus, oldWritesGates, readOldWrites } from './old-writes.js';

export interface StepStatusReport {
  readonly id: string;
  readonly kind: Step['kind'];
  readonly summary: string;
  readonly status: 'pending' | 'started' | 'done' | 'failed';
  readonly attempts: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly error?: string;
  readonly backfill?: BackfillStatusReport;
}

/** Progress of a batched step (a backfill, or the copy of a partition swap) from its journaled cursor. */
export interface BackfillStatusReport {
  readonly planId: string;
  readonly stepId: string;
  /** `schema.table` */
  readonly table: string;
  readonly rowsDone: number;
  readonly batchesDone: number;
  /** The journaled position: `{strategy, columns, last}` or `{strategy: 'ctid', nextBlock, endBlock}`. */
  readonly cursor: unknown;
  readonly done: boolean;
  readonly updatedAt: string;
  /** pg_class.reltuples of the table now (null when never analyzed). */
  readonly estimatedTotal: number | null;
}

export interface PhaseStatusReport {
  readonly name: PhaseName;
  readonly status: 'pending' | 'in-progress' | 'done';
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly stepsDone: number;
  readonly stepsTotal: number;
  readonly steps: readonly StepStatusReport[];
}

export interface PlanStatusReport {
  readonly id: string;
  readonly checksum: string;
  readonly firstAppliedAt: string;
  /** Some phase started and not every phase is done: `zdm plan` refuses to plan on top of it. */
  readonly inFlight: boolean;
  /** The first phase not done (absent when every phase is done). */
  readonly nextPhase?: PhaseName;
  readonly phases: readonly PhaseStatusReport[];
}

export interface StatusReport {
  readonly journal: { readonly schema: string; readonly exists: boolean; readonly version?: number };
  /** The session running `zdm apply` now, if any. */
  readonly activeApply?: LockHolder;
  /** Oldest first. */
  readonly plans: readonly PlanStatusReport[];
  /** Batched steps (backfills, a partition swap's copy) started and not done, over every plan. */
  readonly backfillsInProgress: readonly BackfillStatusReport[];
  /**
   * The contract gate: each renamed column between expand and contract (its contract step not
   * done), with the last write of the old application version (src/apply/old-writes.ts).
   */
  readonly oldWrites: readonly OldWritesStatus[];
  /**
   * The live version schemas (`--renames views`): each application version's schema, with the
   * search_path it connects with. Empty when none.
   */
  readonly versions: readonly (VersionSchema & { readonly searchPath: string })[];
}

async function liveVersions(client: Queryable): Promise<StatusReport['versions']> {
  const r = await client.query<{ name: string; comment: string }>(VERSION_SCHEMAS_SQL);
  return r.rows.flatMap((row) => {
    const v = versionOfComment(row.name, row.comment);
    return v === undefined ? [] : [{ ...v, searchPath: versionSearchPath(v) }];
  });
}

/** The table a batched step walks (a backfill's table, a copy's source), whose progress status reports. */
function batchedTable(step: Step): { readonly schema: string; readonly name: string } | undefined {
  switch (step.kind) {
    case 'backfill':
      return step.table;
    case 'copy':
      return step.from;
    case 'sql':
    case 'verify':
      return undefined;
    default:
      return assertNever(step);
  }
}

export async function planStatus(client: Queryable): Promise<StatusReport> {
  const holder = await advisoryHolder(client);
  const active = holder ? { activeApply: holder } : {};
  const version = await journalVersion(client);
  if (version === null) {
    return {
      journal: { schema: JOURNAL_SCHEMA, exists: false },
      ...active,
      plans: [],
      backfillsInProgress: [],
      versions: await liveVersions(client),
      oldWrites: [],
    };
  }
  const rows = await client.query<{ plan: Plan }>(
    `SELECT plan FROM ${JOURNAL_SCHEMA}.plans ORDER BY first_applied_at, plan_id`,
  );
  const plans: PlanStatusReport[] = [];
  const inProgress: BackfillStatusReport[] = [];
  const oldWrites: OldWritesStatus[] = [];
  for (const { plan } of rows.rows) {
    const j = await readPlanJournal(client, plan.id);
    if (!j) continue;
    const gates = oldWritesGates(plan).filter((g) => j.steps.get(g.stepId)?.status !== 'done');
    if (j.phases.has('expand'))
      oldWrites.push(...(await readOldWrites(client, plan.id, gates)).filter((x) => x.tracked));
    const phases: PhaseStatusReport[] = [];
    for (const phase of [...plan.phases].sort((a, b) => PHASES.indexOf(a.name) - PHASES.indexOf(b.name))) {
      const steps: StepStatusReport[] = [];
      for (const step of phase.steps) {
        const row = j.steps.get(step.id);
        const cursor = j.cursors.get(step.id);
        let backfill: BackfillStatusReport | undefined;
        const table = batchedTable(step);
        if (table && cursor) {
          const est = await client.query<{ reltuples: number | null }>(
            `SELECT c.reltuples::float8 AS reltuples FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
            [table.schema, table.name],
          );
          const reltuples = est.rows[0]?.reltuples ?? null;
          backfill = {
            planId: plan.id,
            stepId: step.id,
            table: `${table.schema}.${table.name}`,
            rowsDone: cursor.rowsDone,
            batchesDone: cursor.batchesDone,
            cursor: cursor.lastKey,
            done: cursor.done,
            updatedAt: cursor.updatedAt,
            estimatedTotal: reltuples !== null && reltuples >= 0 ? Math.round(reltuples) : null,
          };
          if (!cursor.done) inProgress.push(backfill);
        }
        steps.push({
          id: step.id,
          kind: step.kind,
          summary: step.summary,
          status: row?.status ?? 'pending',
          attempts: row?.attempts ?? 0,
          ...(row ? { startedAt: row.startedAt } : {}),
          ...(row?.finishedAt ? { finishedAt: row.finishedAt } : {}),
          ...(row?.error ? { error: row.error } : {}),
          ...(backfill ? { backfill } : {}),
        });
      }
      const p = j.phases.get(phase.name);
      phases.push({
        name: phase.name,
        status: p?.status === 'done' ? 'done' : p ? 'in-progress' : 'pending',
        ...(p ? { startedAt: p.startedAt } : {}),
        ...(p?.finishedAt ? { finishedAt: p.finishedAt } : {}),
        stepsDone: steps.filter((st) => st.status === 'done').length,
        stepsTotal: steps.length,
        steps,
      });
    }
    const next = phases.find((p) => p.status !== 'done');
    plans.push({
      id: plan.id,
      checksum: j.checksum,
      firstAppliedAt: j.firstAppliedAt,
      inFlight: next !== undefined && phases.some((p) => p.status !== 'pending'),
      ...(next ? { nextPhase: next.name } : {}),
      phases,
    });
  }
  return {
    journal: { schema: JOURNAL_SCHEMA, exists: true, version },
    ...active,
    plans,
    backfillsInProgress: inProgress,
    versions: await liveVersions(client),
    oldWrites,
  };
}
