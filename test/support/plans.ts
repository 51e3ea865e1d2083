/**
 * Hand-made plans for the apply tests. The planner is not involved: a test lists the steps, and
 * `buildPlan` computes what the planner would have recorded around them — each phase's `before` /
 * `after` fingerprints and per-object fingerprints — by introspecting the test database now and
 * after running the steps' SQL inside a transaction that is rolled back (CONCURRENTLY removed,
 * since it cannot run in a transaction block; backfills change no schema). The checksum is the real
 * one (src/plan/checksum.ts).
 */
import type pg from 'pg';
import { introspect } from '../../src/introspect/index.js';
import { fingerprint, sha256 } from '../../src/model/canonical.js';
import { ABSENT, objectFingerprints, withoutJournal } from '../../src/model/objects.js';
import { computeChecksum } from '../../src/plan/checksum.js';
import type { BackfillStep, Hazard, LockInfo, Phase, PhaseName, Plan, SqlStep, Step } from '../../src/plan/types.js';

/** The plan with its checksum (re)computed by the planner's own function. */
export function withChecksum(plan: Omit<Plan, 'checksum'> | Plan): Plan {
  const { checksum: _old, ...body } = plan as Plan;
  return { ...body, checksum: computeChecksum(body) };
}

export interface SqlStepOptions {
  readonly summary?: string;
  readonly transaction?: boolean;
  readonly locks?: readonly LockInfo[];
  readonly hazards?: readonly Hazard[];
  readonly concurrentIndex?: { readonly schema: string; readonly name: string };
}

export function sqlStep(id: string, sql: string | readonly string[], options: SqlStepOptions = {}): SqlStep {
  const statements = typeof sql === 'string' ? [sql] : sql;
  return {
    kind: 'sql',
    id,
    summary: options.summary ?? statements[0]!.replace(/\s+/g, ' ').slice(0, 80),
    sql: statements,
    transaction: options.transaction ?? true,
    locks: options.locks ?? [],
    hazards: options.hazards ?? [],
    ...(options.concurrentIndex ? { concurrentIndex: options.concurrentIndex } : {}),
  };
}

export function backfillStep(
  id: string,
  table: string,
  set: Readonly<Record<string, string>>,
  options: { readonly where?: string; readonly batchSize?: number; readonly hazards?: readonly Hazard[] } = {},
): BackfillStep {
  const dot = table.indexOf('.');
  const schema = dot > 0 ? table.slice(0, dot) : 'public';
  const name = dot > 0 ? table.slice(dot + 1) : table;
  return {
    kind: 'backfill',
    id,
    summary: `backfill ${schema}.${name}`,
    transaction: false,
    table: { schema, name },
    set,
    where: options.where ?? '',
    batchSize: options.batchSize ?? 1000,
    locks: [{ relation: `${schema}.${name}`, mode: 'ROW EXCLUSIVE', hold: 'scan' }],
    hazards: options.hazards ?? ['long-running'],
    sql: [`UPDATE ${schema}.${name} SET … WHERE key > $cursor AND key <= $upper`],
  };
}

export interface PlanSpec {
  readonly id: string;
  readonly expand?: readonly Step[];
  readonly backfill?: readonly Step[];
  readonly contract?: readonly Step[];
}

async function snapshot(
  client: pg.Client,
  inTransaction: boolean,
): Promise<{ fingerprint: string; objects: Record<string, string> }> {
  const model = withoutJournal(await introspect(client, inTransaction ? { inTransaction: true } : {}));
  return { fingerprint: fingerprint(model), objects: objectFingerprints(model) };
}

const inTransactionForm = (sql: string): string => sql.replace(/\s+CONCURRENTLY\b/gi, '');

/** Builds a plan of the given steps against the database as it is now (see the module comment). */
export async function buildPlan(client: pg.Client, spec: PlanSpec): Promise<Plan> {
  const start = await snapshot(client, false);
  const server = await client.query<{ v: string }>(`SELECT pg_catalog.current_setting('server_version') AS v`);
  const phases: Phase[] = [];
  await client.query('BEGIN');
  try {
    let before = start;
    for (const name of ['expand', 'backfill', 'contract'] as const satisfies readonly PhaseName[]) {
      const steps = spec[name] ?? [];
      for (const step of steps) {
        if (step.kind !== 'sql') continue;
        for (const sql of step.sql) await client.query(inTransactionForm(sql));
      }
      const after = await snapshot(client, true);
      const touched = new Set<string>();
      for (const key of new Set([...Object.keys(before.objects), ...Object.keys(after.objects)])) {
        if (before.objects[key] !== after.objects[key]) touched.add(key);
      }
      for (const step of steps) {
        if (step.kind === 'backfill') touched.add(`table ${step.table.schema}.${step.table.name}`);
      }
      const objects: Record<string, string> = {};
      const objectsAfter: Record<string, string> = {};
      for (const key of [...touched].sort()) {
        objects[key] = before.objects[key] ?? ABSENT;
        objectsAfter[key] = after.objects[key] ?? ABSENT;
      }
      phases.push({ name, before: before.fingerprint, after: after.fingerprint, objects, objectsAfter, steps });
      before = after;
    }
  } finally {
    await client.query('ROLLBACK');
  }
  return withChecksum({
    version: 1,
    id: spec.id,
    zdm: '0.1.0',
    createdAt: '2026-01-01T00:00:00Z',
    source: {
      desiredSha256: sha256('apply tests'),
      server: `PostgreSQL ${server.rows[0]!.v}`,
      fingerprint: start.fingerprint,
    },
    phases,
  });
}
