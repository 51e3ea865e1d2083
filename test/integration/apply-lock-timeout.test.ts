/**
 * lock_timeout and retries: a step that cannot get its lock waits at most lock_timeout per try, so
 * the queries that queue behind it are never stalled for longer; it retries with backoff, succeeds
 * when the holder lets go, and otherwise fails as `lock-timeout` with nothing of the step applied.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, type ApplyEvent, applyPhase } from '../../src/apply/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { buildPlan, sqlStep } from '../support/plans.js';
import { startWorkload, timed } from '../support/workload.js';

const LOCK_TIMEOUT = 300;
/** Scheduling and round trips on a busy CI machine. */
const SLACK = 250;

interface Stamped {
  readonly at: number;
  readonly event: ApplyEvent;
}

describe('zdm apply: lock_timeout and retries', () => {
  let db: TestDatabase;
  let holder: pg.Client;
  let reader: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase('apply lock timeout');
    holder = await db.connect();
    reader = await db.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await reader?.end();
    await db?.drop();
  });

  const exists = async (rel: string): Promise<boolean> =>
    (await db.query<{ r: string | null }>(`SELECT to_regclass($1)::text AS r`, [rel]))[0]!.r !== null;

  it('waits lock_timeout per try, lets queued readers through, and succeeds once the holder releases', async () => {
    await db.exec(`CREATE TABLE public.lt1 (id int PRIMARY KEY, v int);
                   INSERT INTO public.lt1 SELECT g, g FROM generate_series(1, 1000) g`);
    const plan = await buildPlan(db.client, {
      id: 'p-lt1',
      expand: [
        sqlStep('expand.1', ['CREATE TABLE public.lt1_side (x int)', 'ALTER TABLE public.lt1 ADD COLUMN c int'], {
          locks: [{ relation: 'public.lt1', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
        }),
      ],
    });
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.lt1 IN ACCESS SHARE MODE');
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

    const t0 = performance.now();
    const events: Stamped[] = [];
    let readerLatency: Promise<number> | undefined;
    // Released after the second timed-out try, however long apply's own checks took before it
    // (on a loaded machine they can eat a fixed wall-clock window).
    let twoRetries!: () => void;
    const retriedTwice = new Promise<void>((resolve) => {
      twoRetries = resolve;
    });
    const run = applyPhase(db.client, plan, {
      phase: 'expand',
      lockTimeoutMs: LOCK_TIMEOUT,
      maxLockRetries: 8,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 200,
      onEvent: (event) => {
        events.push({ at: performance.now() - t0, event });
        if (events.filter((e) => e.event.type === 'lock-retry').length === 2) twoRetries();
        // A reader arriving while the ALTER waits for ACCESS EXCLUSIVE queues behind it.
        if (event.type === 'step-start' && event.attempt === 1) {
          readerLatency = new Promise((resolve) => setTimeout(resolve, 50)).then(async () => {
            const r = await timed(reader, 'SELECT count(*) FROM public.lt1');
            expect(r.error).toBeUndefined();
            return r.ms;
          });
        }
      },
    });
    await Promise.race([retriedTwice, run]);
    await holder.query('COMMIT');
    const released = performance.now() - t0;
    const result = await run;

    const retries = events.filter((e) => e.event.type === 'lock-retry');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    for (const r of retries) {
      if (r.event.type !== 'lock-retry') continue;
      expect(r.event.sqlState).toBe('55P03');
      expect(r.event.waitedMs).toBeGreaterThanOrEqual(LOCK_TIMEOUT - 10);
      expect(r.event.waitedMs).toBeLessThan(LOCK_TIMEOUT + SLACK);
      expect(r.event.delayMs).toBeGreaterThanOrEqual(50);
      expect(r.event.delayMs).toBeLessThanOrEqual(200);
      // Who held the lock is read from pg_locks while it is still held.
      if (r.at < released)
        expect(r.event.holders.map((h) => [h.pid, h.mode])).toContainEqual([holderPid, 'AccessShareLock']);
    }
    const tries = events.filter((e) => e.event.type === 'step-start');
    expect(tries.length).toBe(retries.length + 1);
    expect(result.steps[0]).toMatchObject({ outcome: 'applied', attempts: tries.length });

    const latency = await readerLatency!;
    expect(latency).toBeLessThan(LOCK_TIMEOUT + SLACK);

    expect(await exists('public.lt1_side')).toBe(true);
    const j = await db.query<{ status: string; attempts: number }>(
      `SELECT status, attempts FROM zdm.steps WHERE plan_id = 'p-lt1'`,
    );
    expect(j).toEqual([{ status: 'done', attempts: tries.length }]);
    // The session's own settings are restored.
    expect((await db.query<{ lock_timeout: string }>('SHOW lock_timeout'))[0]!.lock_timeout).toBe('0');
    console.log(
      `lock-timeout retry timings (ms): ${retries.map((r) => (r.event.type === 'lock-retry' ? `${r.event.waitedMs}+${r.event.delayMs}` : '')).join(', ')}; queued reader waited ${latency.toFixed(0)} ms`,
    );
  });

  it('gives up as lock-timeout after the retry budget, naming the lock and its holder, with nothing applied', async () => {
    await db.exec(`CREATE TABLE public.lt2 (id int PRIMARY KEY, v int);
                   INSERT INTO public.lt2 SELECT g, g FROM generate_series(1, 1000) g`);
    const plan = await buildPlan(db.client, {
      id: 'p-lt2',
      expand: [
        sqlStep('expand.1', ['CREATE TABLE public.lt2_side (x int)', 'ALTER TABLE public.lt2 ADD COLUMN c int'], {
          summary: 'add column public.lt2.c',
          locks: [{ relation: 'public.lt2', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
        }),
      ],
    });
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.lt2 IN ACCESS SHARE MODE');
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

    // An application reading the table the whole time.
    const workload = startWorkload(reader, () => ({ sql: 'SELECT v FROM public.lt2 WHERE id = 7' }), 10);
    const events: ApplyEvent[] = [];
    let err: unknown;
    const t0 = performance.now();
    try {
      await applyPhase(db.client, plan, {
        phase: 'expand',
        lockTimeoutMs: LOCK_TIMEOUT,
        maxLockRetries: 3,
        retryBaseDelayMs: 100,
        retryMaxDelayMs: 200,
        onEvent: (e) => events.push(e),
      });
    } catch (e) {
      err = e;
    }
    const elapsed = performance.now() - t0;
    const report = await workload.stop();
    await holder.query('COMMIT');

    expect(err).toBeInstanceOf(ApplyError);
    const e = err as ApplyError;
    expect(e.code).toBe('lock-timeout');
    expect(e.details).toMatchObject({ stepId: 'expand.1', sqlState: '55P03', attempts: 4 });
    expect(e.message).toContain('step expand.1 (add column public.lt2.c): could not get its lock after 4 tries');
    expect(e.message).toContain('it waits for ACCESS EXCLUSIVE on public.lt2');
    expect(e.message).toContain(`pid ${holderPid} holds AccessShareLock on public.lt2 (idle in transaction since `);
    expect(events.filter((x) => x.type === 'step-start')).toHaveLength(4);
    // 4 tries of ~lock_timeout each, plus 3 backoffs of at most 200 ms.
    expect(elapsed).toBeGreaterThanOrEqual(4 * LOCK_TIMEOUT);
    expect(elapsed).toBeLessThan(4 * (LOCK_TIMEOUT + SLACK) + 3 * 200);

    // Nothing of the step: neither the side table nor the column.
    expect(await exists('public.lt2_side')).toBe(false);
    const cols = await db.query(`SELECT 1 FROM pg_attribute WHERE attrelid = 'public.lt2'::regclass AND attname = 'c'`);
    expect(cols).toHaveLength(0);
    const j = await db.query<{ status: string; attempts: number; error: string }>(
      `SELECT status, attempts, error FROM zdm.steps WHERE plan_id = 'p-lt2'`,
    );
    expect(j[0]).toMatchObject({ status: 'failed', attempts: 4 });
    expect(j[0]!.error).toContain('could not get its lock');

    // The readers queued behind each try, never for longer than about one lock_timeout.
    expect(report.errors).toEqual([]);
    expect(report.statements).toBeGreaterThan(10);
    expect(report.maxMs).toBeLessThan(LOCK_TIMEOUT + SLACK);
    console.log(
      `reader during 4 timed-out tries: ${report.statements} statements, p50 ${report.p50Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(0)} ms (lock_timeout ${LOCK_TIMEOUT} ms)`,
    );

    // Once the holder is gone, the same command finishes the phase.
    const r = await applyPhase(db.client, plan, { phase: 'expand', lockTimeoutMs: LOCK_TIMEOUT });
    expect(r.status).toBe('applied');
    expect(await exists('public.lt2_side')).toBe(true);
  });

  it('retries a CREATE INDEX CONCURRENTLY that waits for its lock outside a transaction', async () => {
    await db.exec(`CREATE TABLE public.lt3 (id int PRIMARY KEY, v int);
                   INSERT INTO public.lt3 SELECT g, g FROM generate_series(1, 1000) g`);
    const plan = await buildPlan(db.client, {
      id: 'p-lt3',
      expand: [
        sqlStep('expand.1', 'CREATE INDEX CONCURRENTLY lt3_v_idx ON public.lt3 (v)', {
          transaction: false,
          concurrentIndex: { schema: 'public', name: 'lt3_v_idx' },
          locks: [{ relation: 'public.lt3', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }],
        }),
      ],
    });
    // SHARE conflicts with the build's SHARE UPDATE EXCLUSIVE.
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.lt3 IN SHARE MODE');
    const events: ApplyEvent[] = [];
    const run = applyPhase(db.client, plan, {
      phase: 'expand',
      lockTimeoutMs: LOCK_TIMEOUT,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 200,
      onEvent: (e) => events.push(e),
    });
    await new Promise((resolve) => setTimeout(resolve, 2 * LOCK_TIMEOUT));
    await holder.query('COMMIT');
    await run;
    const retries = events.filter((e) => e.type === 'lock-retry');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    for (const r of retries) {
      if (r.type === 'lock-retry') expect(r.waitedMs).toBeLessThan(LOCK_TIMEOUT + SLACK);
    }
    const ix = await db.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.lt3_v_idx'::regclass`,
    );
    expect(ix).toEqual([{ valid: true }]);
    expect((await db.query<{ s: string }>(`SHOW lock_timeout`))[0]).toEqual({ lock_timeout: '0' });
  });
});
