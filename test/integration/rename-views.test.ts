/**
 * Renames with no copy (`--renames views`, src/plan/techniques/rename-views.ts), planned by the real
 * planner and applied phase by phase while an old and a new application version write the table,
 * each on its own version schema's search_path (test/support/app-workload.ts): no application
 * statement may fail, every row ends with the value its last writer wrote, a second plan is empty;
 * `zdm rollback` before contract renames back; the WAL of a rename of a table with many rows stays
 * under 1 MB; the declared locks are the ones PostgreSQL takes (test/support/observed-locks.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase, planStatus } from '../../src/apply/index.js';
import { rollbackPlan } from '../../src/apply/rollback.js';
import { versionSearchPath } from '../../src/model/versions.js';
import type { Plan } from '../../src/plan/types.js';
import { planVersions } from '../../src/plan/versions.js';
import { makePlan } from '../../src/workflow/plan.js';
import { AppWorkload } from '../support/app-workload.js';
import { runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { runObserved } from '../support/observed-locks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('renames through version schemas of views (--renames views)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rename views');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rename-views-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function plan(name: string, yaml: string): Promise<Plan> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, yaml);
    return (await makePlan(db.client, { desiredPath: file, name, renames: 'views' })).plan;
  }
  async function replanEmpty(name: string, yaml: string): Promise<boolean> {
    const file = path.join(dir, `${name}-again.yaml`);
    await writeFile(file, yaml);
    return (await makePlan(db.client, { desiredPath: file })).empty;
  }
  const apply = (p: Plan, phase: 'expand' | 'backfill' | 'contract') =>
    applyPhase(db.client, p, { phase, allowHazards: ['app-compat'], pauseMs: 0 });
  const versionSchemas = async () =>
    (
      await db.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname ~ '^(public|app)_v[0-9a-f]{8}$' ORDER BY 1`,
      )
    ).map((r) => r.nspname);
  const columns = async (table: string) =>
    (
      await db.query<{ attname: string }>(
        `SELECT attname FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      )
    ).map((r) => r.attname);
  async function rows(sql: string): Promise<Map<number, string>> {
    const r = await db.query<{ id: string; v: string | null }>(sql);
    return new Map(r.map((x) => [Number(x.id), String(x.v)]));
  }

  it('renames users.name to display_name in place: zero failed statements through expand, backfill and contract', async () => {
    await db.exec(`
      CREATE TABLE public.users (id bigint PRIMARY KEY, name text NOT NULL DEFAULT 'anon', email text);
      CREATE INDEX users_name_idx ON public.users (name);
      CREATE TABLE public.teams (id integer PRIMARY KEY, label text);
      INSERT INTO public.users SELECT g, 'user ' || g, 'u' || g || '@x' FROM generate_series(1, 3000) g;
      ANALYZE public.users;`);
    const desired = `
version: 1
options: { renames: views }
schemas:
  public:
    tables:
      teams:
        columns:
          id: { type: integer, nullable: false }
          label: { type: text }
        primaryKey: { columns: [id] }
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: text, nullable: false, default: "'anon'", renamedFrom: name }
          email: { type: text }
        primaryKey: { columns: [id] }
        indexes:
          users_name_idx: { columns: [display_name] }
`;
    // options.renames in the desired state picks the view path too (no renames option given here).
    const file = path.join(dir, 'users.yaml');
    await writeFile(file, desired);
    const p = (await makePlan(db.client, { desiredPath: file, name: 'users' })).plan;
    const [old, neu] = planVersions(p);
    expect([old?.role, neu?.role]).toEqual(['old', 'new']);
    const initial = await rows('SELECT id, name AS v FROM public.users');
    const w = new AppWorkload(db.url, { schema: 'public', name: 'users' }, 'id', initial);
    // The old version as it runs today, on the base schema.
    const before = await w.start('old-app', 'name', 2);
    await sleep(150);
    const lsn0 = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0]!.l;
    await apply(p, 'expand');
    expect(await versionSchemas()).toEqual([old!.name, neu!.name].sort());
    const status = await planStatus(db.client);
    expect(status.versions.map((v) => `${v.role} ${v.searchPath}`).sort()).toEqual(
      [`new ${neu!.name}, public`, `old ${old!.name}, public`].sort(),
    );
    // The operator moves the old version onto its version schema (a restart with the printed
    // search_path), and deploys the new version on its own.
    const oldApp = await w.start('old-app', 'name', 3, { schema: old!.name, name: 'users' }, versionSearchPath(old!));
    await w.stopGroup(before);
    const newApp = await w.start(
      'new-app',
      'display_name',
      3,
      { schema: neu!.name, name: 'users' },
      versionSearchPath(neu!),
    );
    await sleep(150);
    await apply(p, 'backfill');
    expect(await columns('public.users')).toEqual(['id', 'display_name', 'email']);
    await sleep(200);
    await w.stopGroup(oldApp);
    await apply(p, 'contract');
    // The new version keeps running: its search_path now resolves to public.users.
    await sleep(150);
    await w.stopGroup(newApp);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    const lsn1 = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0]!.l;
    console.log(
      `rename through views under workload (PostgreSQL ${db.major}): ${report.statements} statements ${JSON.stringify(report.byRole)}, ` +
        `p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, 0 failed (WAL incl. the workload's: ${lsn0} → ${lsn1})`,
    );
    expect(report.byRole['old-app']!.updates).toBeGreaterThan(10);
    expect(report.byRole['new-app']!.updates).toBeGreaterThan(10);
    const got = await rows('SELECT id, display_name AS v FROM public.users');
    expect(got).toEqual(new Map([...w.expected()].map(([k, v]) => [k, String(v)])));
    expect(await versionSchemas()).toEqual([]);
    expect((await planStatus(db.client)).versions).toEqual([]);
    expect(await replanEmpty('users', desired)).toBe(true);
  });

  it('zdm rollback before contract renames back and drops the version schemas, the old version running throughout', async () => {
    await db.exec(`
      CREATE TABLE public.accounts (id bigint PRIMARY KEY, label text NOT NULL DEFAULT 'x');
      INSERT INTO public.accounts SELECT g, 'a' || g FROM generate_series(1, 2000) g;`);
    const base = `
version: 1
schemas:
  public:
    tables:
      accounts:
        columns:
          id: { type: bigint, nullable: false }
          LABEL
        primaryKey: { columns: [id] }
      teams:
        columns:
          id: { type: integer, nullable: false }
          label: { type: text }
        primaryKey: { columns: [id] }
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: text, nullable: false, default: "'anon'" }
          email: { type: text }
        primaryKey: { columns: [id] }
        indexes:
          users_name_idx: { columns: [display_name] }
`;
    const desired = base.replace('LABEL', `title: { type: text, nullable: false, default: "'x'", renamedFrom: label }`);
    const p = await plan('accounts', desired);
    const [old] = planVersions(p);
    const initial = await rows('SELECT id, label AS v FROM public.accounts');
    const w = new AppWorkload(db.url, { schema: 'public', name: 'accounts' }, 'id', initial);
    await apply(p, 'expand');
    const oldApp = await w.start(
      'old-app',
      'label',
      3,
      { schema: old!.name, name: 'accounts' },
      versionSearchPath(old!),
    );
    await sleep(100);
    await apply(p, 'backfill');
    expect(await columns('public.accounts')).toEqual(['id', 'title']);
    await sleep(100);
    const undone = await rollbackPlan(db.client, p);
    expect(undone.undone.map((u) => u.sql.join('; '))).toEqual([
      // PostgreSQL 18: the NOT NULL constraint renamed after the column goes back first.
      (db.major >= 18
        ? 'ALTER TABLE public.accounts RENAME CONSTRAINT accounts_title_not_null TO accounts_label_not_null; '
        : '') + 'ALTER TABLE public.accounts RENAME COLUMN title TO label',
      expect.stringMatching(/^DROP VIEW IF EXISTS public_v\w+\.\w+; .*DROP SCHEMA IF EXISTS public_v\w+$/),
      expect.stringMatching(/^DROP VIEW IF EXISTS public_v\w+\.\w+; .*DROP SCHEMA IF EXISTS public_v\w+$/),
    ]);
    // The old version's search_path now resolves to public.accounts, which has its names again.
    await sleep(150);
    await w.stopGroup(oldApp);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    expect(report.byRole['old-app']!.updates).toBeGreaterThan(10);
    expect(await columns('public.accounts')).toEqual(['id', 'label']);
    expect(await versionSchemas()).toEqual([]);
    expect(
      await replanEmpty('accounts', base.replace('LABEL', `label: { type: text, nullable: false, default: "'x'" }`)),
    ).toBe(true);
    // And the plan may be applied again from the start.
    await apply(p, 'expand');
    await apply(p, 'backfill');
    await apply(p, 'contract');
    expect(await columns('public.accounts')).toEqual(['id', 'title']);
  });

  it('writes under 1 MB of WAL to rename a column of a table with 300,000 rows', async () => {
    await db.exec(`
      CREATE TABLE public.events (id bigint PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX events_payload_idx ON public.events (payload);
      INSERT INTO public.events SELECT g, repeat('x', 40) || g, now() FROM generate_series(1, 300000) g;
      CHECKPOINT;`);
    const sizes = async () =>
      (
        await db.query<{ heap: string; total: string }>(
          `SELECT pg_relation_size('public.events')::text AS heap, pg_total_relation_size('public.events')::text AS total`,
        )
      )[0]!;
    const before = await sizes();
    const yaml = (await (await import('node:fs/promises')).readFile(path.join(dir, 'accounts.yaml'), 'utf8')).replace(
      'schemas:\n  public:\n    tables:\n',
      `schemas:\n  public:\n    tables:\n      events:\n        columns:\n          id: { type: bigint, nullable: false }\n          body: { type: text, nullable: false, renamedFrom: payload }\n          at: { type: timestamp with time zone, nullable: false, default: now() }\n        primaryKey: { columns: [id] }\n        indexes:\n          events_payload_idx: { columns: [body] }\n`,
    );
    const back = yaml
      .replace(
        'body: { type: text, nullable: false, renamedFrom: payload }',
        'payload: { type: text, nullable: false, renamedFrom: body }',
      )
      .replace('events_payload_idx: { columns: [body] }', 'events_payload_idx: { columns: [payload] }');
    const relfilenode = async () =>
      (await db.query<{ f: string }>(`SELECT pg_relation_filenode('public.events')::text AS f`))[0]!.f;
    const file0 = await relfilenode();
    // WAL is the whole server's: other sessions (test files running beside this one) only add to it.
    // So the rename is measured up to three times, back and forth, and the least is the bound.
    const renameMeasured = async (desired: string, name: string): Promise<number> => {
      const p = await plan(name, desired);
      const lsn0 = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0]!.l;
      await apply(p, 'expand');
      await apply(p, 'backfill');
      await apply(p, 'contract');
      return Number(
        (await db.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsn0}')::text AS b`))[0]!.b,
      );
    };
    const wals: number[] = [];
    let atBody = false;
    while (wals.length < 3 && !(wals.length > 0 && Math.min(...wals) < 1024 * 1024)) {
      wals.push(await renameMeasured(atBody ? back : yaml, `events-${wals.length + 1}`));
      atBody = !atBody;
    }
    if (!atBody) await renameMeasured(yaml, 'events-last');
    await writeFile(path.join(dir, 'events.yaml'), yaml);
    const wal = Math.min(...wals);
    const after = await sizes();
    console.log(
      `rename through views, 300,000 rows (PostgreSQL ${db.major}): WAL ${wals.join(', ')} bytes (heap ${before.heap} bytes); ` +
        `total size ${before.total} → ${after.total} bytes`,
    );
    expect(await columns('public.events')).toEqual(['id', 'body', 'at']);
    expect(wal).toBeLessThan(1024 * 1024);
    // No row was written: the table and its indexes are the same files, of the same size.
    expect(await relfilenode()).toBe(file0);
    expect(after.total).toBe(before.total);
  });

  it('declares the locks PostgreSQL takes (pg_locks), each step in turn', async () => {
    await db.exec(`CREATE TABLE public.lk (id int PRIMARY KEY, a text); CREATE TABLE public.lk2 (id int PRIMARY KEY);`);
    const yaml = (await (await import('node:fs/promises')).readFile(path.join(dir, 'events.yaml'), 'utf8'))
      .replace(
        'schemas:\n  public:\n    tables:\n',
        `schemas:\n  public:\n    tables:\n      lk:\n        columns:\n          id: { type: integer, nullable: false }\n          b: { type: text, renamedFrom: a }\n        primaryKey: { columns: [id] }\n      lk_renamed:\n        renamedFrom: lk2\n        columns:\n          id: { type: integer, nullable: false }\n        primaryKey: { name: lk2_pkey, columns: [id] }\n`,
      )
      .replace('renamedFrom: payload', '');
    const p = await plan('locks', yaml);
    // While a version schema's views are created (the step's transaction open), a writer goes through.
    const create = p.phases.flatMap((ph) => ph.steps).find((st) => st.id === 'expand.1');
    if (create === undefined) throw new Error('no expand.1');
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    try {
      await db.client.query('BEGIN');
      for (const q of create.sql) await db.client.query(q);
      await writer.query(`SET lock_timeout = '500ms'`);
      await writer.query(`INSERT INTO public.lk VALUES (1, 'x')`);
      await writer.query(`UPDATE public.lk SET a = 'y' WHERE id = 1`);
      await db.client.query('ROLLBACK');
    } finally {
      await writer.end();
    }
    const observed = await runObserved(db.client, p);
    // Two version schemas in expand, a rename in place per table in backfill, one drop in contract.
    expect(observed.length).toBe(5);
    for (const o of observed) expect(o.held, o.step).toEqual(o.declared);
    expect(await columns('public.lk')).toEqual(['id', 'b']);
    expect(await columns('public.lk_renamed')).toEqual(['id']);
  });

  it('a killed apply resumes: the journal skips the steps done and runs the rest', async () => {
    await db.exec(`CREATE TABLE public.resumed (id int PRIMARY KEY, old_name text);`);
    const yaml = (await (await import('node:fs/promises')).readFile(path.join(dir, 'locks.yaml'), 'utf8'))
      .replace(
        'schemas:\n  public:\n    tables:\n',
        `schemas:\n  public:\n    tables:\n      resumed:\n        columns:\n          id: { type: integer, nullable: false }\n          new_name: { type: text, renamedFrom: old_name }\n        primaryKey: { columns: [id] }\n`,
      )
      .replace('renamedFrom: a', '')
      .replace('renamedFrom: lk2', '');
    const p = await plan('resumed', yaml);
    const killed = (at: string) => ({
      testHooks: {
        afterStep: (id: string) => {
          if (id === at) throw new Error(`killed after ${id}`);
        },
      },
    });
    const run = (phase: 'expand' | 'backfill' | 'contract', extra = {}) =>
      applyPhase(db.client, p, { phase, allowHazards: ['app-compat'], pauseMs: 0, ...extra });
    await expect(run('expand', killed('expand.1'))).rejects.toThrow(/killed after expand.1/);
    expect((await versionSchemas()).length).toBe(1);
    const resumed = await run('expand');
    expect(resumed.resumed).toBe(true);
    expect(resumed.steps.map((s) => `${s.id} ${s.outcome}`)).toEqual(['expand.1 skipped', 'expand.2 applied']);
    await expect(
      run('backfill', {
        testHooks: {
          beforeStep: () => {
            throw new Error('killed');
          },
        },
      }),
    ).rejects.toThrow(/killed/);
    expect(await columns('public.resumed')).toEqual(['id', 'old_name']);
    await run('backfill');
    await run('contract');
    expect(await columns('public.resumed')).toEqual(['id', 'new_name']);
    expect(await versionSchemas()).toEqual([]);
  });

  it("the CLI: zdm plan --renames views, zdm apply prints each version's search_path, zdm status lists the live versions", async () => {
    await db.exec(`CREATE TABLE public.cli_t (id int PRIMARY KEY, before_name text);`);
    const file = path.join(dir, 'cli.yaml');
    await writeFile(
      file,
      (await (await import('node:fs/promises')).readFile(path.join(dir, 'resumed.yaml'), 'utf8'))
        .replace(
          'schemas:\n  public:\n    tables:\n',
          `schemas:\n  public:\n    tables:\n      cli_t:\n        columns:\n          id: { type: integer, nullable: false }\n          after_name: { type: text, renamedFrom: before_name }\n        primaryKey: { columns: [id] }\n`,
        )
        .replace('renamedFrom: old_name', ''),
    );
    const planFile = path.join(dir, 'cli.plan.yaml');
    const made = await runCli(['plan', '--schema', file, '-d', db.url, '--out', planFile, '--renames', 'views']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/create version schema public_v[0-9a-f]{8}/);
    const expand = await runCli(['apply', planFile, '--phase', 'expand', '-d', db.url]);
    expect(expand.code, expand.stderr).toBe(0);
    expect(expand.stdout).toMatch(/old application version \(public\): SET search_path = public_v[0-9a-f]{8}, public/);
    expect(expand.stdout).toMatch(/new application version \(public\): SET search_path = public_v[0-9a-f]{8}, public/);
    const status = await runCli(['status', '-d', db.url]);
    expect(status.stdout).toMatch(
      /live version: public_v[0-9a-f]{8} \(the old application version of public\): search_path public_v[0-9a-f]{8}, public/,
    );
    // The rename in place waits for the operator's word that the old version has moved.
    const refused = await runCli(['apply', planFile, '--phase', 'backfill', '-d', db.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/app-compat/);
    const backfill = await runCli([
      'apply',
      planFile,
      '--phase',
      'backfill',
      '-d',
      db.url,
      '--allow-hazards',
      'app-compat',
    ]);
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(backfill.stdout).toMatch(/next: once the old application version is gone, run contract/);
    const contract = await runCli([
      'apply',
      planFile,
      '--phase',
      'contract',
      '-d',
      db.url,
      '--allow-hazards',
      'app-compat',
    ]);
    expect(contract.code, contract.stderr).toBe(0);
    expect(contract.stdout).toMatch(/done: the version schemas are dropped/);
    expect((await runCli(['status', '-d', db.url])).stdout).not.toMatch(/live version/);
    expect(await columns('public.cli_t')).toEqual(['id', 'after_name']);
  });

  it('renames a table and its column in place: each version writes its own names, zero failed statements', async () => {
    await db.exec(`
      CREATE TABLE public.clients (id bigint PRIMARY KEY, nick text);
      INSERT INTO public.clients SELECT g, 'c' || g FROM generate_series(1, 1000) g;`);
    const yaml = (await (await import('node:fs/promises')).readFile(path.join(dir, 'cli.yaml'), 'utf8'))
      .replace(
        'schemas:\n  public:\n    tables:\n',
        `schemas:\n  public:\n    tables:\n      customers:\n        renamedFrom: clients\n        columns:\n          id: { type: bigint, nullable: false }\n          handle: { type: text, renamedFrom: nick }\n        primaryKey: { name: clients_pkey, columns: [id] }\n`,
      )
      .replace('renamedFrom: before_name', '');
    const p = await plan('customers', yaml);
    const [old, neu] = planVersions(p);
    const w = new AppWorkload(
      db.url,
      { schema: 'public', name: 'clients' },
      'id',
      await rows('SELECT id, nick AS v FROM public.clients'),
    );
    await apply(p, 'expand');
    // RETURNING, ON CONFLICT and a column left to its default go through a version's view.
    const direct = new pg.Client({
      connectionString: db.url,
      options: `-c search_path=${versionSearchPath(neu!).replaceAll(' ', '')}`,
    });
    await direct.connect();
    try {
      const ins = await direct.query(
        `INSERT INTO customers (id) VALUES (500000) ON CONFLICT (id) DO UPDATE SET handle = 'dup' RETURNING id, handle`,
      );
      expect(ins.rows).toEqual([{ id: '500000', handle: null }]);
      const upd = await direct.query(
        `INSERT INTO customers (id, handle) VALUES (500000, 'x') ON CONFLICT (id) DO UPDATE SET handle = excluded.handle RETURNING handle`,
      );
      expect(upd.rows).toEqual([{ handle: 'x' }]);
      expect((await direct.query(`DELETE FROM customers WHERE id = 500000 RETURNING handle`)).rows).toEqual([
        { handle: 'x' },
      ]);
    } finally {
      await direct.end();
    }
    const oldApp = await w.start('old-app', 'nick', 2, { schema: old!.name, name: 'clients' }, versionSearchPath(old!));
    const newApp = await w.start(
      'new-app',
      'handle',
      2,
      { schema: neu!.name, name: 'customers' },
      versionSearchPath(neu!),
    );
    await sleep(150);
    await apply(p, 'backfill');
    await sleep(150);
    await w.stopGroup(oldApp);
    await apply(p, 'contract');
    await sleep(100);
    await w.stopGroup(newApp);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    expect(report.byRole['old-app']!.updates).toBeGreaterThan(5);
    expect(report.byRole['new-app']!.updates).toBeGreaterThan(5);
    expect(await columns('public.customers')).toEqual(['id', 'handle']);
    const got = await rows('SELECT id, handle AS v FROM public.customers');
    expect(got).toEqual(new Map([...w.expected()].map(([k, v]) => [k, String(v)])));
    expect(await versionSchemas()).toEqual([]);
    expect(await replanEmpty('customers', yaml)).toBe(true);
  });
});
