/**
 * apply's refusals (checksum, drift, phase order, hazards, concurrent apply), the dry run, the
 * post-check, the INVALID-index repair, and a plain expand → backfill → contract run with `status`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, type ApplyEvent, applyPhase, applyPlan, planStatus } from '../../src/apply/index.js';
import type { Plan } from '../../src/plan/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { backfillStep, buildPlan, sqlStep, withChecksum } from '../support/plans.js';

async function applyError(p: Promise<unknown>): Promise<ApplyError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplyError) return err;
    throw err;
  }
  throw new Error('expected an ApplyError, the apply succeeded');
}

const AEL = (relation: string) => [{ relation, mode: 'ACCESS EXCLUSIVE' as const, hold: 'instant' as const }];

describe('zdm apply: refusals and the basic flow', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('apply refusals');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const journalExists = async (): Promise<boolean> =>
    (await db.query<{ r: string | null }>(`SELECT pg_catalog.to_regnamespace('zdm')::text AS r`))[0]!.r !== null;
  const columns = async (table: string): Promise<string[]> =>
    (
      await db.query<{ c: string }>(
        `SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [table],
      )
    ).map((r) => r.c);

  it('refuses drift, out-of-order phases, unallowed hazards and an edited plan, before creating anything', async () => {
    await db.exec(`CREATE TABLE public.users (id bigint PRIMARY KEY, name text);
                   INSERT INTO public.users SELECT g, 'u' || g FROM generate_series(1, 100) g`);
    const plan = await buildPlan(db.client, {
      id: 'p-refusals',
      expand: [
        sqlStep('expand.1', 'ALTER TABLE public.users ADD COLUMN display_name text', { locks: AEL('public.users') }),
      ],
      backfill: [
        backfillStep('backfill.1', 'public.users', { display_name: 'name' }, { where: 'display_name IS NULL' }),
      ],
      contract: [
        sqlStep('contract.1', 'ALTER TABLE public.users DROP COLUMN name', {
          locks: AEL('public.users'),
          hazards: ['data-loss', 'app-compat'],
        }),
      ],
    });

    // Phase order: backfill before expand.
    const order = await applyError(applyPhase(db.client, plan, { phase: 'backfill', allowHazards: ['long-running'] }));
    expect(order.code).toBe('phase-order');
    expect(order.message).toContain('phase expand is not complete (not started)');
    expect(order.message).toContain('--phase expand');

    // Hazards: every offending step and hazard, and the exact flag.
    const contract = await applyError(applyPhase(db.client, plan, { phase: 'contract', dryRun: true }));
    expect(contract.code).toBe('phase-order');

    // Edited plan.
    const edited: Plan = {
      ...plan,
      phases: plan.phases.map((p) =>
        p.name === 'expand'
          ? { ...p, steps: [sqlStep('expand.1', 'ALTER TABLE public.users ADD COLUMN display_name varchar(10)')] }
          : p,
      ),
    };
    const sum = await applyError(applyPhase(db.client, edited, { phase: 'expand' }));
    expect(sum.code).toBe('checksum');
    expect(sum.message).toContain('edited');

    // Drift: the table changed after planning.
    await db.exec('ALTER TABLE public.users ADD COLUMN nickname text');
    const events: ApplyEvent[] = [];
    const drift = await applyError(applyPhase(db.client, plan, { phase: 'expand', onEvent: (e) => events.push(e) }));
    expect(drift.code).toBe('drift');
    expect(drift.message).toContain('table public.users differs');
    expect(drift.details.objects).toEqual([{ object: 'table public.users', difference: 'changed' }]);
    expect(await columns('public.users')).toEqual(['id', 'name', 'nickname']);
    // Nothing written, not even the journal.
    expect(await journalExists()).toBe(false);

    // A drift elsewhere is still a drift, said as such.
    await db.exec('ALTER TABLE public.users DROP COLUMN nickname; CREATE TABLE public.other (x int)');
    const elsewhere = await applyError(applyPhase(db.client, plan, { phase: 'expand' }));
    expect(elsewhere.code).toBe('drift');
    expect(elsewhere.message).toContain('the difference is elsewhere');
    await db.exec('DROP TABLE public.other');
    expect(await journalExists()).toBe(false);
  });

  it('runs expand, backfill, contract in order; a dry run changes nothing; status reports it all', async () => {
    const plan = await buildPlan(db.client, {
      id: 'p-flow',
      expand: [
        sqlStep('expand.1', 'ALTER TABLE public.users ADD COLUMN display_name text', { locks: AEL('public.users') }),
      ],
      backfill: [
        backfillStep(
          'backfill.1',
          'public.users',
          { display_name: "name || '!'" },
          { where: 'display_name IS NULL', batchSize: 30 },
        ),
      ],
      contract: [
        sqlStep('contract.1', 'ALTER TABLE public.users DROP COLUMN name', {
          locks: AEL('public.users'),
          hazards: ['data-loss', 'app-compat'],
        }),
      ],
    });

    const dry: ApplyEvent[] = [];
    const d = await applyPhase(db.client, plan, { phase: 'expand', dryRun: true, onEvent: (e) => dry.push(e) });
    expect(d.status).toBe('dry-run');
    expect(dry.filter((e) => e.type === 'would-run').map((e) => e.message)).toEqual([
      'expand.1: ALTER TABLE public.users ADD COLUMN display_name text — would run in one transaction:\n    ALTER TABLE public.users ADD COLUMN display_name text',
    ]);
    expect(await journalExists()).toBe(false);
    expect(await columns('public.users')).toEqual(['id', 'name']);

    // A dry run still refuses what a real run would.
    expect((await applyError(applyPlan(db.client, plan, { dryRun: true }))).code).toBe('hazards');
    const all = await applyPlan(db.client, plan, {
      dryRun: true,
      allowHazards: ['long-running', 'data-loss', 'app-compat'],
      onEvent: (e) => dry.push(e),
    });
    expect(all.phases.map((p) => p.status)).toEqual(['dry-run', 'dry-run', 'dry-run']);
    const backfillDry = dry.find((e) => e.type === 'would-run' && e.stepId === 'backfill.1');
    expect(backfillDry?.message).toContain('by primary-key (id)');
    expect(await journalExists()).toBe(false);

    const r1 = await applyPhase(db.client, plan, { phase: 'expand' });
    expect(r1.status).toBe('applied');
    expect(r1.steps.map((s) => s.outcome)).toEqual(['applied']);
    expect(await journalExists()).toBe(true);

    const again = await applyPhase(db.client, plan, { phase: 'expand' });
    expect(again.status).toBe('already-applied');

    // Backfill carries long-running: refused without it, with the exact flag.
    const hz = await applyError(applyPhase(db.client, plan, { phase: 'backfill' }));
    expect(hz.code).toBe('hazards');
    expect(hz.details.hazards).toEqual([{ stepId: 'backfill.1', hazard: 'long-running' }]);
    expect(hz.details.allowHazardsFlag).toBe('--allow-hazards long-running');

    const r2 = await applyPhase(db.client, plan, { phase: 'backfill', allowHazards: ['long-running'], pauseMs: 0 });
    expect(r2.steps[0]!.backfill).toMatchObject({ strategy: 'primary-key', rowsThisRun: 100, rowsDone: 100 });
    expect(r2.steps[0]?.backfill?.batchesThisRun).toBe(4); // 30 + 30 + 30 + 10
    expect((await db.query(`SELECT count(*)::int AS n FROM public.users WHERE display_name = name || '!'`))[0]!.n).toBe(
      100,
    );

    // Contract: data-loss and app-compat, both listed, nothing changed.
    const hz2 = await applyError(applyPhase(db.client, plan, { phase: 'contract', allowHazards: ['app-compat'] }));
    expect(hz2.code).toBe('hazards');
    expect(hz2.message).toContain('contract.1: data-loss');
    expect(hz2.message).not.toContain('contract.1: app-compat');
    expect(hz2.details.allowHazardsFlag).toBe('--allow-hazards data-loss,app-compat');
    expect(await columns('public.users')).toEqual(['id', 'name', 'display_name']);

    const status1 = await planStatus(db.client);
    const p1 = status1.plans.find((p) => p.id === 'p-flow')!;
    expect(p1.inFlight).toBe(true);
    expect(p1.nextPhase).toBe('contract');
    expect(p1.phases.map((p) => [p.name, p.status, p.stepsDone, p.stepsTotal])).toEqual([
      ['expand', 'done', 1, 1],
      ['backfill', 'done', 1, 1],
      ['contract', 'pending', 0, 1],
    ]);
    expect(p1.phases[1]?.steps[0]?.backfill).toMatchObject({ rowsDone: 100, batchesDone: 4, done: true });
    expect(JSON.parse(JSON.stringify(status1))).toEqual(status1);

    await applyPhase(db.client, plan, { phase: 'contract', allowHazards: ['data-loss', 'app-compat'] });
    expect(await columns('public.users')).toEqual(['id', 'display_name']);
    const status2 = await planStatus(db.client);
    expect(status2.plans.find((p) => p.id === 'p-flow')!.inFlight).toBe(false);
    expect(status2.backfillsInProgress).toEqual([]);

    // The journal holds the plan under its checksum: a different plan under the same id is refused.
    const other = withChecksum({ ...plan, createdAt: '2027-01-01T00:00:00Z' });
    const dup = await applyError(applyPhase(db.client, other, { phase: 'expand' }));
    expect(dup.code).toBe('checksum');
    expect(dup.message).toContain('another plan under the same id');
  });

  it('refuses a second concurrent apply, naming the one running', async () => {
    await db.exec('CREATE TABLE public.conc (id int PRIMARY KEY)');
    const plan = await buildPlan(db.client, {
      id: 'p-conc',
      expand: [sqlStep('expand.1', 'ALTER TABLE public.conc ADD COLUMN v int', { locks: AEL('public.conc') })],
    });
    const first = await db.connect();
    const firstPid = (await first.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const isRunning = new Promise<void>((r) => {
      started = r;
    });
    const running = applyPhase(first, plan, {
      phase: 'expand',
      testHooks: {
        beforeStep: async () => {
          started();
          await released;
        },
      },
    });
    await isRunning;
    try {
      const second = await applyError(applyPhase(db.client, plan, { phase: 'expand' }));
      expect(second.code).toBe('locked');
      expect(second.message).toMatch(
        new RegExp(`another zdm apply is running on this database \\(pid ${firstPid} since \\d{4}-`),
      );
      expect(second.message).toContain('zdm apply p-conc expand');
      const st = await planStatus(db.client);
      expect(st.activeApply?.pid).toBe(firstPid);
    } finally {
      release();
      await running;
      await first.end();
    }
    expect(await columns('public.conc')).toEqual(['id', 'v']);
    expect((await planStatus(db.client)).activeApply).toBeUndefined();
  });

  it('drops an INVALID leftover of a failed CREATE INDEX CONCURRENTLY and builds the index again', async () => {
    await db.exec(`CREATE TABLE public.emails (id int PRIMARY KEY, email text NOT NULL);
                   INSERT INTO public.emails SELECT g, 'e' || g FROM generate_series(1, 1000) g;
                   INSERT INTO public.emails VALUES (1001, 'e1')`);
    const step = sqlStep('expand.1', 'CREATE UNIQUE INDEX CONCURRENTLY emails_email_key ON public.emails (email)', {
      transaction: false,
      concurrentIndex: { schema: 'public', name: 'emails_email_key' },
      locks: [{ relation: 'public.emails', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }],
      hazards: ['long-running'],
    });
    await db.exec(`DELETE FROM public.emails WHERE id = 1001`);
    const plan = await buildPlan(db.client, { id: 'p-invalid', expand: [step] });
    await db.exec(`INSERT INTO public.emails VALUES (1001, 'e1')`);

    const failed = await applyError(applyPhase(db.client, plan, { phase: 'expand', allowHazards: ['long-running'] }));
    expect(failed.code).toBe('step-failed');
    expect(failed.details.sqlState).toBe('23505');
    const leftover = await db.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.emails_email_key'::regclass`,
    );
    expect(leftover).toEqual([{ valid: false }]);

    await db.exec(`DELETE FROM public.emails WHERE id = 1001`);
    const events: ApplyEvent[] = [];
    const r = await applyPhase(db.client, plan, {
      phase: 'expand',
      allowHazards: ['long-running'],
      onEvent: (e) => events.push(e),
    });
    expect(r.resumed).toBe(true);
    expect(events.filter((e) => e.type === 'leftover-dropped').map((e) => e.message)).toEqual([
      'expand.1: dropped INVALID index public.emails_email_key left by an earlier failed build',
    ]);
    const rebuilt = await db.query<{ valid: boolean }>(
      `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'public.emails_email_key'::regclass`,
    );
    expect(rebuilt).toEqual([{ valid: true }]);
    const journal = await db.query<{ status: string; attempts: number }>(
      `SELECT status, attempts FROM zdm.steps WHERE plan_id = 'p-invalid'`,
    );
    expect(journal).toEqual([{ status: 'done', attempts: 2 }]);
  });

  it('bounds a statement by statement_timeout and says which option to raise', async () => {
    await db.exec('CREATE TABLE public.st (id int PRIMARY KEY)');
    const plan = await buildPlan(db.client, {
      id: 'p-stmt-timeout',
      expand: [
        sqlStep('expand.1', ['ALTER TABLE public.st ADD COLUMN v int', 'SELECT pg_sleep(1)'], { summary: 'slow step' }),
      ],
    });
    const err = await applyError(applyPhase(db.client, plan, { phase: 'expand', statementTimeoutMs: 200 }));
    expect(err.code).toBe('step-failed');
    expect(err.details).toMatchObject({ stepId: 'expand.1', sqlState: '57014' });
    expect(err.message).toContain('statement_timeout 200 ms expired');
    expect(await columns('public.st')).toEqual(['id']);
    expect((await db.query<{ statement_timeout: string }>('SHOW statement_timeout'))[0]!.statement_timeout).toBe('0');
  });

  it('post-check: a schema that came out differently is reported by object, and the phase stays open', async () => {
    await db.exec('CREATE TABLE public.pc (id int PRIMARY KEY)');
    const plan = await buildPlan(db.client, {
      id: 'p-post',
      expand: [
        sqlStep('expand.1', 'ALTER TABLE public.pc ADD COLUMN a int', { locks: AEL('public.pc') }),
        sqlStep('expand.2', 'ALTER TABLE public.pc ADD COLUMN b int', { locks: AEL('public.pc') }),
      ],
    });
    const meddler = await db.connect();
    try {
      const err = await applyError(
        applyPhase(db.client, plan, {
          phase: 'expand',
          testHooks: {
            afterStep: async (id) => {
              if (id === 'expand.1') await meddler.query('ALTER TABLE public.pc ADD COLUMN c int');
            },
          },
        }),
      );
      expect(err.code).toBe('post-check');
      expect(err.message).toContain('table public.pc differs');
      const st = await planStatus(db.client);
      expect(st.plans.find((p) => p.id === 'p-post')?.phases[0]?.status).toBe('in-progress');
    } finally {
      await meddler.end();
    }
  });
});
