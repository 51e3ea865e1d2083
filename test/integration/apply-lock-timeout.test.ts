/**
 * Lock timeouts and the lock-queue guard (src/apply/guard.ts), step by step: a holder that appears
 * between the guard's look and the lock request costs the application one short lock_timeout, and
 * then zdm waits for it without queueing; a holder that never lets go makes the step fail after
 * --lock-wait with nothing applied; a concurrent build or a validation waits for its lock in one
 * try, since its queued SHARE UPDATE EXCLUSIVE request holds up no application statement.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, type ApplyEvent, applyPhase } from '../../src/apply/index.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { buildPlan, sqlStep } from '../support/plans.js';
import { startWorkload, type Timed, timed } from '../support/workload.js';

const LOCK_TIMEOUT = 300;
/** Scheduling and round trips on a busy CI machine. */
const SLACK = 250;

interface Stamped {
  readonly at: number;
  readonly event: ApplyEvent;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('zdm apply: lock_timeout per try, the guard, and --lock-wait', () => {
  let db: TestDatabase;
  let holder: pg.Client;
  let reader: pg.Client;
  let holderPid: number;
  beforeAll(async () => {
    db = await freshDatabase('apply lock timeout');
    holder = await db.connect();
    reader = await db.connect();
    holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  });
  afterAll(async () => {
    await holder?.end();
    await reader?.end();
    await db?.drop();
  });

  const exists = async (rel: string): Promise<boolean> =>
    (await db.query<{ r: string | null }>(`SELECT to_regclass($1)::text AS r`, [rel]))[0]!.r !== null;

  const table = async (name: string): Promise<void> =>
    db.exec(`CREATE TABLE public.${name} (id int PRIMARY KEY, v int);
             INSERT INTO public.${name} SELECT g, g FROM generate_series(1, 1000) g`);

  it('a holder that appears in the instant before the lock request costs one short try; then zdm waits for it without queueing', async () => {
    await table('lt1');
    const plan = await buildPlan(db.client, {
      id: 'p-lt1',
      expand: [
        sqlStep('expand.1', ['CREATE TABLE public.lt1_side (x int)', 'ALTER TABLE public.lt1 ADD COLUMN c int'], {
          locks: [{ relation: 'public.lt1', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
        }),
      ],
    });
    const t0 = performance.now();
    const events: Stamped[] = [];
    let queued: Promise<Timed<unknown>> | undefined;
    let duringGuard: Promise<Timed<unknown>> | undefined;
    let waiting!: () => void;
    const guardWaits = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const run = applyPhase(db.client, plan, {
      phase: 'expand',
      lockTimeoutMs: LOCK_TIMEOUT,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 200,
      testHooks: {
        // After the guard's look, before the lock request: a report starts on the table.
        beforeStep: async () => {
          await holder.query('BEGIN');
          await holder.query('LOCK TABLE public.lt1 IN ACCESS SHARE MODE');
        },
      },
      onEvent: (event) => {
        events.push({ at: performance.now() - t0, event });
        // A reader arriving while the ALTER waits for ACCESS EXCLUSIVE queues behind it.
        if (event.type === 'step-start' && event.attempt === 1) {
          queued = sleep(50).then(() => timed(reader, 'SELECT count(*) FROM public.lt1'));
        }
        // One arriving while the guard waits does not.
        if (event.type === 'lock-wait' && !duringGuard) {
          duringGuard = sleep(20).then(() => timed(reader, 'SELECT count(*) FROM public.lt1'));
          waiting();
        }
      },
    });
    await Promise.race([guardWaits, run]);
    await sleep(500);
    await holder.query('COMMIT');
    const released = performance.now() - t0;
    const result = await run;

    const retries = events.filter((e) => e.event.type === 'lock-retry');
    expect(retries).toHaveLength(1);
    const retry = retries[0]!.event;
    if (retry.type !== 'lock-retry') throw new Error('unreachable');
    expect(retry.sqlState).toBe('55P03');
    expect(retry.waitedMs).toBeGreaterThanOrEqual(LOCK_TIMEOUT - 10);
    expect(retry.waitedMs).toBeLessThan(LOCK_TIMEOUT + SLACK);
    expect(retry.holders.map((h) => [h.pid, h.mode])).toContainEqual([holderPid, 'AccessShareLock']);
    // Then the guard saw the holder and waited for it, saying who it is, until it let go.
    const waits = events.filter((e) => e.event.type === 'lock-wait');
    expect(waits.length).toBeGreaterThan(1);
    expect(waits.at(-1)!.at).toBeLessThan(released + SLACK);
    const last = waits.at(-1)!.event;
    expect(last.type === 'lock-wait' && last.blockers.map((b) => b.pid)).toEqual([holderPid]);
    expect(last.message).toMatch(
      new RegExp(`waiting for ACCESS EXCLUSIVE on public.lt1 without queueing .*pid ${holderPid} idle in transaction`),
    );
    expect(events.filter((e) => e.event.type === 'step-start')).toHaveLength(2);
    expect(result.steps[0]).toMatchObject({ outcome: 'applied', attempts: 2 });

    // The reader that queued behind the try waited at most about one lock_timeout; the one during the
    // guard's wait not at all.
    const q = await queued!;
    const g = await duringGuard!;
    expect(q.error).toBeUndefined();
    expect(g.error).toBeUndefined();
    expect(q.ms).toBeLessThan(LOCK_TIMEOUT + SLACK);
    expect(g.ms).toBeLessThan(SLACK);

    expect(await exists('public.lt1_side')).toBe(true);
    const j = await db.query<{ status: string; attempts: number }>(
      `SELECT status, attempts FROM zdm.steps WHERE plan_id = 'p-lt1'`,
    );
    expect(j).toEqual([{ status: 'done', attempts: 2 }]);
    // The session's own settings are restored.
    expect((await db.query<{ lock_timeout: string }>('SHOW lock_timeout'))[0]!.lock_timeout).toBe('0');
    console.log(
      `a holder appearing in the instant: the try gave up after ${retry.waitedMs} ms, the reader queued behind it ` +
        `waited ${q.ms.toFixed(0)} ms, the reader during the guard's wait ${g.ms.toFixed(1)} ms`,
    );
  });

  it('gives up as lock-timeout after --lock-wait, naming the holder, with nothing applied and no reader held up', async () => {
    await table('lt2');
    const plan = await buildPlan(db.client, {
      id: 'p-lt2',
      expand: [
        sqlStep('expand.1', ['CREATE TABLE public.lt2_side (x int)', 'ALTER TABLE public.lt2 ADD COLUMN c int'], {
          summary: 'add column public.lt2.c',
          locks: [{ relation: 'public.lt2', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }],
        }),
      ],
    });
    await holder.query(`SET application_name = 'forgotten psql'`);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.lt2 IN ACCESS SHARE MODE');
    await sleep(LOCK_TIMEOUT);

    // An application reading the table the whole time.
    const workload = startWorkload(reader, () => ({ sql: 'SELECT v FROM public.lt2 WHERE id = 7' }), 10);
    const events: ApplyEvent[] = [];
    let err: unknown;
    const t0 = performance.now();
    try {
      await applyPhase(db.client, plan, {
        phase: 'expand',
        lockTimeoutMs: LOCK_TIMEOUT,
        lockWaitMs: 1500,
        onEvent: (e) => events.push(e),
      });
    } catch (e) {
      err = e;
    }
    const elapsed = performance.now() - t0;
    const report = await workload.stop();
    await holder.query('COMMIT');
    await holder.query('RESET application_name');

    expect(err).toBeInstanceOf(ApplyError);
    const e = err as ApplyError;
    expect(e.code).toBe('lock-timeout');
    expect(e.details).toMatchObject({ stepId: 'expand.1', attempts: 0 });
    expect(e.details.holders?.map((h) => h.pid)).toEqual([holderPid]);
    expect(e.message).toMatch(
      /^step expand\.1 \(add column public\.lt2\.c\): waited 1\.\d s \(--lock-wait 1\.5 s\) for ACCESS EXCLUSIVE on public\.lt2/,
    );
    expect(e.message).toContain(`pid ${holderPid} [forgotten psql] idle in transaction, transaction open `);
    expect(e.message).toContain('holds AccessShareLock on public.lt2: LOCK TABLE public.lt2 IN ACCESS SHARE MODE');
    expect(e.message).toContain('--cancel-blockers-after');
    // No try was made: zdm never queued.
    expect(events.filter((x) => x.type === 'step-start' || x.type === 'lock-retry')).toEqual([]);
    expect(events.filter((x) => x.type === 'lock-wait').length).toBeGreaterThan(5);
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(1500 + 2 * SLACK);

    // Nothing of the step: neither the side table nor the column.
    expect(await exists('public.lt2_side')).toBe(false);
    const cols = await db.query(`SELECT 1 FROM pg_attribute WHERE attrelid = 'public.lt2'::regclass AND attname = 'c'`);
    expect(cols).toHaveLength(0);

    // The reader was never held up.
    expect(report.errors).toEqual([]);
    expect(report.statements).toBeGreaterThan(10);
    expect(report.maxMs).toBeLessThan(SLACK);
    console.log(
      `reader while zdm waited ${elapsed.toFixed(0)} ms without queueing: ${report.statements} statements, ` +
        `p50 ${report.p50Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(0)} ms`,
    );

    // Once the holder is gone, the same command finishes the phase.
    const r = await applyPhase(db.client, plan, { phase: 'expand', lockTimeoutMs: LOCK_TIMEOUT });
    expect(r.status).toBe('applied');
    expect(await exists('public.lt2_side')).toBe(true);
  });

  it('a concurrent build and a validation wait for their lock in one try, and writers go on meanwhile', async () => {
    await table('lt3');
    await db.exec('ALTER TABLE public.lt3 ADD CONSTRAINT lt3_v CHECK (v > 0) NOT VALID');
    const sue = [{ relation: 'public.lt3', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }] as const;
    const plan = await buildPlan(db.client, {
      id: 'p-lt3',
      expand: [
        sqlStep('expand.1', 'CREATE INDEX CONCURRENTLY lt3_v_idx ON public.lt3 (v)', {
          transaction: false,
          concurrentIndex: { schema: 'public', name: 'lt3_v_idx' },
          locks: sue,
        }),
      ],
      backfill: [sqlStep('backfill.1', 'ALTER TABLE public.lt3 VALIDATE CONSTRAINT lt3_v', { locks: sue })],
    });
    for (const phase of ['expand', 'backfill'] as const) {
      // Another maintenance job holds SHARE UPDATE EXCLUSIVE (a manual VACUUM, ANALYZE, another DDL).
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE public.lt3 IN SHARE UPDATE EXCLUSIVE MODE');
      const events: ApplyEvent[] = [];
      const run = applyPhase(db.client, plan, {
        phase,
        lockTimeoutMs: LOCK_TIMEOUT,
        sideConnection: () => db.connect(),
        onEvent: (e) => events.push(e),
      });
      // From the step's start, not the call's: the checks before it (a read of the whole schema)
      // take longer than a lock timeout on a busy machine.
      for (const t0 = Date.now(); !events.some((e) => e.type === 'step-start') && Date.now() - t0 < 10_000; ) {
        await sleep(10);
      }
      await sleep(4 * LOCK_TIMEOUT);
      const write = await timed(reader, 'UPDATE public.lt3 SET v = v + 1 WHERE id = 9');
      await holder.query('COMMIT');
      const result = await run;
      expect(write.error).toBeUndefined();
      expect(write.ms).toBeLessThan(SLACK);
      expect(events.filter((e) => e.type === 'lock-retry' || e.type === 'leftover-dropped')).toEqual([]);
      expect(result.steps[0]).toMatchObject({ outcome: 'applied', attempts: 1 });
      // Watched from the side session: it waited for the holder.
      const waits = events.filter((e) => e.type === 'lock-wait' && e.where === 'statement');
      expect(waits.flatMap((e) => (e.type === 'lock-wait' ? e.blockers.map((b) => b.pid) : []))).toContain(holderPid);
      expect(result.steps[0]!.durationMs).toBeGreaterThanOrEqual(3 * LOCK_TIMEOUT);
    }
    const ix = await db.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.lt3_v_idx'::regclass`,
    );
    expect(ix).toEqual([{ valid: true }]);
    const c = await db.query(`SELECT convalidated AS valid FROM pg_constraint WHERE conname = 'lt3_v'`);
    expect(c).toEqual([{ valid: true }]);
    expect((await db.query<{ s: string }>(`SHOW lock_timeout`))[0]).toEqual({ lock_timeout: '0' });
  });

  it('a concurrent build still waiting after --lock-wait fails naming what it waits for; the next run drops its INVALID index and builds it', async () => {
    await table('lt4');
    const plan = await buildPlan(db.client, {
      id: 'p-lt4',
      expand: [
        sqlStep('expand.1', 'CREATE INDEX CONCURRENTLY lt4_v_idx ON public.lt4 (v)', {
          transaction: false,
          concurrentIndex: { schema: 'public', name: 'lt4_v_idx' },
          locks: [{ relation: 'public.lt4', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }],
        }),
      ],
    });
    // A transaction with a snapshot older than the build: the build waits for it to end.
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query('SELECT count(*) FROM public.lt4');
    let err: unknown;
    try {
      await applyPhase(db.client, plan, {
        phase: 'expand',
        lockWaitMs: 1500,
        sideConnection: () => db.connect(),
      });
    } catch (e) {
      err = e;
    } finally {
      await holder.query('COMMIT');
    }
    expect(err).toBeInstanceOf(ApplyError);
    const e = err as ApplyError;
    expect(e.code).toBe('lock-timeout');
    expect(e.details.holders?.map((h) => h.pid)).toContain(holderPid);
    expect(e.message).toMatch(
      /--lock-wait 1\.5 s\) for SHARE UPDATE EXCLUSIVE on public\.lt4 and the older transactions/,
    );
    expect(e.message).toContain(
      'An INVALID index a concurrent build leaves is dropped and built again by the next run',
    );
    const invalid = await db.query(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.lt4_v_idx'::regclass`,
    );
    expect(invalid).toEqual([{ valid: false }]);

    const events: ApplyEvent[] = [];
    await applyPhase(db.client, plan, { phase: 'expand', onEvent: (x) => events.push(x) });
    expect(events.filter((x) => x.type === 'leftover-dropped')).toHaveLength(1);
    const valid = await db.query(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.lt4_v_idx'::regclass`,
    );
    expect(valid).toEqual([{ valid: true }]);
  });
});
