/**
 * The lock-queue guard (src/apply/guard.ts) in the situation that stalls applications in production:
 * a long transaction on the table being changed while the application keeps writing and reading it.
 *
 * Every scenario: `orders` of 50,000 rows, three application clients (two updating rows by id, one
 * reading rows by id) running the whole time, and a blocker on `orders` that zdm finds there when it
 * arrives: a reporting transaction holding ACCESS SHARE for 6 s (`BEGIN; SELECT count(*) FROM
 * orders; SELECT pg_sleep(6); COMMIT`), or a session idle in transaction that holds a row lock
 * (ROW EXCLUSIVE on the table). The step is planned by the real planner and applied with the
 * default flags. Before the guard, the step's lock request queued behind the blocker, and every
 * application statement queued behind the request for the whole lock timeout (3 s), try after try.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queuesApplication } from '../../src/apply/guard.js';
import { type ApplyEvent, type ApplyOptions, applyPhase } from '../../src/apply/index.js';
import { PG_LOCK_NAME } from '../../src/plan/locks.js';
import { LOCK_MODES, type PhaseName, type Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { buildPlan, sqlStep } from '../support/plans.js';
import { startWorkload, type WorkloadReport } from '../support/workload.js';

const ROWS = 50_000;
const REPORT_SECONDS = 6;
const IDLE_SECONDS = 4;
/** The application's worst statement while zdm applies the step: the issue's bar. */
const WORST_MS = 300;

const SETUP = `
DROP SCHEMA IF EXISTS zdm CASCADE;
DROP SCHEMA public CASCADE;
CREATE SCHEMA public;
CREATE TABLE public.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL,
  amount numeric(10,2) NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  created_at timestamptz NOT NULL
);
INSERT INTO public.orders (customer_id, amount, status, created_at)
  SELECT 1 + g % 500, 1 + g % 400, 'pending', timestamptz '2024-01-01' + g * interval '30 minutes'
    FROM generate_series(1, ${ROWS}) g;
ANALYZE public.orders;
`;

const COLUMNS = `
          id: { type: bigint, identity: always, nullable: false }
          customer_id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
          created_at: { type: timestamptz, nullable: false }`;

const desired = (extra: { columns?: string; status?: string; body?: string; pk?: string }): string => `version: 1
schemas:
  public:
    tables:
      orders:
        columns:${COLUMNS}
          ${extra.status ?? `status: { type: text, nullable: false, default: "'pending'" }`}${extra.columns ?? ''}
        primaryKey: { columns: [${extra.pk ?? 'id'}] }
${extra.body ?? ''}`;

/** The four steps the issue names, and the concurrent build. */
const SCENARIOS = {
  check: {
    yaml: desired({ body: '        checks:\n          chk_orders_amount_positive: { expression: amount > 0 }\n' }),
    phase: 'expand',
    step: /add check|NOT VALID/i,
  },
  column: {
    yaml: desired({ columns: '\n          note: { type: text }' }),
    phase: 'expand',
    step: /add column/i,
  },
  trigger: {
    // A rename's expand step: the new column and the two-way sync trigger, in one transaction.
    yaml: desired({ status: `state: { type: text, nullable: false, default: "'pending'", renamedFrom: status }` }),
    phase: 'expand',
    step: /trigger/i,
  },
  swap: {
    yaml: desired({
      pk: 'id, created_at',
      body: `        partitionBy: { strategy: range, columns: [created_at] }
        partitions:
          orders_2024: { from: ['2024-01-01'], to: ['2025-01-01'] }
          orders_2025: { from: ['2025-01-01'], to: ['2026-01-01'] }
          orders_2026: { from: ['2026-01-01'], to: ['2027-01-01'] }
          orders_default: { default: true }
`,
    }),
    phase: 'contract',
    step: /^swap /,
  },
  index: {
    yaml: desired({ body: '        indexes:\n          idx_orders_created_at: { columns: [created_at] }\n' }),
    phase: 'expand',
    step: /index/i,
  },
} as const;
type ScenarioName = keyof typeof SCENARIOS;

const ALLOW = ['long-running', 'data-loss', 'app-compat'] as const;

interface Blocker {
  readonly pid: number;
  /** Settles when the blocker's transaction has ended: how long it held, and its error if it was ended. */
  readonly done: Promise<{ readonly heldMs: number; readonly error?: string }>;
}

interface Run {
  readonly events: ApplyEvent[];
  readonly report: WorkloadReport;
  readonly blocker: Blocker;
  readonly blockerEnded: { readonly heldMs: number; readonly error?: string };
  readonly stepDoneAt: number;
  readonly blockerStartedAt: number;
  readonly elapsedMs: number;
}

describe('zdm apply beside a long transaction on the table, under an application workload', () => {
  let db: TestDatabase;
  let dir: string;
  const app: pg.Client[] = [];
  beforeAll(async () => {
    db = await freshDatabase('apply lock guard');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-guard-'));
    for (let k = 0; k < 3; k++) app.push(await db.connect());
  });
  afterAll(async () => {
    for (const c of app) await c.end().catch(() => {});
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Two clients update rows by id, one reads them; never row 1, which the idle blocker holds. */
  const appStatement = (i: number, k: number) => {
    const id = 2 + Math.floor(Math.random() * (ROWS - 1));
    if (k === 2) return { sql: 'SELECT id, amount, created_at FROM public.orders WHERE id = $1', values: [id] };
    return { sql: 'UPDATE public.orders SET amount = $2 WHERE id = $1', values: [id, 1 + ((i + k) % 300)] };
  };

  async function reportingTransaction(): Promise<Blocker> {
    const c = await db.connect();
    await c.query(`SET application_name = 'nightly report'`);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await c.query('BEGIN');
    await c.query('SELECT count(*) FROM public.orders');
    const t0 = performance.now();
    const done = c
      .query('SELECT pg_sleep($1)', [REPORT_SECONDS])
      .then(() => c.query('COMMIT'))
      .then(
        () => ({ heldMs: performance.now() - t0 }),
        (err: Error) => ({ heldMs: performance.now() - t0, error: err.message }),
      )
      .finally(() => c.end().catch(() => {}));
    return { pid, done };
  }

  async function idleInTransaction(): Promise<Blocker> {
    const c = await db.connect();
    await c.query(`SET application_name = 'forgotten psql'`);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await c.query('BEGIN');
    await c.query('UPDATE public.orders SET amount = amount WHERE id = 1');
    const t0 = performance.now();
    // Ends with its COMMIT, or earlier when its connection is closed from the server (terminated).
    const closed = new Promise<{ heldMs: number; error: string }>((resolve) =>
      c.once('end', () => resolve({ heldMs: performance.now() - t0, error: 'its connection was closed' })),
    );
    const committed = new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000)).then(() =>
      c.query('COMMIT').then(() => ({ heldMs: performance.now() - t0 })),
    );
    const done = Promise.race([closed, committed.catch(() => closed)]).finally(() => c.end().catch(() => {}));
    return { pid, done };
  }

  /**
   * Plans `name`, applies the phases before the measured one quietly, then applies the measured
   * phase with the workload running and the blocker in place since a second before.
   */
  interface Scenario {
    readonly phase: PhaseName;
    /** The summary of the step the scenario is about. */
    readonly step: RegExp;
  }

  /** Sets the table up again and plans scenario `name` with the real planner. */
  async function planned(name: ScenarioName, blockerKind: string): Promise<{ plan: Plan; sc: Scenario }> {
    const sc = SCENARIOS[name];
    await db.exec(SETUP);
    const file = path.join(dir, `${name}-${blockerKind}.yaml`);
    await writeFile(file, sc.yaml);
    return { plan: (await makePlan(db.client, { desiredPath: file, name: `${name}-${blockerKind}` })).plan, sc };
  }

  async function run(
    name: ScenarioName | { readonly plan: Plan; readonly sc: Scenario },
    blockerKind: 'report' | 'idle',
    options: Partial<ApplyOptions> = {},
  ): Promise<Run> {
    const { plan, sc } = typeof name === 'string' ? await planned(name, blockerKind) : name;
    for (const phase of ['expand', 'backfill'] as const) {
      if (phase === sc.phase) break;
      await applyPhase(db.client, plan, { phase, allowHazards: [...ALLOW], pauseMs: 0 });
    }
    const workload = startWorkload(app, appStatement);
    const blocker = blockerKind === 'report' ? await reportingTransaction() : await idleInTransaction();
    const blockerStartedAt = performance.now();
    // zdm arrives while the blocker is already at it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const events: ApplyEvent[] = [];
    let stepDoneAt = Number.NaN;
    let elapsedMs = 0;
    let report: WorkloadReport | undefined;
    const t0 = performance.now();
    try {
      await applyPhase(db.client, plan, {
        phase: sc.phase,
        allowHazards: [...ALLOW],
        sideConnection: () => db.connect(),
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step-done' && Number.isNaN(stepDoneAt)) {
            const step = plan.phases.flatMap((p) => p.steps).find((s) => s.id === e.stepId);
            if (step && sc.step.test(step.summary)) stepDoneAt = performance.now();
          }
        },
        ...options,
      });
    } finally {
      elapsedMs = performance.now() - t0;
      report = await workload.stop();
    }
    const blockerEnded = await blocker.done;
    expect(Number.isNaN(stepDoneAt), `no step matching ${sc.step} was done`).toBe(false);
    console.log(
      `${typeof name === 'string' ? name : plan.id} beside ${blockerKind === 'report' ? `a ${REPORT_SECONDS} s reporting transaction` : 'an idle transaction holding a row lock'}` +
        `${options.cancelBlockersAfterMs !== undefined ? ` (--cancel-blockers-after ${options.cancelBlockersAfterMs} ms${options.terminateBlockers ? ' --terminate-blockers' : ''})` : ''}: ` +
        `application ${report.statements} statements, ${report.errors.length} errors, p50 ${report.p50Ms.toFixed(1)} ms, ` +
        `p99 ${report.p99Ms.toFixed(1)} ms, worst ${report.maxMs.toFixed(0)} ms; phase ${sc.phase} took ${elapsedMs.toFixed(0)} ms, ` +
        `${events.filter((e) => e.type === 'lock-retry').length} timed-out tries; the blocker held ${blockerEnded.heldMs.toFixed(0)} ms` +
        `${blockerEnded.error ? ` and was ended: ${blockerEnded.error}` : ''}`,
    );
    return { events, report, blocker, blockerEnded, stepDoneAt, blockerStartedAt, elapsedMs };
  }

  function expectGuarded(r: Run, where: 'guard' | 'statement' = 'guard'): void {
    expect(r.report.errors).toEqual([]);
    expect(r.report.statements).toBeGreaterThan(100);
    expect(r.report.maxMs).toBeLessThan(WORST_MS);
    // zdm saw the blocker and said so on the progress line while it waited.
    const waits = r.events.filter((e) => e.type === 'lock-wait' && e.where === where);
    expect(waits.length).toBeGreaterThan(0);
    const named = waits.flatMap((e) => (e.type === 'lock-wait' ? e.blockers.map((b) => b.pid) : []));
    expect(named).toContain(r.blocker.pid);
    expect(waits.at(-1)!.message).toMatch(where === 'guard' ? /without queueing/ : /waits for older transactions/);
  }

  describe.each(['report', 'idle'] as const)('the blocker: %s', (blockerKind) => {
    it.each([
      'check',
      'column',
      'trigger',
      'swap',
    ] as const)('%s: zdm waits without queueing, then applies the step; the application never waits 300 ms', async (name) => {
      const r = await run(name, blockerKind);
      expectGuarded(r);
      // The step went through only once the blocker had ended (nothing cancelled it).
      expect(r.blockerEnded.error).toBeUndefined();
      expect(r.stepDoneAt - r.blockerStartedAt).toBeGreaterThanOrEqual(r.blockerEnded.heldMs - 50);
    }, 90_000);
  });

  it('--cancel-blockers-after: the report is cancelled, listed and journaled, and the step goes through', async () => {
    const r = await run('check', 'report', { cancelBlockersAfterMs: 1000 });
    expectGuarded(r);
    expect(r.blockerEnded.error).toMatch(/canceling statement due to user request/);
    expect(r.blockerEnded.heldMs).toBeLessThan((REPORT_SECONDS - 2) * 1000);
    const actions = r.events.filter((e) => e.type === 'blocker-action');
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ action: 'cancel', signalled: true, blocker: { pid: r.blocker.pid } });
    expect(actions[0]!.message).toMatch(/cancelled pid \d+ \[nightly report\] active/);
    const journal = await db.query(
      'SELECT step_id, action, pid, application_name, state, signalled FROM zdm.blocker_actions',
    );
    expect(journal).toEqual([
      {
        step_id: 'expand.1',
        action: 'cancel',
        pid: r.blocker.pid,
        application_name: 'nightly report',
        state: 'active',
        signalled: true,
      },
    ]);
  }, 90_000);

  it('--terminate-blockers: an idle transaction (a cancel does not reach it) is terminated, and the step goes through', async () => {
    const r = await run('column', 'idle', { cancelBlockersAfterMs: 1000, terminateBlockers: true });
    expectGuarded(r);
    expect(r.blockerEnded.error).toBeDefined();
    expect(r.blockerEnded.heldMs).toBeLessThan((IDLE_SECONDS - 1) * 1000);
    const actions = r.events.filter((e) => e.type === 'blocker-action');
    expect(actions.map((a) => a.type === 'blocker-action' && [a.action, a.blocker.pid, a.signalled])).toEqual([
      ['terminate', r.blocker.pid, true],
    ]);
    const journal = await db.query<{ action: string; state: string }>('SELECT action, state FROM zdm.blocker_actions');
    expect(journal).toEqual([{ action: 'terminate', state: 'idle in transaction' }]);
  }, 90_000);

  /**
   * Samples, every 20 ms while the applying session runs a statement starting with `prefix`, the
   * locks it holds or waits for on the relations `oids` (by oid: REINDEX swaps the names).
   */
  async function sampleLocks(prefix: string, oids: () => readonly number[]) {
    const observer = await db.connect();
    const applyPid = (await db.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const samples: { relation: string; mode: string; granted: boolean }[] = [];
    let sampling = true;
    const loop = (async () => {
      while (sampling) {
        const r = await observer.query<{ relation: string; mode: string; granted: boolean }>(
          `SELECT l.relation::regclass::text AS relation, l.mode, l.granted FROM pg_locks l
            WHERE l.pid = $1 AND l.locktype = 'relation' AND l.relation = ANY ($2::oid[])
              AND EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = l.pid AND a.state = 'active' AND a.query LIKE $3)`,
          [applyPid, oids(), `${prefix}%`],
        );
        samples.push(...r.rows);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return {
      stop: async () => {
        sampling = false;
        await loop;
        await observer.end();
        const queueing = LOCK_MODES.filter(queuesApplication).map((m) => PG_LOCK_NAME[m]);
        return {
          samples,
          queueing: samples.filter((x) => queueing.includes(x.mode)),
          seen: [...new Set(samples.map((x) => `${x.relation}:${x.mode}${x.granted ? '' : ' (waiting)'}`))],
        };
      },
    };
  }

  /** The table and every index of it: what the application's queries lock (ACCESS SHARE on each, when planned). */
  const tableAndIndexes = async (): Promise<number[]> =>
    (
      await db.query<{ oid: number }>(
        `SELECT 'public.orders'::regclass::oid::int8 AS oid
         UNION ALL SELECT indexrelid::int8 FROM pg_index WHERE indrelid = 'public.orders'::regclass`,
      )
    ).map((r) => Number(r.oid));

  function expectOneTry(r: Run, stepId: string): void {
    const stepEvents = r.events.filter((e) => 'stepId' in e && e.stepId === stepId);
    expect(stepEvents.filter((e) => e.type === 'lock-retry' || e.type === 'leftover-dropped')).toEqual([]);
    expect(stepEvents.find((e) => e.type === 'step-done')).toMatchObject({ attempts: 1 });
  }

  it('a concurrent index build beside the report waits for it in one try: no INVALID index dropped, no lock the application queues behind', async () => {
    const p = await planned('index', 'report');
    const oids = await tableAndIndexes();
    const locks = await sampleLocks('CREATE INDEX CONCURRENTLY', () => oids);
    let sampled: Awaited<ReturnType<typeof locks.stop>>;
    try {
      const r = await run(p, 'report');
      expectGuarded(r, 'statement');
      expect(r.blockerEnded.error).toBeUndefined();
      expectOneTry(r, 'expand.1');
      const ix = await db.query(
        `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.idx_orders_created_at'::regclass`,
      );
      expect(ix).toEqual([{ valid: true }]);
    } finally {
      sampled = await locks.stop();
    }
    expect(sampled.samples.length).toBeGreaterThan(0);
    expect(sampled.queueing).toEqual([]);
    console.log(
      `CREATE INDEX CONCURRENTLY beside the report, its locks on orders and its indexes: ${sampled.seen.join(', ')}`,
    );
  }, 90_000);

  it('REINDEX CONCURRENTLY beside the report (which holds ACCESS SHARE on the index too): through its swap and drop, one try, no lock the application queues behind', async () => {
    await db.exec(SETUP);
    await db.exec('CREATE INDEX idx_orders_created_at ON public.orders (created_at)');
    const plan = await buildPlan(db.client, {
      id: 'reindex-report',
      expand: [
        sqlStep('expand.1', 'REINDEX INDEX CONCURRENTLY public.idx_orders_created_at', {
          transaction: false,
          concurrentIndex: { schema: 'public', name: 'idx_orders_created_at' },
          locks: [{ relation: 'public.orders', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }],
        }),
      ],
    });
    const oids = await tableAndIndexes();
    const locks = await sampleLocks('REINDEX', () => oids);
    let sampled: Awaited<ReturnType<typeof locks.stop>>;
    try {
      const r = await run({ plan, sc: { phase: 'expand', step: /REINDEX/ } }, 'report');
      expectGuarded(r, 'statement');
      expectOneTry(r, 'expand.1');
      // The report planned its count with the table's indexes: REINDEX waited for it to swap and drop.
      expect(r.stepDoneAt - r.blockerStartedAt).toBeGreaterThanOrEqual(r.blockerEnded.heldMs - 50);
      const ix = await db.query<{ relname: string; valid: boolean }>(
        `SELECT c.relname, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'public.orders'::regclass ORDER BY 1`,
      );
      expect(ix).toEqual([
        { relname: 'idx_orders_created_at', valid: true },
        { relname: 'orders_pkey', valid: true },
      ]);
    } finally {
      sampled = await locks.stop();
    }
    expect(sampled.samples.length).toBeGreaterThan(0);
    expect(sampled.queueing).toEqual([]);
    console.log(
      `REINDEX CONCURRENTLY beside the report, its locks on orders and its indexes: ${sampled.seen.join(', ')}`,
    );
  }, 90_000);
});
