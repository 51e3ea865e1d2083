/**
 * Crash safety, with real SIGKILLs of a child process running the apply (test/support/apply-child.ts,
 * run from the TypeScript sources through test/support/ts-loader.mjs): the next run finishes the
 * phase, runs no step twice and skips none, and a backfill continues from its last committed batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplyEvent, applyPhase } from '../../src/apply/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { backfillStep, buildPlan, sqlStep } from '../support/plans.js';
import { spawnApply } from '../support/spawn-apply.js';

describe('zdm apply: resume after a killed apply', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('apply resume');
    await db.exec(
      `CREATE TABLE public.step_runs (step text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** A SIGKILLed client's server backend lives on until it notices; wait for it to be gone. */
  async function backendGone(pid: number): Promise<void> {
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const r = await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (r.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`backend ${pid} still there`);
  }

  const runs = async (): Promise<Record<string, number>> =>
    Object.fromEntries(
      (
        await db.query<{ step: string; n: number }>(
          'SELECT step, count(*)::int AS n FROM public.step_runs GROUP BY step ORDER BY step',
        )
      ).map((r) => [r.step, r.n]),
    );

  it('a run killed between steps is finished by the next one, no step run twice', async () => {
    await db.exec(`CREATE TABLE public.rs (id int PRIMARY KEY, v int);
                   INSERT INTO public.rs SELECT g, g FROM generate_series(1, 1000) g`);
    await db.exec('TRUNCATE public.step_runs');
    const ael = [{ relation: 'public.rs', mode: 'ACCESS EXCLUSIVE' as const, hold: 'instant' as const }];
    const plan = await buildPlan(db.client, {
      id: 'p-resume-steps',
      expand: [
        sqlStep(
          'expand.1',
          ['ALTER TABLE public.rs ADD COLUMN a int', `INSERT INTO public.step_runs VALUES ('expand.1')`],
          { locks: ael },
        ),
        sqlStep(
          'expand.2',
          ['CREATE INDEX CONCURRENTLY rs_a_idx ON public.rs (a)', `INSERT INTO public.step_runs VALUES ('expand.2')`],
          { transaction: false, concurrentIndex: { schema: 'public', name: 'rs_a_idx' } },
        ),
        sqlStep(
          'expand.3',
          ['ALTER TABLE public.rs ADD COLUMN b int', `INSERT INTO public.step_runs VALUES ('expand.3')`],
          { locks: ael },
        ),
        sqlStep(
          'expand.4',
          ['ALTER TABLE public.rs ADD COLUMN c int', `INSERT INTO public.step_runs VALUES ('expand.4')`],
          { locks: ael },
        ),
      ],
    });
    const child = await spawnApply(db.url, plan, { phase: 'expand' }, { holdAfterStep: 'expand.2' });
    const { pid } = (await child.waitFor((l) => typeof l.pid === 'number')) as { pid: number };
    await child.waitFor((l) => l.hook === 'afterStep' && l.stepId === 'expand.2');
    await child.kill();
    await backendGone(pid);

    expect(await runs()).toEqual({ 'expand.1': 1, 'expand.2': 1 });
    const before = await db.query<{ step_id: string; status: string }>(
      `SELECT step_id, status FROM zdm.steps WHERE plan_id = 'p-resume-steps' ORDER BY step_id`,
    );
    expect(before).toEqual([
      { step_id: 'expand.1', status: 'done' },
      { step_id: 'expand.2', status: 'done' },
    ]);

    const events: ApplyEvent[] = [];
    const result = await applyPhase(db.client, plan, { phase: 'expand', onEvent: (e) => events.push(e) });
    expect(result.resumed).toBe(true);
    expect(result.steps.map((s) => s.outcome)).toEqual(['skipped', 'skipped', 'applied', 'applied']);
    expect(await runs()).toEqual({ 'expand.1': 1, 'expand.2': 1, 'expand.3': 1, 'expand.4': 1 });
    const journal = await db.query<{ status: string; attempts: number }>(
      `SELECT DISTINCT status, attempts FROM zdm.steps WHERE plan_id = 'p-resume-steps'`,
    );
    expect(journal).toEqual([{ status: 'done', attempts: 1 }]);
  });

  async function slowIndexPlan(id: string) {
    await db.exec(`
      -- Slow from the start (nothing calls it before the plan runs): functions are part of the schema
      -- the plan's fingerprints cover, so it may not change between plan and apply.
      CREATE OR REPLACE FUNCTION public.rs_slow(v int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
        AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN true; END $$;
      CREATE TABLE public.${id} (id int PRIMARY KEY, v int);
      INSERT INTO public.${id} SELECT g, g FROM generate_series(1, 1500) g;`);
    const plan = await buildPlan(db.client, {
      id,
      expand: [
        sqlStep(
          'expand.1',
          [
            `CREATE INDEX CONCURRENTLY ${id}_v_idx ON public.${id} (v) WHERE public.rs_slow(v)`,
            `INSERT INTO public.step_runs VALUES ('${id}')`,
          ],
          { transaction: false, concurrentIndex: { schema: 'public', name: `${id}_v_idx` } },
        ),
      ],
    });
    return plan;
  }

  const indexValid = async (name: string): Promise<boolean | undefined> =>
    (
      await db.query<{ valid: boolean }>(
        `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`,
        [name],
      )
    )[0]?.valid;

  /** Until the build has created its index, still INVALID: the statement reached the server and runs. */
  async function buildStarted(name: string): Promise<void> {
    const deadline = performance.now() + 10_000;
    while ((await indexValid(name)) !== false) {
      if (performance.now() > deadline) throw new Error(`${name}: the build never started`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('a run killed during CREATE INDEX CONCURRENTLY: a build the server finished is kept, not rebuilt', async () => {
    const plan = await slowIndexPlan('rs_kept');
    const child = await spawnApply(db.url, plan, { phase: 'expand' });
    const { pid } = (await child.waitFor((l) => typeof l.pid === 'number')) as { pid: number };
    await child.waitFor((l) => (l.event as ApplyEvent | undefined)?.type === 'statement');
    await buildStarted('public.rs_kept_v_idx');
    await child.kill();
    // The server completes the build even though its client is gone, and only then notices.
    await backendGone(pid);
    expect(await indexValid('public.rs_kept_v_idx')).toBe(true);

    const events: ApplyEvent[] = [];
    await applyPhase(db.client, plan, { phase: 'expand', onEvent: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'step-skipped').map((e) => e.type === 'step-skipped' && e.reason)).toEqual([
      'index-valid',
    ]);
    expect(events.some((e) => e.type === 'statement' && /CREATE INDEX/.test(e.sql))).toBe(false);
    expect((await runs()).rs_kept).toBe(1);
  });

  it('a run killed during CREATE INDEX CONCURRENTLY with its backend: the INVALID leftover is dropped and rebuilt', async () => {
    const plan = await slowIndexPlan('rs_lost');
    const child = await spawnApply(db.url, plan, { phase: 'expand' });
    const { pid } = (await child.waitFor((l) => typeof l.pid === 'number')) as { pid: number };
    await child.waitFor((l) => (l.event as ApplyEvent | undefined)?.type === 'statement');
    await buildStarted('public.rs_lost_v_idx');
    await child.kill();
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    await backendGone(pid);
    expect(await indexValid('public.rs_lost_v_idx')).toBe(false);
    const j = await db.query<{ status: string }>(`SELECT status FROM zdm.steps WHERE plan_id = 'rs_lost'`);
    expect(j).toEqual([{ status: 'started' }]);

    const events: ApplyEvent[] = [];
    const r = await applyPhase(db.client, plan, { phase: 'expand', onEvent: (e) => events.push(e) });
    expect(r.resumed).toBe(true);
    expect(
      events.filter((e) => e.type === 'leftover-dropped').map((e) => e.type === 'leftover-dropped' && e.index),
    ).toEqual(['public.rs_lost_v_idx']);
    expect(await indexValid('public.rs_lost_v_idx')).toBe(true);
    expect((await runs()).rs_lost).toBe(1);
  });

  it('a backfill killed mid-way resumes from its cursor: no batch redone, every row backfilled once', async () => {
    const ROWS = 6000;
    const BATCH = 100;
    await db.exec(`CREATE TABLE public.bf (id int PRIMARY KEY, v int NOT NULL, w int, touched int NOT NULL DEFAULT 0);
                   INSERT INTO public.bf (id, v) SELECT g, g FROM generate_series(1, ${ROWS}) g;
                   ANALYZE public.bf`);
    // No `where`: every row is updated, and `touched` counts how often.
    const plan = await buildPlan(db.client, {
      id: 'p-resume-backfill',
      backfill: [backfillStep('backfill.1', 'public.bf', { w: 'v * 2', touched: 'touched + 1' }, { batchSize: BATCH })],
    });
    await applyPhase(db.client, plan, { phase: 'expand' });
    const options = {
      phase: 'backfill' as const,
      allowHazards: ['long-running' as const],
      pauseMs: 20,
      maxBatchMs: 60_000,
    };
    const child = await spawnApply(db.url, plan, options);
    const { pid } = (await child.waitFor((l) => typeof l.pid === 'number')) as { pid: number };
    await child.waitFor((l) => l.hook === 'afterBatch' && (l.batchesDone as number) >= 20);
    await child.kill();
    await backendGone(pid);

    const [cursor] = await db.query<{ rows_done: string; batches_done: string; done: boolean }>(
      `SELECT rows_done, batches_done, done FROM zdm.backfill_cursors WHERE plan_id = 'p-resume-backfill'`,
    );
    const rowsDone = Number(cursor!.rows_done);
    const batchesDone = Number(cursor!.batches_done);
    expect(cursor!.done).toBe(false);
    expect(batchesDone).toBeGreaterThanOrEqual(20);
    expect(batchesDone).toBeLessThan(ROWS / BATCH);
    expect(rowsDone).toBe(batchesDone * BATCH);
    // The cursor and the rows committed together: exactly the journaled rows are done.
    const touched = await db.query<{ t: number; n: number }>(
      'SELECT touched AS t, count(*)::int AS n FROM public.bf GROUP BY touched ORDER BY touched',
    );
    expect(touched).toEqual([
      { t: 0, n: ROWS - rowsDone },
      { t: 1, n: rowsDone },
    ]);
    const status = await (await import('../../src/apply/index.js')).planStatus(db.client);
    expect(status.backfillsInProgress).toMatchObject([{ stepId: 'backfill.1', rowsDone, batchesDone, done: false }]);

    const events: ApplyEvent[] = [];
    const result = await applyPhase(db.client, plan, { ...options, pauseMs: 0, onEvent: (e) => events.push(e) });
    const start = events.find((e) => e.type === 'backfill-start');
    expect(start).toMatchObject({ resumed: true, rowsDone, batchesDone });
    expect(result.steps[0]!.backfill).toMatchObject({
      rowsThisRun: ROWS - rowsDone,
      rowsDone: ROWS,
      // 60 full batches and the last one that finds nothing past the cursor.
      batchesDone: ROWS / BATCH + 1,
      batchesThisRun: ROWS / BATCH + 1 - batchesDone,
    });
    expect(await db.query('SELECT touched AS t, count(*)::int AS n FROM public.bf GROUP BY touched')).toEqual([
      { t: 1, n: ROWS },
    ]);
    expect(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.bf WHERE w IS DISTINCT FROM v * 2'))[0]!.n,
    ).toBe(0);
    console.log(
      `backfill killed after ${batchesDone} batches (${rowsDone} rows); resumed with ${ROWS - rowsDone} rows`,
    );
  });
});
