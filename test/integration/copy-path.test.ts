/**
 * The cheaper copy path (issue 17) on a real server: a backfill's VACUUM rounds keep the table from
 * doubling and block no writer (its lock is SHARE UPDATE EXCLUSIVE, read from pg_locks while it
 * waits, and a round that cannot have it at once is skipped); --max-wal-rate throttles the batches.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplyEvent, type ApplyResult, applyPhase } from '../../src/apply/index.js';
import type { Plan } from '../../src/plan/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { backfillStep, buildPlan } from '../support/plans.js';

describe('the copy path: VACUUM between batches, --max-wal-rate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('copy path');
  });
  afterAll(async () => {
    await db?.drop();
  });

  /**
   * Tables of `rows` rows, each with a NULL copy of its text column, frozen and analyzed; then a
   * plan per table (all made once every table exists: a plan fingerprints the whole schema) whose
   * expand is done.
   */
  async function tables(names: readonly string[], rows: number): Promise<Plan[]> {
    for (const name of names) {
      await db.exec(`CREATE TABLE public.${name} (id bigint PRIMARY KEY, name text NOT NULL, copy text);
                     ALTER TABLE public.${name} SET (autovacuum_enabled = false);
                     INSERT INTO public.${name} SELECT g, 'user ' || g || ' ' || md5(g::text), NULL FROM generate_series(1, ${rows}) g;`);
      await db.exec(`VACUUM (FREEZE, ANALYZE) public.${name}`);
    }
    const plans: Plan[] = [];
    for (const name of names) {
      const plan = await buildPlan(db.client, {
        id: `p-${name}`,
        backfill: [backfillStep('backfill.1', `public.${name}`, { copy: 'name' }, { batchSize: 1000 })],
      });
      await applyPhase(db.client, plan, { phase: 'expand' });
      plans.push(plan);
    }
    return plans;
  }

  async function backfill(
    plan: Plan,
    options: Partial<Parameters<typeof applyPhase>[2]> = {},
  ): Promise<{ result: ApplyResult; events: ApplyEvent[]; ms: number }> {
    const events: ApplyEvent[] = [];
    const t0 = performance.now();
    const result = await applyPhase(db.client, plan, {
      phase: 'backfill',
      allowHazards: ['long-running'],
      pauseMs: 0,
      ...options,
      onEvent: (e) => events.push(e),
    });
    return { result, events, ms: performance.now() - t0 };
  }

  const heapBytes = async (name: string): Promise<number> =>
    Number((await db.query<{ b: string }>(`SELECT pg_relation_size('public.${name}')::text AS b`))[0]!.b);

  it('VACUUM every 10% of the rows: the table grows by about that share, not by all of it (pg_relation_size)', async () => {
    const [without, withVacuum] = (await tables(['doubled', 'reused'], 20_000)) as [Plan, Plan];
    const start = await heapBytes('doubled');
    expect(await heapBytes('reused')).toBe(start);
    const a = await backfill(without, { vacuumEvery: 0 });
    const b = await backfill(withVacuum);
    expect(a.events.some((e) => e.type === 'vacuum')).toBe(false);
    const rounds = b.events.filter((e) => e.type === 'vacuum');
    // 20 batches of 1000 rows: a round after every 2,000 rows, the last one after the last batch.
    expect(rounds.length).toBe(10);
    expect(rounds.every((e) => e.type === 'vacuum' && e.outcome === 'done')).toBe(true);
    const grownWithout = (await heapBytes('doubled')) / start;
    const grownWith = (await heapBytes('reused')) / start;
    // Every row rewritten with a copy of its text: the new versions are ~1.5× the old ones.
    expect(grownWithout).toBeGreaterThan(2.2);
    expect(grownWith).toBeLessThan(1.9);
    expect(grownWith).toBeLessThan(grownWithout - 0.6);
    for (const t of ['doubled', 'reused']) {
      const wrong = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM public.${t} WHERE copy IS DISTINCT FROM name`,
      );
      expect(wrong[0]!.n).toBe(0);
    }
  });

  it('a VACUUM round asks for SHARE UPDATE EXCLUSIVE: while it waits, a concurrent writer is not blocked; a round whose lock is held is skipped, the backfill goes on', async () => {
    const [plan] = (await tables(['contended'], 10_000)) as [Plan];
    const holder: pg.Client = await db.connect();
    const writer: pg.Client = await db.connect();
    const watcher: pg.Client = await db.connect();
    const applyPid = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
    const seen: { mode: string; granted: boolean }[] = [];
    const writes: { ok: boolean; ms: number }[] = [];
    let rounds = 0;
    let released: Promise<void> = Promise.resolve();
    try {
      const { result, events } = await backfill(plan, {
        testHooks: {
          beforeVacuum: async () => {
            rounds++;
            // Later rounds run once the holder is gone.
            if (rounds !== 1) return released;
            // What autovacuum holds while it works on the table.
            await holder.query('BEGIN');
            await holder.query('LOCK TABLE public.contended IN SHARE UPDATE EXCLUSIVE MODE');
            // While the VACUUM waits (up to lock_timeout, 200 ms): its request, and a writer.
            released = new Promise((done) => {
              setTimeout(() => {
                void holder.query('COMMIT').then(() => done());
              }, 400);
            });
            setTimeout(() => {
              void (async () => {
                const r = await watcher.query<{ mode: string; granted: boolean }>(
                  `SELECT mode, granted FROM pg_locks WHERE pid = $1 AND relation = 'public.contended'::regclass`,
                  [applyPid],
                );
                seen.push(...r.rows);
                const t0 = performance.now();
                await writer.query('SET statement_timeout = 2000');
                const ok = await writer
                  .query("UPDATE public.contended SET name = name || '!' WHERE id = 9999")
                  .then(() => true)
                  .catch(() => false);
                writes.push({ ok, ms: performance.now() - t0 });
              })();
            }, 60);
          },
        },
      });
      expect(result.steps[0]!.backfill?.rowsDone).toBe(10_000);
      expect(seen).toEqual([{ mode: 'ShareUpdateExclusiveLock', granted: false }]);
      // Let the writer's statement finish if it has not yet (it never waited for the VACUUM).
      for (let i = 0; i < 50 && writes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(writes.length).toBe(1);
      expect(writes[0]!.ok).toBe(true);
      expect(writes[0]!.ms).toBeLessThan(150);
      const vacuums = events.filter((e) => e.type === 'vacuum');
      expect(vacuums[0]).toMatchObject({ outcome: 'skipped', table: 'public.contended' });
      expect(vacuums[0]!.message).toMatch(
        /^backfill\.1: VACUUM public\.contended skipped this round: its lock was not had within 200 ms/,
      );
      expect(vacuums.slice(1).every((e) => e.type === 'vacuum' && e.outcome === 'done')).toBe(true);
      expect(vacuums.length).toBe(rounds);
      // The sync the writer made is kept: the row is backfilled from its newest version.
      const row = await db.query<{ copy: string; name: string }>(
        'SELECT copy, name FROM public.contended WHERE id = 9999',
      );
      expect(row[0]!.copy).toBe(row[0]!.name);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await Promise.all([holder.end(), writer.end(), watcher.end()]);
    }
  });

  it('with a connection of its own, a VACUUM round runs beside the batches (they go on while it runs); the last round is waited for', async () => {
    const [plan] = (await tables(['beside'], 20_000)) as [Plan];
    const events: ApplyEvent[] = [];
    const pids: number[] = [];
    const progressAt: number[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let rounds = 0;
    const result = await applyPhase(db.client, plan, {
      phase: 'backfill',
      allowHazards: ['long-running'],
      pauseMs: 0,
      sideConnection: async () => {
        const c = await db.connect();
        pids.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
        return c;
      },
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'backfill-progress') {
          progressAt.push(rounds);
          // The first round is held until five more batches have committed beside it.
          if (progressAt.filter((r) => r === 1).length >= 5) release();
        }
      },
      testHooks: {
        beforeVacuum: async () => {
          rounds++;
          if (rounds === 1) await Promise.race([held, new Promise((r) => setTimeout(r, 3000))]);
        },
      },
    });
    expect(result.steps[0]!.backfill?.rowsDone).toBe(20_000);
    // Batches committed while the first round was held: it did not run between them.
    expect(progressAt.filter((r) => r === 1).length).toBeGreaterThanOrEqual(5);
    const vacuums = events.filter((e) => e.type === 'vacuum');
    expect(vacuums.length).toBe(rounds);
    expect(vacuums.every((e) => e.type === 'vacuum' && e.outcome === 'done')).toBe(true);
    // The last event of the step's rounds comes before the step's end: the last round was waited for.
    const last = events.findLastIndex((e) => e.type === 'vacuum');
    expect(last).toBeLessThan(events.findIndex((e) => e.type === 'backfill-done'));
    // The rounds' own connection is closed when the step ends; nothing of zdm's is left running.
    expect(pids.length).toBe(1);
    let left = 1;
    for (let i = 0; i < 50 && left > 0; i++) {
      // A closed connection's backend leaves pg_stat_activity a moment after the client's Terminate.
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      left = (
        await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])', [
          pids,
        ])
      )[0]!.n;
    }
    expect(left).toBe(0);
    const wrong = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM public.beside WHERE copy IS DISTINCT FROM name',
    );
    expect(wrong[0]!.n).toBe(0);
  });

  it('--max-wal-rate: the batches wait so that the WAL written averages the cap; the rate is on the progress line', async () => {
    const [free, paced] = (await tables(['unpaced', 'paced'], 20_000)) as [Plan, Plan];
    const wal = async (): Promise<number> =>
      Number(
        (await db.query<{ b: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::text AS b"))[0]!.b,
      );
    const w0 = await wal();
    const a = await backfill(free, { vacuumEvery: 0 });
    const unpacedBytes = (await wal()) - w0;
    // Bytes per second: the paced run must take at least max(2 s, 3 × the unpaced run).
    const cap = Math.round(unpacedBytes / Math.max(2, (3 * a.ms) / 1000));
    const w1 = await wal();
    const b = await backfill(paced, { vacuumEvery: 0, maxWalRate: cap });
    const pacedBytes = (await wal()) - w1;
    const progress = b.events.filter((e) => e.type === 'backfill-progress');
    // Batches (not the last) that wrote faster than the cap are followed by the pause that brings their rate to it.
    const pauses = progress.map((e) => (e.type === 'backfill-progress' ? e.walPauseMs : 0));
    expect(pauses.filter((p) => p > 0).length).toBeGreaterThan(progress.length / 4);
    expect(pauses.at(-1)).toBe(0);
    // The run took at least the WAL it wrote (but the last batch's) over the cap.
    const lastBatchShare = 1 / progress.length;
    expect(b.ms).toBeGreaterThan(((pacedBytes * (1 - lastBatchShare)) / cap) * 1000 * 0.9);
    expect(b.ms).toBeGreaterThan(a.ms * 2);
    const shown = progress.find((e) => e.type === 'backfill-progress' && e.walPauseMs > 0)!;
    expect(shown.message).toMatch(/, WAL \d+(\.\d)? [kMG]B\/s \(over --max-wal-rate .*: pause \d+ ms\)$/);
    expect(
      a.events
        .filter((e) => e.type === 'backfill-progress')
        .every((e) => e.type === 'backfill-progress' && e.walPauseMs === 0),
    ).toBe(true);
    const rates = a.events.flatMap((e) => (e.type === 'backfill-progress' ? [e.walBytesPerSecond] : []));
    expect(rates.every((r) => r !== null)).toBe(true);
    expect(rates.filter((r) => (r ?? 0) > 0).length).toBeGreaterThan(rates.length / 2);
  });
});
