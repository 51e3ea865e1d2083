/**
 * `zdm rollback` (src/apply/rollback.ts): after expand, and after backfill, the table is exactly as
 * before (schema fingerprint and every row); after contract has started, rollback refuses.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, applyPhase } from '../../src/apply/index.js';
import { type RollbackEvent, rollbackPlan } from '../../src/apply/rollback.js';
import { introspect } from '../../src/introspect/index.js';
import { fingerprint } from '../../src/model/canonical.js';
import { withoutJournal } from '../../src/model/objects.js';
import type { Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { startWorkload } from '../support/workload.js';

const ALLOW = ['long-running', 'fires-user-triggers', 'data-loss'] as const;

describe('zdm rollback', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rollback');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rollback-'));
    await db.exec(`
      CREATE TABLE public.users (id bigint PRIMARY KEY, name varchar(200) NOT NULL, n integer CHECK (n > 0));
      CREATE INDEX idx_users_n ON public.users (n);
      INSERT INTO public.users SELECT g, 'user ' || g, g FROM generate_series(1, 1000) g;`);
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const desired = `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: varchar(200), nullable: false, renamedFrom: name }
          n: { type: bigint }
        primaryKey: { columns: [id] }
        checks:
          users_n_check: { expression: n > 0 }
        indexes:
          idx_users_n: { columns: [n] }
          idx_users_display_name: { columns: [display_name] }
`;
  async function plan(name: string): Promise<Plan> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, desired);
    return (await makePlan(db.client, { desiredPath: file, name, batchSize: 100 })).plan;
  }
  const snapshot = async () => ({
    schema: fingerprint(withoutJournal(await introspect(db.client))),
    rows: await db.query('SELECT * FROM public.users ORDER BY id'),
    triggers: await db.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`),
    functions: await db.query(`SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace`),
  });
  const apply = (p: Plan, phase: 'expand' | 'backfill' | 'contract') =>
    applyPhase(db.client, p, { phase, allowHazards: [...ALLOW], pauseMs: 0 });

  it('after expand: the table is exactly as before, and the plan can be applied again', async () => {
    const before = await snapshot();
    const p = await plan('rb-expand');
    await apply(p, 'expand');
    await db.exec(`UPDATE public.users SET name = 'changed while expanded' WHERE id = 5`);
    const r = await rollbackPlan(db.client, p);
    expect(r.undone.length).toBeGreaterThan(0);
    const after = await snapshot();
    expect(after.schema).toBe(before.schema);
    expect(after.triggers).toEqual(before.triggers);
    expect(after.functions).toEqual(before.functions);
    expect(after.rows.find((x) => x.id === '5')).toMatchObject({ name: 'changed while expanded' });
    await db.exec(`UPDATE public.users SET name = 'user 5' WHERE id = 5`);
    expect(await snapshot()).toEqual(before);
    expect((await rollbackPlan(db.client, p)).nothingToDo).toBe(true);
  });

  it('after backfill: the table is exactly as before (schema and data)', async () => {
    const before = await snapshot();
    const p = await plan('rb-backfill');
    await apply(p, 'expand');
    await apply(p, 'backfill');
    const dry = await rollbackPlan(db.client, p, { dryRun: true });
    expect(dry.undone.flatMap((u) => u.sql).join('\n')).toMatch(/DROP TRIGGER IF EXISTS/);
    await rollbackPlan(db.client, p);
    expect(await snapshot()).toEqual(before);
  });

  it('waits for a long transaction without queueing, and --cancel-blockers-after ends it (listed and journaled)', async () => {
    const before = await snapshot();
    const p = await plan('rb-blocked');
    await apply(p, 'expand');
    const report = await db.connect();
    const readers = [await db.connect(), await db.connect()];
    try {
      await report.query(`SET application_name = 'report'`);
      const pid = (await report.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await report.query('BEGIN');
      await report.query('SELECT count(*) FROM public.users');
      const sleeping = report.query('SELECT pg_sleep(8)').then(
        () => 'finished',
        (e: Error) => e.message,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const workload = startWorkload(readers, (i) => ({
        sql: 'SELECT name FROM public.users WHERE id = $1',
        values: [1 + (i % 1000)],
      }));
      const events: RollbackEvent[] = [];
      const t0 = performance.now();
      await rollbackPlan(db.client, p, {
        cancelBlockersAfterMs: 1000,
        sideConnection: () => db.connect(),
        onEvent: (e) => events.push(e),
      });
      const elapsed = performance.now() - t0;
      const app = await workload.stop();
      expect(await sleeping).toMatch(/canceling statement due to user request/);
      await report.query('ROLLBACK');
      expect(elapsed).toBeLessThan(5000);
      const waits = events.filter((e) => e.type === 'lock-wait');
      expect(waits.length).toBeGreaterThan(0);
      expect(waits[0]!.message).toMatch(new RegExp(`without queueing .*pid ${pid} \\[report\\] active`));
      const actions = events.filter((e) => e.type === 'blocker-action');
      expect(actions.map((a) => a.type === 'blocker-action' && [a.action, a.blocker.pid, a.signalled])).toEqual([
        ['cancel', pid, true],
      ]);
      // The record of the cancelled session outlives the plan's journal rows, which rollback removes.
      expect(
        await db.query(`SELECT plan_id, phase, action, pid FROM zdm.blocker_actions WHERE plan_id = $1`, [p.id]),
      ).toEqual([{ plan_id: p.id, phase: 'rollback', action: 'cancel', pid }]);
      expect(app.errors).toEqual([]);
      expect(app.maxMs).toBeLessThan(300);
      expect(await snapshot()).toEqual(before);
      console.log(
        `rollback beside a report: ${elapsed.toFixed(0)} ms; readers ${app.statements} statements, p99 ${app.p99Ms.toFixed(1)} ms, worst ${app.maxMs.toFixed(0)} ms`,
      );
    } finally {
      await report.end();
      for (const r of readers) await r.end();
    }
  }, 60_000);

  it('after expand: new views and materialized views (their indexes and comments) are dropped; a replaced view is refused', async () => {
    const before = await snapshot();
    const withViews = (replace: boolean) => `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          name: { type: varchar(200), nullable: false }
          n: { type: integer }
        primaryKey: { columns: [id] }
        checks:
          users_n_check: { expression: n > 0 }
        indexes:
          idx_users_n: { columns: [n] }
    views:
      user_names:
        definition: SELECT id, name FROM users
        comment: new in this plan
        columns:
          name: { comment: the name }
${replace ? '      kept:\n        definition: SELECT id, n FROM users\n' : ''}    materializedViews:
      user_count:
        definition: SELECT count(*) AS n FROM users
        comment: new too
        indexes:
          user_count_n: { columns: [n], unique: true, comment: one row }
`;
    const file = path.join(dir, 'rb-views.yaml');
    await writeFile(file, withViews(false));
    const p = (await makePlan(db.client, { desiredPath: file, name: 'rb-views', scratchUrl: adminUrl() })).plan;
    expect(p.phases[0]!.steps.map((s) => s.summary)).toEqual([
      expect.stringMatching(/^create materialized view public\.user_count with 1 index/),
      'create view public.user_names',
    ]);
    await apply(p, 'expand');
    const r = await rollbackPlan(db.client, p);
    expect(r.undone.map((u) => u.sql)).toEqual([
      ['DROP VIEW IF EXISTS public.user_names'],
      ['DROP INDEX IF EXISTS public.user_count_n', 'DROP MATERIALIZED VIEW IF EXISTS public.user_count'],
    ]);
    expect((await snapshot()).schema).toBe(before.schema);

    // A view that existed before, replaced: its old definition is not in the plan.
    await db.exec('CREATE VIEW kept AS SELECT id FROM users');
    try {
      await writeFile(file, withViews(true));
      const q = (await makePlan(db.client, { desiredPath: file, name: 'rb-views-2', scratchUrl: adminUrl() })).plan;
      await apply(q, 'expand');
      const err = await rollbackPlan(db.client, q).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /replace view public\.kept .*: no automatic undo for: CREATE OR REPLACE VIEW public\.kept/,
      );
      await apply(q, 'backfill');
      await apply(q, 'contract');
    } finally {
      await db.exec('DROP VIEW IF EXISTS user_names; DROP MATERIALIZED VIEW IF EXISTS user_count; DROP VIEW kept');
    }
  });

  it('after expand: a new trigger function and its trigger are dropped', async () => {
    const before = await snapshot();
    const file = path.join(dir, 'rb-trigger.yaml');
    await writeFile(
      file,
      `${desired}    functions:
      touch:
        returns: trigger
        language: plpgsql
        body: BEGIN RETURN NEW; END
    triggers:
      users:
        users_touch:
          timing: before
          events: [update]
          forEach: row
          function: touch
`
        .replace(
          'display_name: { type: varchar(200), nullable: false, renamedFrom: name }',
          'name: { type: varchar(200), nullable: false }',
        )
        .replace('n: { type: bigint }', 'n: { type: integer }')
        .replace('          idx_users_display_name: { columns: [display_name] }\n', ''),
    );
    const p = (await makePlan(db.client, { desiredPath: file, name: 'rb-trigger', scratchUrl: adminUrl() })).plan;
    expect(p.phases[0]!.steps.map((s) => s.summary)).toEqual([
      'create function public.touch',
      'create trigger users_touch on public.users',
    ]);
    await apply(p, 'expand');
    const r = await rollbackPlan(db.client, p);
    expect(r.undone.map((u) => u.sql)).toEqual([
      ['DROP TRIGGER IF EXISTS users_touch ON public.users'],
      ['DROP FUNCTION IF EXISTS public.touch()'],
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('after contract has started: refused, saying why', async () => {
    const p = await plan('rb-contract');
    for (const phase of ['expand', 'backfill', 'contract'] as const) await apply(p, phase);
    const err = await rollbackPlan(db.client, p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).message).toMatch(/contract has started, so rollback is refused/);
  });
});
