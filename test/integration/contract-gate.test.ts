/**
 * The contract gate (src/apply/old-writes.ts, src/sql/old-writes.ts): while a rename is between
 * expand and contract, the sync trigger notes the old application version's last write; contract
 * refuses, changing nothing, while that version wrote within --old-writes-quiet, and goes once it
 * has been quiet that long or with --force. Under the old-app/new-app workload: no application
 * statement fails, and the tracking takes no row lock (a concurrent old-version writer is not
 * blocked by one whose transaction is open). An application role with no privilege on schema zdm
 * writes through it; rollback and contract drop it; a contract stopped part-way resumes, guarded
 * until its swap has run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplyError, applyPhase, planStatus } from '../../src/apply/index.js';
import { rollbackPlan } from '../../src/apply/rollback.js';
import { serializePlan } from '../../src/plan/index.js';
import type { OldWritesGate, Plan, SqlStep } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { AppWorkload } from '../support/app-workload.js';
import { runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { heldLocks, relations } from '../support/observed-locks.js';

const ALLOW = ['long-running', 'data-loss'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const desired = (table: string, from: string, to: string) => `
version: 1
schemas:
  public:
    tables:
      ${table}:
        columns:
          id: { type: bigint, nullable: false }
          ${to}: { type: text, renamedFrom: ${from} }
        primaryKey: { columns: [id] }
`;

describe('the contract gate', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('contract gate');
    // The desired states here have no comment on schema public: no plan removes it, whichever test runs alone.
    await db.exec('COMMENT ON SCHEMA public IS NULL');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-gate-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function plan(name: string, yaml: string): Promise<Plan> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, yaml);
    return (await makePlan(db.client, { desiredPath: file, name, batchSize: 200 })).plan;
  }
  const apply = (p: Plan, phase: 'expand' | 'backfill' | 'contract', extra: object = {}) =>
    applyPhase(db.client, p, { phase, allowHazards: [...ALLOW], pauseMs: 0, ...extra });
  function gateOf(p: Plan): OldWritesGate {
    const step = p.phases
      .flatMap((ph) => ph.steps)
      .find((s): s is SqlStep => s.kind === 'sql' && s.oldWrites !== undefined);
    if (step?.oldWrites === undefined) throw new Error('the plan has no contract gate');
    return step.oldWrites;
  }
  async function table(name: string, column: string): Promise<Map<number, string>> {
    await db.exec(`
      CREATE TABLE public.${name} (id bigint PRIMARY KEY, ${column} text);
      INSERT INTO public.${name} SELECT g, 'v' || g FROM generate_series(1, 500) g;`);
    return new Map(Array.from({ length: 500 }, (_, i) => [i + 1, `v${i + 1}`]));
  }
  const exists = async (sql: string) => (await db.query<{ x: string | null }>(`SELECT (${sql})::text AS x`))[0]!.x;
  /**
   * An UPDATE of the old column that surely changes a row: the workload deletes rows, so a fixed id
   * may be gone (a write to no row fires no trigger). The lowest id (`first`) or the highest.
   */
  async function updateOneRow(c: pg.Client, name: string, end: 'first' | 'last'): Promise<void> {
    const order = end === 'first' ? 'ASC' : 'DESC';
    for (let i = 0; i < 20; i++) {
      const r = await c.query(
        `UPDATE public.users SET name = $1 WHERE id = (SELECT id FROM public.users ORDER BY id ${order} LIMIT 1)`,
        [name],
      );
      if (r.rowCount === 1) return;
    }
    throw new Error('no row of public.users to update');
  }

  it('refuses contract while the old version writes, shows the time in status, goes once it is quiet', async () => {
    const initial = await table('users', 'name');
    const p = await plan('gate-users', desired('users', 'name', 'display_name'));
    const gate = gateOf(p);
    expect(gate).toMatchObject({
      table: { schema: 'public', name: 'users' },
      column: 'name',
      newColumn: 'display_name',
    });
    expect(gate.sequence.schema).toBe('zdm');
    const seq = `zdm.${gate.sequence.name}`;

    const w = new AppWorkload(db.url, { schema: 'public', name: 'users' }, 'id', initial);
    const old = await w.start('old-app', 'name', 2);
    await sleep(100);
    await apply(p, 'expand');
    // Expand alone: old-version writes are already being noted.
    await w.start('new-app', 'display_name', 2);
    await sleep(300);
    await apply(p, 'backfill');
    await sleep(200);

    const status = await planStatus(db.client);
    expect(status.oldWrites).toHaveLength(1);
    const seen = status.oldWrites[0]!;
    expect(seen).toMatchObject({ table: 'public.users', column: 'name', newColumn: 'display_name', tracked: true });
    expect(seen.lastWriteAt).not.toBeNull();
    expect(Date.now() - Date.parse(seen.lastWriteAt!)).toBeLessThan(5000);

    // The CLI: status shows the time; contract is refused with exit 1, naming table, column and time.
    const planFile = path.join(dir, 'gate-users.plan.yaml');
    await writeFile(planFile, serializePlan(p));
    const st = await runCli(['status', '--database-url', db.url]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(
      /old-version writes of public\.users\.name \(renamed to display_name\): last \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ s ago\)/,
    );
    const refused = await runCli([
      'apply',
      planFile,
      '--phase',
      'contract',
      '--allow-hazards',
      ALLOW.join(','),
      '--old-writes-quiet',
      '2s',
      '--database-url',
      db.url,
    ]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(
      /contract refused: the old application version still writes: it wrote public\.users\.name \(renamed to display_name\) at \d{4}-[\dT:.-]+Z/,
    );

    // The engine: a typed error, and nothing changed.
    const err = await apply(p, 'contract', { oldWritesQuietMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).code).toBe('old-writes');
    expect((err as ApplyError).exitCode).toBe(1);
    expect((err as ApplyError).details.oldWrites?.[0]).toMatchObject({ table: 'public.users', column: 'name' });
    const journal = await db.query(`SELECT phase FROM zdm.phases WHERE plan_id = $1 AND phase = 'contract'`, [p.id]);
    expect(journal).toEqual([]);
    expect(await exists(`to_regclass('${seq}')`)).not.toBeNull();
    expect(
      await db.query(`SELECT 1 FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'name'`),
    ).toHaveLength(1);

    // No row lock, no wait: an old-version write whose transaction stays open holds only the
    // table's ROW EXCLUSIVE and, on the tracking sequence, locks no writer conflicts with; another
    // old-version write, which sets the sequence too, goes through meanwhile.
    const a = await db.connect();
    const b = await db.connect();
    try {
      await a.query(`SELECT setval('${seq}', 1)`);
      await a.query('BEGIN');
      await updateOneRow(a, 'held', 'first');
      expect(Number((await a.query(`SELECT last_value FROM ${seq}`)).rows[0].last_value)).toBeGreaterThan(1);
      expect(await heldLocks(a, await relations(a))).toEqual(['ROW EXCLUSIVE on public.users']);
      const aPid = (await a.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
      const onTracking = await db.query<{ locktype: string; mode: string; rel: string | null }>(
        `SELECT l.locktype, l.mode, l.relation::regclass::text AS rel FROM pg_locks l
          WHERE l.pid = $1 AND l.granted AND (l.locktype = 'tuple' OR l.relation = '${seq}'::regclass)`,
        [aPid],
      );
      expect(
        onTracking.every((l) => l.locktype === 'relation' && ['AccessShareLock', 'RowExclusiveLock'].includes(l.mode)),
      ).toBe(true);
      await b.query(`SELECT setval('${seq}', 1)`);
      const t0 = performance.now();
      await b.query(`SET statement_timeout = '5s'`);
      await updateOneRow(b, 'other', 'last');
      await b.query(`INSERT INTO public.users (id, name) VALUES (100000, 'old insert')`);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(Number((await b.query(`SELECT last_value FROM ${seq}`)).rows[0].last_value)).toBeGreaterThan(1);
      await a.query('ROLLBACK');
    } finally {
      await a.end();
      await b.end();
    }

    // The old version stops: once it has been quiet for the period, contract goes.
    await w.stopGroup(old);
    await sleep(2200);
    const done = await apply(p, 'contract', { oldWritesQuietMs: 1000 });
    expect(done.status).toBe('applied');
    await sleep(100);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    expect(report.byRole['old-app']!.updates).toBeGreaterThan(10);
    // The tracking went with contract.
    expect(await exists(`to_regclass('${seq}')`)).toBeNull();
    expect(await exists(`to_regprocedure('${seq}()')`)).toBeNull();
    expect((await planStatus(db.client)).oldWrites).toEqual([]);
  });

  it('--force overrides the gate; the default quiet period (1 h) refuses writes of a minute ago', async () => {
    const initial = await table('accounts', 'label');
    const p = await plan('gate-accounts', desired('accounts', 'label', 'title'));
    const w = new AppWorkload(db.url, { schema: 'public', name: 'accounts' }, 'id', initial);
    const old = await w.start('old-app', 'label', 2);
    await apply(p, 'expand');
    const neu = await w.start('new-app', 'title', 2);
    await sleep(300);
    await apply(p, 'backfill');
    await w.stopGroup(old);
    const err = await apply(p, 'contract').catch((e: unknown) => e);
    expect((err as ApplyError).code).toBe('old-writes');
    expect((err as ApplyError).message).toContain('within --old-writes-quiet 1 h');
    const warnings: string[] = [];
    const done = await apply(p, 'contract', {
      force: true,
      onEvent: (e: { type: string; message: string }) => e.type === 'warning' && warnings.push(e.message),
    });
    expect(done.status).toBe('applied');
    expect(warnings.join('\n')).toMatch(
      /--force: contract runs although the old application version wrote public\.accounts\.label/,
    );
    await w.stopGroup(neu);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
  });

  it('an application role with no privilege on schema zdm writes through the tracking; rollback drops it', async () => {
    await table('notes', 'body');
    const p = await plan('gate-notes', desired('notes', 'body', 'text'));
    const seq = `zdm.${gateOf(p).sequence.name}`;
    await apply(p, 'expand');
    const role = `zdm_gate_app_${db.name.slice(-8)}`;
    await db.exec(
      `CREATE ROLE ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT, INSERT, UPDATE ON public.notes TO ${role};
       CREATE SCHEMA ${role} AUTHORIZATION ${role};`,
    );
    const app = await db.connect();
    try {
      await app.query(`SET ROLE ${role}`);
      await app.query(`UPDATE public.notes SET body = 'by the old version' WHERE id = 1`);
      await app.query(`INSERT INTO public.notes (id, body) VALUES (1000, 'old insert')`);
      // The journal stays closed to it.
      const denied = await app.query('SELECT count(*) FROM zdm.plans').catch((e: Error) => e);
      expect(denied).toBeInstanceOf(Error);
      // Its search_path cannot redirect the SECURITY DEFINER function: an operator `<` of its own
      // ahead of pg_catalog is never called (it would fail the write), nor can it set the sequence.
      await app.query(`
        CREATE FUNCTION ${role}.lt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
        CREATE OPERATOR ${role}.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = ${role}.lt);
        SET search_path = ${role}, pg_catalog, public;`);
      await db.exec(`SELECT setval('${seq}', 1)`);
      await app.query(`UPDATE public.notes SET body = 'old, odd search_path' WHERE id = 2`);
      expect(Number((await db.query<{ v: string }>(`SELECT last_value AS v FROM ${seq}`))[0]!.v)).toBeGreaterThan(1);
      expect(await app.query(`SELECT setval('${seq}', 1)`).catch((e: Error) => e)).toBeInstanceOf(Error);
    } finally {
      await app.end();
    }
    const status = await planStatus(db.client);
    expect(status.oldWrites.find((x) => x.table === 'public.notes')?.lastWriteAt).not.toBeNull();
    // The role and what it made go first: rollback checks the schema is the one expand started from.
    await db.exec(`DROP OWNED BY ${role}; DROP ROLE ${role};`);
    await rollbackPlan(db.client, p);
    expect(await exists(`to_regclass('${seq}')`)).toBeNull();
    expect(await exists(`to_regprocedure('${seq}()')`)).toBeNull();
  });

  it('a type change under the same name is not tracked: both versions write that name', async () => {
    await db.exec(`CREATE TABLE public.amounts (id bigint PRIMARY KEY, n integer)`);
    const p = await plan(
      'gate-amounts',
      `
version: 1
schemas:
  public:
    tables:
      amounts:
        columns:
          id: { type: bigint, nullable: false }
          n: { type: bigint }
        primaryKey: { columns: [id] }
`,
    );
    expect(p.phases.flatMap((ph) => ph.steps).some((s) => s.kind === 'sql' && s.oldWrites !== undefined)).toBe(false);
    expect(p.phases.flatMap((ph) => ph.steps.flatMap((s) => s.sql)).some((s) => s.includes('old_writes'))).toBe(false);
  });
});

describe('the contract gate and a contract that stopped part-way', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('contract gate resume');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-gate-resume-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('resumes: the gate still guards the rename whose swap has not run, and is gone with it', async () => {
    await db.exec(`
      CREATE TABLE public.items (id bigint PRIMARY KEY, code text, extra text);
      INSERT INTO public.items SELECT g, 'c' || g, 'e' || g FROM generate_series(1, 100) g;`);
    const file = path.join(dir, 'items.yaml');
    await writeFile(
      file,
      `
version: 1
schemas:
  public:
    tables:
      items:
        columns:
          id: { type: bigint, nullable: false }
          sku: { type: text, renamedFrom: code }
        primaryKey: { columns: [id] }
`,
    );
    const p = (await makePlan(db.client, { desiredPath: file, name: 'items' })).plan;
    const contract = p.phases.find((ph) => ph.name === 'contract')?.steps ?? [];
    expect(contract.map((s) => [s.id, s.kind === 'sql' && s.oldWrites !== undefined])).toEqual([
      ['contract.1', true],
      ['contract.2', false],
    ]);
    const opts = { allowHazards: ['data-loss' as const], pauseMs: 0 };
    const oldWrite = () => db.exec(`UPDATE public.items SET code = 'old ' || pg_backend_pid() WHERE id = 7`);
    const codeOf = (e: unknown) => (e instanceof ApplyError ? e.code : String(e));
    await applyPhase(db.client, p, { ...opts, phase: 'expand' });
    await applyPhase(db.client, p, { ...opts, phase: 'backfill' });
    await oldWrite();
    // Stopped (Ctrl-C) before the first step, the gate forced: the phase is started, nothing done.
    const stop = new AbortController();
    stop.abort();
    const first = await applyPhase(db.client, p, {
      ...opts,
      phase: 'contract',
      force: true,
      signal: stop.signal,
    }).catch((e: unknown) => e);
    expect(codeOf(first)).toBe('interrupted');
    // The old version writes again: the resumed contract is refused as a first one would be.
    await oldWrite();
    const again = await applyPhase(db.client, p, { ...opts, phase: 'contract' }).catch((e: unknown) => e);
    expect(codeOf(again)).toBe('old-writes');
    // Forced, and stopped after the swap (contract.1): the rename's tracking went with it.
    const stop2 = new AbortController();
    const third = await applyPhase(db.client, p, {
      ...opts,
      phase: 'contract',
      force: true,
      signal: stop2.signal,
      testHooks: { afterStep: (id) => (id === 'contract.1' ? stop2.abort() : undefined) },
    }).catch((e: unknown) => e);
    expect(codeOf(third)).toBe('interrupted');
    expect((await planStatus(db.client)).oldWrites).toEqual([]);
    // Resumed at the default quiet period, without --force: nothing left to guard, contract.2 runs.
    const done = await applyPhase(db.client, p, { ...opts, phase: 'contract' });
    expect(done.status).toBe('applied');
    expect(done.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['contract.1', 'skipped'],
      ['contract.2', 'applied'],
    ]);
  });
});
