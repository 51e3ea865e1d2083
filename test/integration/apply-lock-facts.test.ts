/**
 * Lock facts the plans rely on, proven while the step runs: CREATE INDEX CONCURRENTLY and VALIDATE
 * CONSTRAINT hold SHARE UPDATE EXCLUSIVE on the table, and the application's INSERT and UPDATE go
 * through meanwhile.
 *
 * To keep each step running long enough to observe, the index predicate and the check call a
 * function that sleeps 1 ms per row (it is fast while the plan is made, and made slow afterwards:
 * function bodies are not part of the schema fingerprint).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplyEvent, applyPhase } from '../../src/apply/index.js';
import type { Plan } from '../../src/plan/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { buildPlan, sqlStep } from '../support/plans.js';
import { timed } from '../support/workload.js';

const ROWS = 3000;
const DEADLINE_MS = 1000;

describe('zdm apply: locks taken by long steps, observed from other sessions', () => {
  let db: TestDatabase;
  let observer: pg.Client;
  let writer: pg.Client;
  let plan: Plan;
  let applyPid: number;
  beforeAll(async () => {
    db = await freshDatabase('apply lock facts');
    observer = await db.connect();
    writer = await db.connect();
    await db.exec(`
      -- Slow from the start (nothing calls it before the plan runs): functions are part of the schema
      -- the plan's fingerprints cover, so it may not change between plan and apply.
      CREATE FUNCTION public.lf_slow(v int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
        AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN true; END $$;
      CREATE TABLE public.lf (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int NOT NULL, note text);
      INSERT INTO public.lf (v) SELECT g FROM generate_series(1, ${ROWS}) g;
      ANALYZE public.lf;`);
    plan = await buildPlan(db.client, {
      id: 'p-lock-facts',
      expand: [
        sqlStep('expand.1', 'ALTER TABLE public.lf ADD CONSTRAINT lf_v_check CHECK (public.lf_slow(v)) NOT VALID', {
          locks: [{ relation: 'public.lf', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
        }),
        sqlStep('expand.2', 'CREATE INDEX CONCURRENTLY lf_v_idx ON public.lf (v) WHERE public.lf_slow(v)', {
          transaction: false,
          concurrentIndex: { schema: 'public', name: 'lf_v_idx' },
          locks: [{ relation: 'public.lf', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }],
          hazards: ['long-running'],
        }),
      ],
      backfill: [
        sqlStep('backfill.1', 'ALTER TABLE public.lf VALIDATE CONSTRAINT lf_v_check', {
          locks: [{ relation: 'public.lf', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }],
          hazards: ['long-running'],
        }),
      ],
    });
    applyPid = (await db.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  });
  afterAll(async () => {
    await observer?.end();
    await writer?.end();
    await db?.drop();
  });

  interface Activity {
    state: string;
    query: string;
    query_start: Date;
  }

  async function activity(): Promise<Activity | undefined> {
    const r = await observer.query<Activity>('SELECT state, query, query_start FROM pg_stat_activity WHERE pid = $1', [
      applyPid,
    ]);
    return r.rows[0];
  }

  async function tableLocks(): Promise<string[]> {
    const r = await observer.query<{ mode: string }>(
      `SELECT mode FROM pg_locks WHERE pid = $1 AND locktype = 'relation' AND granted
          AND relation = 'public.lf'::regclass ORDER BY mode`,
      [applyPid],
    );
    return r.rows.map((x) => x.mode);
  }

  /** Waits until the applying backend runs `pattern` and holds a lock on the table. */
  async function whenRunning(pattern: RegExp): Promise<Activity> {
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline) {
      const a = await activity();
      if (a && a.state === 'active' && pattern.test(a.query) && (await tableLocks()).length > 0) return a;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`the apply never ran ${pattern}`);
  }

  async function proveWritesGoThrough(pattern: RegExp, label: string): Promise<void> {
    const running = await whenRunning(pattern);
    expect(await tableLocks()).toEqual(['ShareUpdateExclusiveLock']);

    const insert = await timed(writer, 'INSERT INTO public.lf (v) VALUES ($1) RETURNING id', [ROWS + 1]);
    const update = await timed(writer, `UPDATE public.lf SET note = 'touched', v = v + 0 WHERE id = 10`);
    expect(insert.error).toBeUndefined();
    expect(update.error).toBeUndefined();
    expect(update.value?.rowCount).toBe(1);
    expect(insert.ms).toBeLessThan(DEADLINE_MS);
    expect(update.ms).toBeLessThan(DEADLINE_MS);

    // The step was still running when both writes had finished: the same statement, same start.
    const after = await activity();
    expect(after?.state).toBe('active');
    expect(after?.query).toBe(running.query);
    expect(after?.query_start.getTime()).toBe(running.query_start.getTime());
    expect(await tableLocks()).toEqual(['ShareUpdateExclusiveLock']);
    console.log(
      `${label}: INSERT ${insert.ms.toFixed(1)} ms, UPDATE ${update.ms.toFixed(1)} ms while it held ShareUpdateExclusiveLock`,
    );
  }

  it('CREATE INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE, writes go through', async () => {
    const events: ApplyEvent[] = [];
    const run = applyPhase(db.client, plan, {
      phase: 'expand',
      allowHazards: ['long-running'],
      onEvent: (e) => events.push(e),
    });
    try {
      await proveWritesGoThrough(/^CREATE INDEX CONCURRENTLY lf_v_idx/, 'CREATE INDEX CONCURRENTLY');
    } finally {
      await run;
    }
    const ix = await db.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.lf_v_idx'::regclass`,
    );
    expect(ix).toEqual([{ valid: true }]);
    const done = events.find((e) => e.type === 'step-done' && e.stepId === 'expand.2');
    expect(done?.type === 'step-done' && done.durationMs).toBeGreaterThan(DEADLINE_MS);
  });

  it('VALIDATE CONSTRAINT: SHARE UPDATE EXCLUSIVE, writes go through', async () => {
    const run = applyPhase(db.client, plan, { phase: 'backfill', allowHazards: ['long-running'] });
    try {
      await proveWritesGoThrough(/^ALTER TABLE public\.lf VALIDATE CONSTRAINT/, 'VALIDATE CONSTRAINT');
    } finally {
      await run;
    }
    const c = await db.query<{ valid: boolean }>(
      `SELECT convalidated AS valid FROM pg_constraint WHERE conname = 'lf_v_check'`,
    );
    expect(c).toEqual([{ valid: true }]);
  });
});
