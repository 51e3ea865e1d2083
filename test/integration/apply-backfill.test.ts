/**
 * The backfill engine on the table shapes it must handle: composite keys, a unique NOT NULL key, no
 * key at all (ctid ranges), GENERATED ALWAYS identity keys, a partitioned table, rows the
 * application holds locked, the table's own triggers, slow batches, awkward names.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, type ApplyEvent, type ApplyResult, applyPhase } from '../../src/apply/index.js';
import type { Plan, Step } from '../../src/plan/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { backfillStep, buildPlan } from '../support/plans.js';

describe('zdm apply: backfill', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('apply backfill');
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** A plan whose expand phase is empty (already "done" by a first apply) and whose backfill is `steps`. */
  async function backfillPlan(id: string, steps: readonly Step[]): Promise<Plan> {
    const plan = await buildPlan(db.client, { id, backfill: steps });
    await applyPhase(db.client, plan, { phase: 'expand' });
    return plan;
  }

  async function run(
    plan: Plan,
    options: Partial<Parameters<typeof applyPhase>[2]> = {},
  ): Promise<{ result: ApplyResult; events: ApplyEvent[] }> {
    const events: ApplyEvent[] = [];
    const result = await applyPhase(db.client, plan, {
      phase: 'backfill',
      allowHazards: ['long-running', 'fires-user-triggers'],
      pauseMs: 0,
      ...options,
      onEvent: (e) => events.push(e),
    });
    return { result, events };
  }

  const count = async (sql: string): Promise<number> => (await db.query<{ n: number }>(sql))[0]!.n;

  it('waits before a batch while a standby lags more than maxReplicaLagMs (lag source injected: no standby here), then goes on', async () => {
    await db.exec(`CREATE TABLE public.lagged (id int PRIMARY KEY, v int, w int);
                   INSERT INTO public.lagged SELECT g, g, NULL FROM generate_series(1, 1000) g;`);
    const plan = await backfillPlan('p-replica-lag', [
      backfillStep('backfill.1', 'public.lagged', { w: 'v * 2' }, { where: 'w IS NULL', batchSize: 250 }),
    ]);
    // The standby is 8 s behind for the first three reads (before batch 1, twice while waiting),
    // then 1 s (within the limit), then 9 s before batch 3 once, then caught up.
    const lags = [8000, 8000, 8000, 1000, 1000, 9000];
    const reads: { lag: number | undefined; rowsFilled: number }[] = [];
    const { result, events } = await run(plan, {
      maxReplicaLagMs: 5000,
      replicaLag: async () => {
        const lag = lags.shift();
        reads.push({ lag, rowsFilled: await count('SELECT count(w)::int AS n FROM public.lagged') });
        return lag;
      },
    });
    expect(result.steps[0]!.backfill?.rowsDone).toBe(1000);
    const waits = events.filter((e) => e.type === 'replica-lag-wait');
    expect(waits.map((e) => e.type === 'replica-lag-wait' && [e.lagMs, e.maxLagMs])).toEqual([
      [8000, 5000],
      [8000, 5000],
      [8000, 5000],
      [9000, 5000],
    ]);
    expect(waits[0]!.message).toBe('backfill.1: waiting: a standby replays 8.0 s behind (--max-replica-lag 5.0 s)');
    // No batch ran while the standby was behind: rows filled only after a read within the limit.
    expect(reads.slice(0, 4).map((r) => r.rowsFilled)).toEqual([0, 0, 0, 0]);
    expect(reads.map((r) => r.rowsFilled).slice(3, 7)).toEqual([0, 250, 500, 500]);
    expect(await count('SELECT count(*)::int AS n FROM public.lagged WHERE w = v * 2')).toBe(1000);
  });

  it('a batch that made an application statement wait on its row locks: the next batches are smaller and the pause longer', async () => {
    await db.exec(`CREATE TABLE public.contended (id int PRIMARY KEY, v int, w int);
                   INSERT INTO public.contended SELECT g, g, NULL FROM generate_series(1, 1000) g;`);
    const plan = await backfillPlan('p-backoff', [
      backfillStep('backfill.1', 'public.contended', { w: 'v * 2' }, { where: 'w IS NULL', batchSize: 200 }),
    ]);
    const app = await db.connect();
    let appUpdate: Promise<unknown> | undefined;
    try {
      const appPid = (await app.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const { result, events } = await run(plan, {
        testHooks: {
          // Inside the first batch, its rows locked: the application updates one of them and waits.
          beforeBatchCommit: async (_step, batchesDone) => {
            if (batchesDone !== 0) return;
            appUpdate = app.query('UPDATE public.contended SET v = v WHERE id = 1');
            for (let i = 0; i < 500; i++) {
              const w = await db.query<{ e: string | null }>(
                'SELECT wait_event_type AS e FROM pg_stat_activity WHERE pid = $1',
                [appPid],
              );
              if (w[0]?.e === 'Lock') return;
              await new Promise((r) => setTimeout(r, 10));
            }
            throw new Error('the application statement never waited');
          },
        },
      });
      await appUpdate;
      const backoffs = events.filter((e) => e.type === 'backfill-backoff');
      expect(backoffs.map((e) => e.type === 'backfill-backoff' && [e.waiting, e.from, e.to])).toEqual([[1, 200, 100]]);
      expect(backoffs[0]!.message).toMatch(
        /1 application session\(s\) waited for batch 1's row locks: batch size 200 → 100, pause \d+ ms/,
      );
      const sizes = events.flatMap((e) => (e.type === 'backfill-progress' ? [e.batchSize] : []));
      expect(sizes[0]).toBe(200);
      expect(sizes[1]).toBeLessThanOrEqual(100);
      expect(result.steps[0]!.backfill?.rowsDone).toBe(1000);
      expect(await count('SELECT count(*)::int AS n FROM public.contended WHERE w = v * 2')).toBe(1000);
    } finally {
      await appUpdate?.catch(() => {});
      await app.end();
    }
  });

  it('reads no lag, and waits for nothing, from a server with no standby (pg_stat_replication)', async () => {
    await db.exec(`CREATE TABLE public.unlagged (id int PRIMARY KEY, v int, w int);
                   INSERT INTO public.unlagged SELECT g, g, NULL FROM generate_series(1, 300) g;`);
    const plan = await backfillPlan('p-no-standby', [
      backfillStep('backfill.1', 'public.unlagged', { w: 'v' }, { where: 'w IS NULL', batchSize: 100 }),
    ]);
    const { events } = await run(plan, { maxReplicaLagMs: 1 });
    expect(events.some((e) => e.type === 'replica-lag-wait')).toBe(false);
    expect(await count('SELECT count(w)::int AS n FROM public.unlagged')).toBe(300);
  });

  it('walks a composite primary key (text, timestamptz) in key order', async () => {
    await db.exec(`
      CREATE TABLE public.visits (region text, at timestamptz, n int NOT NULL, label text,
                                  PRIMARY KEY (region, at));
      INSERT INTO public.visits
        SELECT r, timestamptz '2024-01-01 00:00:00.123456+00' + g * interval '1 minute', g, NULL
          FROM unnest(ARRAY['eu', 'us', 'ap', 'Zz', 'é']) r, generate_series(1, 500) g;`);
    const plan = await backfillPlan('p-composite', [
      backfillStep(
        'backfill.1',
        'public.visits',
        { label: "region || ':' || n" },
        { where: 'label IS NULL', batchSize: 100 },
      ),
    ]);
    const { result, events } = await run(plan);
    const start = events.find((e) => e.type === 'backfill-start');
    expect(start).toMatchObject({ strategy: 'primary-key', key: ['region', 'at'] });
    expect(result.steps[0]!.backfill).toMatchObject({ rowsThisRun: 2500, batchesThisRun: 26 });
    expect(
      await count(`SELECT count(*)::int AS n FROM public.visits WHERE label IS DISTINCT FROM region || ':' || n`),
    ).toBe(0);
    const cursor = await db.query<{ last_key: { strategy: string; columns: string[]; last: string[] } }>(
      `SELECT last_key FROM zdm.backfill_cursors WHERE plan_id = 'p-composite'`,
    );
    expect(cursor[0]!.last_key.columns).toEqual(['region', 'at']);
  });

  it('uses a unique NOT NULL key when there is no primary key, and ctid ranges when there is none', async () => {
    await db.exec(`
      CREATE TABLE public.uk (code text NOT NULL, maybe int UNIQUE, v int, w int);
      CREATE UNIQUE INDEX uk_code ON public.uk (code);
      INSERT INTO public.uk SELECT 'c' || g, NULL, g, NULL FROM generate_series(1, 3000) g;
      CREATE TABLE public.heap (v int, w int);
      INSERT INTO public.heap SELECT g, NULL FROM generate_series(1, 20000) g;
      INSERT INTO public.heap SELECT g, NULL FROM generate_series(1, 100) g; -- duplicates: no key possible
      ANALYZE public.heap;`);
    const plan = await backfillPlan('p-keys', [
      backfillStep('backfill.1', 'public.uk', { w: 'v * 2' }, { batchSize: 500 }),
      backfillStep('backfill.2', 'public.heap', { w: 'v * 3' }, { batchSize: 1000 }),
    ]);
    const { result, events } = await run(plan);
    const starts = events.filter((e) => e.type === 'backfill-start');
    expect(starts.map((e) => (e.type === 'backfill-start' ? [e.strategy, e.key] : null))).toEqual([
      ['unique-key', ['code']],
      ['ctid', []],
    ]);
    expect(result.steps[0]!.backfill).toMatchObject({ rowsThisRun: 3000 });
    expect(result.steps[1]!.backfill).toMatchObject({ strategy: 'ctid', rowsThisRun: 20100 });
    expect(result.steps[1]?.backfill?.batchesThisRun).toBeGreaterThan(10);
    expect(await count(`SELECT count(*)::int AS n FROM public.uk WHERE w IS DISTINCT FROM v * 2`)).toBe(0);
    // Every row exactly once, although every updated row version moved to a later block.
    expect(await count(`SELECT count(*)::int AS n FROM public.heap WHERE w IS DISTINCT FROM v * 3`)).toBe(0);
  });

  it('never assigns the key: a GENERATED ALWAYS identity primary key works', async () => {
    await db.exec(`
      CREATE TABLE public.ident (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int, b int);
      INSERT INTO public.ident (a) SELECT g FROM generate_series(1, 1000) g;`);
    const plan = await backfillPlan('p-ident', [
      backfillStep('backfill.1', 'public.ident', { b: 'a + id' }, { where: 'b IS NULL', batchSize: 150 }),
    ]);
    const { result } = await run(plan);
    expect(result.steps[0]!.backfill).toMatchObject({ strategy: 'primary-key', rowsThisRun: 1000 });
    expect(await count(`SELECT count(*)::int AS n FROM public.ident WHERE b IS DISTINCT FROM a + id`)).toBe(0);
  });

  it('handles a partitioned table and names that need quoting', async () => {
    await db.exec(`
      CREATE SCHEMA "My schema";
      CREATE TABLE "My schema"."Odd ""name""; drop" ("Key col" int, "when" date, "Value" int, "new Value" int,
                                                     PRIMARY KEY ("Key col", "when")) PARTITION BY RANGE ("when");
      CREATE TABLE "My schema".p2024 PARTITION OF "My schema"."Odd ""name""; drop" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE "My schema".p2025 PARTITION OF "My schema"."Odd ""name""; drop" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      INSERT INTO "My schema"."Odd ""name""; drop"
        SELECT g, date '2024-06-01' + (g % 400), g, NULL FROM generate_series(1, 2000) g;`);
    const plan = await backfillPlan('p-quoting', [
      backfillStep('backfill.1', 'My schema.Odd "name"; drop', { 'new Value': '"Value" + 1' }, { batchSize: 300 }),
    ]);
    const { result } = await run(plan);
    expect(result.steps[0]!.backfill).toMatchObject({ strategy: 'primary-key', rowsThisRun: 2000 });
    expect(
      await count(
        `SELECT count(*)::int AS n FROM "My schema"."Odd ""name""; drop" WHERE "new Value" IS DISTINCT FROM "Value" + 1`,
      ),
    ).toBe(0);
  });

  it('waits for rows the application holds locked (never skips them) and keeps the application’s own writes', async () => {
    await db.exec(`
      CREATE TABLE public.locked (id int PRIMARY KEY, v int NOT NULL, copy text);
      INSERT INTO public.locked SELECT g, g, NULL FROM generate_series(1, 3000) g;`);
    const plan = await backfillPlan('p-locked', [
      backfillStep('backfill.1', 'public.locked', { copy: "'bf' || v" }, { where: 'copy IS NULL', batchSize: 200 }),
    ]);
    const app: pg.Client = await db.connect();
    try {
      await app.query('BEGIN');
      await app.query('SELECT * FROM public.locked WHERE id BETWEEN 1500 AND 1520 FOR UPDATE');
      const appPid = (await app.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const running = run(plan, { lockTimeoutMs: 200, maxLockRetries: 20, retryBaseDelayMs: 50, retryMaxDelayMs: 200 });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      // The new application version writes the column itself, then lets go of its locks.
      await app.query(`UPDATE public.locked SET copy = 'app' WHERE id = 1505`);
      await app.query('COMMIT');
      const { result, events } = await running;
      const retries = events.filter((e) => e.type === 'lock-retry');
      expect(retries.length).toBeGreaterThan(0);
      const first = retries[0]!;
      expect(first.type === 'lock-retry' && first.holders.map((h) => h.pid)).toContain(appPid);
      expect(result.steps[0]?.backfill?.rowsThisRun).toBe(2999);
      expect(await count(`SELECT count(*)::int AS n FROM public.locked WHERE copy IS NULL`)).toBe(0);
      expect(
        await count(`SELECT count(*)::int AS n FROM public.locked WHERE id BETWEEN 1500 AND 1520 AND copy = 'bf' || v`),
      ).toBe(20);
      expect((await db.query<{ copy: string }>(`SELECT copy FROM public.locked WHERE id = 1505`))[0]!.copy).toBe('app');
    } finally {
      await app.end();
    }
  });

  it('fires the table’s own row triggers: refused unless allowed, and then every row once', async () => {
    await db.exec(`
      CREATE TABLE public.trig (id int PRIMARY KEY, v int, w int, updated_at timestamptz NOT NULL DEFAULT '2000-01-01');
      CREATE TABLE public.trig_log (n int);
      INSERT INTO public.trig SELECT g, g, NULL FROM generate_series(1, 1000) g;
      CREATE FUNCTION public.trig_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.updated_at := pg_catalog.clock_timestamp(); INSERT INTO public.trig_log VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER trig_touch BEFORE UPDATE ON public.trig FOR EACH ROW EXECUTE FUNCTION public.trig_touch();`);
    const plan = await backfillPlan('p-trigger', [
      backfillStep(
        'backfill.1',
        'public.trig',
        { w: 'v * 10' },
        {
          where: 'w IS NULL',
          batchSize: 250,
          hazards: ['long-running', 'fires-user-triggers'],
        },
      ),
    ]);
    let refused: unknown;
    try {
      await applyPhase(db.client, plan, { phase: 'backfill', allowHazards: ['long-running'] });
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(ApplyError);
    expect((refused as ApplyError).details.allowHazardsFlag).toBe('--allow-hazards long-running,fires-user-triggers');
    expect(await count(`SELECT count(*)::int AS n FROM public.trig_log`)).toBe(0);

    await run(plan);
    expect(await count(`SELECT count(*)::int AS n FROM public.trig WHERE w IS DISTINCT FROM v * 10`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM public.trig_log`)).toBe(1000);
    expect(await count(`SELECT count(DISTINCT n)::int AS n FROM public.trig_log`)).toBe(1000);
    expect(await count(`SELECT count(*)::int AS n FROM public.trig WHERE updated_at = '2000-01-01'`)).toBe(0);
  });

  it('halves the batch size when batches are slow', async () => {
    await db.exec(`
      CREATE FUNCTION public.slow_double(v int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN v * 2; END $$;
      CREATE TABLE public.slow (id int PRIMARY KEY, v int, w int);
      INSERT INTO public.slow SELECT g, g, NULL FROM generate_series(1, 1000) g;`);
    const plan = await backfillPlan('p-slow', [
      backfillStep('backfill.1', 'public.slow', { w: 'public.slow_double(v)' }, { batchSize: 400 }),
    ]);
    const { result, events } = await run(plan, { maxBatchMs: 100 });
    const resizes = events.filter((e) => e.type === 'backfill-resize');
    expect(resizes.length).toBeGreaterThanOrEqual(2);
    expect(resizes[0]).toMatchObject({ from: 400, to: 200 });
    const sizes = events.flatMap((e) => (e.type === 'backfill-progress' ? [e.batchRows] : []));
    expect(Math.max(...sizes.slice(-3))).toBeLessThanOrEqual(100);
    expect(result.steps[0]?.backfill?.rowsThisRun).toBe(1000);
    expect(await count(`SELECT count(*)::int AS n FROM public.slow WHERE w IS DISTINCT FROM v * 2`)).toBe(0);
  });

  it('pauses after each batch in proportion to the batch’s own duration', async () => {
    await db.exec(`
      CREATE FUNCTION public.slow_triple(v int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_catalog.pg_sleep(0.0002); RETURN v * 3; END $$;
      CREATE TABLE public.paced (id int PRIMARY KEY, v int, w int);
      INSERT INTO public.paced SELECT g, g, NULL FROM generate_series(1, 600) g;`);
    const plan = await backfillPlan('p-paced', [
      backfillStep('backfill.1', 'public.paced', { w: 'public.slow_triple(v)' }, { batchSize: 100 }),
    ]);
    const ends: number[] = [];
    const { events } = await run(plan, {
      pauseRatio: 2,
      testHooks: {
        afterBatch: async () => {
          ends.push(performance.now());
        },
      },
    });
    const batchMs = events.flatMap((e) => (e.type === 'backfill-progress' ? [e.batchMs] : []));
    expect(batchMs.length).toBeGreaterThanOrEqual(6);
    // Between the ends of two batches lie the pause after the first (twice its duration) and the
    // second batch: a lower bound, which a sleep guarantees (2 ms for the rounding of both).
    for (let i = 0; i + 1 < ends.length; i++) {
      expect(ends[i + 1]! - ends[i]!).toBeGreaterThanOrEqual(2 * batchMs[i]! - 2);
    }
    expect(await count(`SELECT count(*)::int AS n FROM public.paced WHERE w IS DISTINCT FROM v * 3`)).toBe(0);
  });

  it('runs a batch in three round trips, its COMMIT not waiting for a WAL flush', async () => {
    await db.exec(`CREATE TABLE public.trips (id int PRIMARY KEY, v int, w int);
                   INSERT INTO public.trips SELECT g, g, NULL FROM generate_series(1, 1000) g;`);
    const plan = await backfillPlan('p-trips', [
      backfillStep('backfill.1', 'public.trips', { w: 'v * 2' }, { where: 'w IS NULL', batchSize: 100 }),
    ]);
    // Every statement the apply sends, and where the batches end.
    const sent: string[] = [];
    const ends: number[] = [];
    const syncCommit: string[] = [];
    const client = db.client;
    const counting = new Proxy(client, {
      get(target, prop) {
        if (prop === 'query') {
          return (...args: Parameters<pg.Client['query']>) => {
            if (typeof args[0] === 'string') sent.push(args[0]);
            return (target.query as (...a: unknown[]) => unknown)(...args);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    // The session's own setting says to wait for the flush; the batches say not to.
    await db.exec('SET synchronous_commit = on');
    try {
      const events: ApplyEvent[] = [];
      const result = await applyPhase(counting, plan, {
        phase: 'backfill',
        allowHazards: ['long-running'],
        pauseMs: 0,
        vacuumEvery: 0,
        onEvent: (e) => events.push(e),
        testHooks: {
          beforeBatchCommit: async () => {
            syncCommit.push(
              (await client.query<{ s: string }>("SELECT pg_catalog.current_setting('synchronous_commit') AS s"))
                .rows[0]!.s,
            );
          },
          afterBatch: () => {
            ends.push(sent.length);
          },
        },
      });
      expect(result.steps[0]!.backfill?.rowsDone).toBe(1000);
      // 10 batches of 100 rows, and the last one finding none left.
      expect(ends).toHaveLength(11);
      const perBatch = ends.slice(1).map((end, i) => sent.slice(ends[i], end));
      // A batch in the middle: BEGIN with the batch's settings; the bound and the UPDATE; the
      // cursor's advance (with the wait count, the WAL position and the standbys' lag) and COMMIT.
      const batch = perBatch[4]!;
      expect(batch.map((q) => q.split(/\s+/).slice(0, 2).join(' '))).toEqual([
        'BEGIN ISOLATION',
        'WITH upper',
        'UPDATE zdm.backfill_cursors',
      ]);
      expect(batch[0]).toMatch(/SET LOCAL synchronous_commit = 'off'/);
      expect(batch[2]).toMatch(/pg_blocking_pids.*pg_current_wal_insert_lsn.*pg_stat_replication.*;\s*COMMIT$/s);
      expect(perBatch.slice(0, -1).every((b) => b.length === 3)).toBe(true);
      expect(syncCommit).toEqual(Array(11).fill('off'));
    } finally {
      await db.exec('RESET synchronous_commit');
    }
    expect(await count('SELECT count(*)::int AS n FROM public.trips WHERE w = v * 2')).toBe(1000);
  });

  it('walks the key index, never the whole table, even on a table without statistics', async () => {
    // Freshly loaded and never analyzed: the planner would take `w IS NULL` for rare and scan and
    // sort the whole table for every batch (batches then exceed the time cap and shrink).
    await db.exec(`
      CREATE TABLE public.fresh (id int PRIMARY KEY, v int, w int) WITH (autovacuum_enabled = false);
      INSERT INTO public.fresh SELECT g, g, NULL FROM generate_series(1, 20000) g;`);
    const scans = async () =>
      (
        await db.query<{ seq: string; idx: string }>(
          `SELECT seq_scan::text AS seq, coalesce(idx_scan, 0)::text AS idx FROM pg_stat_user_tables
            WHERE relid = 'public.fresh'::regclass`,
        )
      )[0]!;
    const plan = await backfillPlan('p-fresh', [
      backfillStep('backfill.1', 'public.fresh', { w: 'v + 1' }, { where: 'w IS NULL', batchSize: 1000 }),
    ]);
    await new Promise((r) => setTimeout(r, 1200));
    await db.exec('SELECT pg_catalog.pg_stat_clear_snapshot()');
    const before = await scans();
    const { result } = await run(plan);
    expect(result.steps[0]?.backfill?.rowsThisRun).toBe(20000);
    // Statistics reach other sessions with a delay: wait until the index scans show.
    let after = await scans();
    for (let i = 0; i < 50 && Number(after.idx) === Number(before.idx); i++) {
      await new Promise((r) => setTimeout(r, 100));
      await db.exec('SELECT pg_catalog.pg_stat_clear_snapshot()');
      after = await scans();
    }
    expect(Number(after.idx)).toBeGreaterThan(Number(before.idx));
    expect(Number(after.seq) - Number(before.seq)).toBe(0);
  });

  it('measures throughput on 200k rows', async () => {
    await db.exec(`
      CREATE TABLE public.big (id bigint PRIMARY KEY, email text NOT NULL, email_lower text);
      INSERT INTO public.big SELECT g, 'User' || g || '@Example.com', NULL FROM generate_series(1, 200000) g;
      ANALYZE public.big;`);
    const plan = await backfillPlan('p-big', [
      backfillStep(
        'backfill.1',
        'public.big',
        { email_lower: 'lower(email)' },
        { where: 'email_lower IS NULL', batchSize: 5000 },
      ),
    ]);
    const { result, events } = await run(plan, { maxBatchMs: 1000 });
    const last = events.filter((e) => e.type === 'backfill-progress').at(-1);
    expect(result.steps[0]?.backfill?.rowsThisRun).toBe(200000);
    expect(last?.type === 'backfill-progress' && last.estimatedTotal).toBe(200000);
    const batchMs = events.flatMap((e) => (e.type === 'backfill-progress' ? [e.batchMs] : []));
    console.log(
      `backfill of 200k rows, batches of 5000: ${result.steps[0]!.durationMs} ms, ` +
        `${last?.type === 'backfill-progress' ? last.rowsPerSecond : '?'} rows/s, longest batch ${Math.max(...batchMs)} ms`,
    );
    expect(
      await count(`SELECT count(*)::int AS n FROM public.big WHERE email_lower IS DISTINCT FROM lower(email)`),
    ).toBe(0);
  });
});
