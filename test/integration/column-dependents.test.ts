/**
 * A policy of another table over a column that a plan retypes through a second column (replace-
 * column's contract swap), or retypes in place and drops (src/plan/techniques/column-dependents.ts),
 * applied phase by phase under a concurrent workload: clients of the application's own role (the
 * policy applies to them) write the policy's table, others write the column's table, through the
 * steps that drop the policy and create it again: no statement may fail, every row ends with the
 * value its last writer wrote, and a second plan is empty.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { AppWorkload } from '../support/app-workload.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a policy of another table over a retyped column, under a workload', () => {
  let db: TestDatabase;
  let dir: string;
  const role = `zdm_deps_app_${process.pid}`;
  beforeAll(async () => {
    db = await freshDatabase('column dependents');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-column-dependents-'));
  });
  afterAll(async () => {
    await db?.exec(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function rows(sql: string): Promise<Map<number, string>> {
    const r = await db.query<{ id: string; v: string | null }>(sql);
    return new Map(r.map((x) => [Number(x.id), String(x.v)]));
  }

  it('users.level integer → bigint while docs (whose policy reads it) and users are written: 0 failed', async () => {
    await db.exec(`
      CREATE ROLE ${role} LOGIN PASSWORD 'app';
      CREATE TABLE public.users (id bigint PRIMARY KEY, level integer NOT NULL);
      INSERT INTO public.users SELECT g, g % 5 FROM generate_series(1, 3000) g;
      CREATE TABLE public.docs (id bigint PRIMARY KEY, owner bigint NOT NULL);
      INSERT INTO public.docs SELECT g, g FROM generate_series(1, 3000) g;
      ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
      CREATE POLICY visible ON public.docs USING (owner > 0 OR EXISTS (SELECT FROM public.users u WHERE u.id = owner AND u.level < 0));
      GRANT SELECT, INSERT, UPDATE, DELETE ON public.docs TO ${role};
      GRANT SELECT ON public.users TO ${role};
      ANALYZE;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          level: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
        grants:
          ${role}: [SELECT]
      docs:
        columns:
          id: { type: bigint, nullable: false }
          owner: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
        rowLevelSecurity: true
        policies:
          visible: { using: "owner > 0 OR EXISTS (SELECT FROM users u WHERE u.id = docs.owner AND u.level < 0)" }
        grants:
          ${role}: [SELECT, INSERT, UPDATE, DELETE]
`;
    const file = path.join(dir, 'desired.yaml');
    await writeFile(file, desired);
    const { plan } = await makePlan(db.client, { desiredPath: file, batchSize: 200 });
    const swap = plan.phases.find((ph) => ph.name === 'contract')?.steps[0];
    expect(swap?.summary).toMatch(/; policy visible on public\.docs dropped and created again around it$/);
    expect(swap?.kind === 'sql' ? swap.sql[0] : undefined).toBe(
      'LOCK TABLE public.docs, public.users IN ACCESS EXCLUSIVE MODE',
    );
    const apply = (phase: 'expand' | 'backfill' | 'contract') =>
      applyPhase(db.client, plan, { phase, allowHazards: ['long-running'], pauseMs: 0, oldWritesQuietMs: 0 });

    const url = new URL(db.url);
    url.username = role;
    url.password = 'app';
    const docs = new AppWorkload(
      url.toString(),
      { schema: 'public', name: 'docs' },
      'id',
      await rows('SELECT id, owner AS v FROM public.docs'),
      (n) => n,
    );
    const users = new AppWorkload(
      db.url,
      { schema: 'public', name: 'users' },
      'id',
      await rows('SELECT id, level AS v FROM public.users'),
      (n) => n,
    );
    await docs.start('docs-app', 'owner', 3);
    await users.start('users-app', 'level', 2);
    await sleep(150);
    await apply('expand');
    await sleep(150);
    await apply('backfill');
    await sleep(150);
    await apply('contract');
    await sleep(150);
    const d = await docs.stop();
    const u = await users.stop();
    console.log(
      `policy of another table over a retyped column under workload (PostgreSQL ${db.major}): ` +
        `docs ${d.statements} statements (p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms), ` +
        `users ${u.statements} statements (p99 ${u.p99Ms.toFixed(1)} ms, max ${u.maxMs.toFixed(1)} ms), 0 failed`,
    );
    expect(d.failures).toEqual([]);
    expect(u.failures).toEqual([]);
    expect(d.byRole['docs-app']!.updates).toBeGreaterThan(10);
    expect(u.byRole['users-app']!.updates).toBeGreaterThan(10);
    expect(await rows('SELECT id, owner AS v FROM public.docs')).toEqual(
      new Map([...docs.expected()].map(([k, v]) => [k, String(v)])),
    );
    expect(await rows('SELECT id, level AS v FROM public.users')).toEqual(
      new Map([...users.expected()].map(([k, v]) => [k, String(v)])),
    );
    const type = await db.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'level'`,
    );
    expect(type).toEqual([{ t: 'bigint' }]);
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  });

  it('users.name varchar(10) → varchar(20) in place and users.nick dropped while docs (whose policy reads both) and users are written: 0 failed', async () => {
    await db.exec(`
      DROP TABLE IF EXISTS public.docs, public.users;
      CREATE TABLE public.users (id bigint PRIMARY KEY, name varchar(10) NOT NULL DEFAULT 'x', nick text);
      INSERT INTO public.users SELECT g, 'u' || (g % 1000), 'n' || g FROM generate_series(1, 3000) g;
      CREATE TABLE public.docs (id bigint PRIMARY KEY, owner bigint NOT NULL);
      INSERT INTO public.docs SELECT g, g FROM generate_series(1, 3000) g;
      ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
      CREATE POLICY visible ON public.docs USING (owner > 0 OR EXISTS (SELECT FROM public.users u WHERE u.id = owner AND u.name = 'root' AND u.nick IS NULL));
      GRANT SELECT, INSERT, UPDATE, DELETE ON public.docs TO ${role};
      GRANT SELECT ON public.users TO ${role};
      ANALYZE;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          name: { type: varchar(20), nullable: false, default: "'x'" }
        primaryKey: { columns: [id] }
        grants:
          ${role}: [SELECT]
      docs:
        columns:
          id: { type: bigint, nullable: false }
          owner: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
        rowLevelSecurity: true
        policies:
          visible: { using: "owner > 0 OR EXISTS (SELECT FROM users u WHERE u.id = docs.owner AND u.name::text = 'root')" }
        grants:
          ${role}: [SELECT, INSERT, UPDATE, DELETE]
`;
    const file = path.join(dir, 'in-place.yaml');
    await writeFile(file, desired);
    const { plan } = await makePlan(db.client, { desiredPath: file });
    const summaries = plan.phases.flatMap((ph) => ph.steps.map((st) => `${ph.name}: ${st.summary}`));
    expect(summaries).toEqual([
      expect.stringMatching(
        /^expand: change type of public\.users\.name .*; policy visible on public\.docs dropped and created again around it$/,
      ),
      expect.stringMatching(
        /^contract: drop column public\.users\.nick and its data; policy visible on public\.docs dropped and created again around it$/,
      ),
    ]);
    const apply = (phase: 'expand' | 'backfill' | 'contract') =>
      applyPhase(db.client, plan, { phase, allowHazards: ['data-loss'], pauseMs: 0, oldWritesQuietMs: 0 });
    const url = new URL(db.url);
    url.username = role;
    url.password = 'app';
    const docs = new AppWorkload(
      url.toString(),
      { schema: 'public', name: 'docs' },
      'id',
      await rows('SELECT id, owner AS v FROM public.docs'),
      (n) => n,
    );
    const users = new AppWorkload(
      db.url,
      { schema: 'public', name: 'users' },
      'id',
      await rows('SELECT id, name AS v FROM public.users'),
      (n) => `v${n % 100000}`,
    );
    await docs.start('docs-app', 'owner', 3);
    await users.start('users-app', 'name', 2);
    await sleep(150);
    await apply('expand');
    await sleep(150);
    await apply('backfill');
    await apply('contract');
    await sleep(150);
    const d = await docs.stop();
    const u = await users.stop();
    console.log(
      `in-place type change and column drop under a policy of another table, under workload (PostgreSQL ${db.major}): ` +
        `docs ${d.statements} statements (p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(1)} ms), ` +
        `users ${u.statements} statements (p99 ${u.p99Ms.toFixed(1)} ms, max ${u.maxMs.toFixed(1)} ms), 0 failed`,
    );
    expect(d.failures).toEqual([]);
    expect(u.failures).toEqual([]);
    expect(d.byRole['docs-app']!.updates).toBeGreaterThan(10);
    expect(await rows('SELECT id, owner AS v FROM public.docs')).toEqual(
      new Map([...docs.expected()].map(([k, v]) => [k, String(v)])),
    );
    expect(await rows('SELECT id, name AS v FROM public.users')).toEqual(
      new Map([...users.expected()].map(([k, v]) => [k, String(v)])),
    );
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  });

  it('users.label renamed to handle (old-app writes label, new-app handle) while docs, whose policy reads it, is written: 0 failed', async () => {
    await db.exec(`
      DROP TABLE IF EXISTS public.docs, public.users;
      CREATE TABLE public.users (id bigint PRIMARY KEY, label text NOT NULL);
      INSERT INTO public.users SELECT g, 'l' || g FROM generate_series(1, 3000) g;
      CREATE TABLE public.docs (id bigint PRIMARY KEY, owner bigint NOT NULL);
      INSERT INTO public.docs SELECT g, g FROM generate_series(1, 3000) g;
      ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
      CREATE POLICY visible ON public.docs USING (owner > 0 OR EXISTS (SELECT FROM public.users u WHERE u.id = owner AND u.label = 'root'));
      GRANT SELECT, INSERT, UPDATE, DELETE ON public.docs TO ${role};
      GRANT SELECT ON public.users TO ${role};
      ANALYZE;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          handle: { type: text, nullable: false, renamedFrom: label }
        primaryKey: { columns: [id] }
        grants:
          ${role}: [SELECT]
      docs:
        columns:
          id: { type: bigint, nullable: false }
          owner: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
        rowLevelSecurity: true
        policies:
          visible: { using: "owner > 0 OR EXISTS (SELECT FROM users u WHERE u.id = docs.owner AND u.handle = 'root')" }
        grants:
          ${role}: [SELECT, INSERT, UPDATE, DELETE]
`;
    const file = path.join(dir, 'rename.yaml');
    await writeFile(file, desired);
    const { plan } = await makePlan(db.client, { desiredPath: file, batchSize: 200 });
    const swap = plan.phases.find((ph) => ph.name === 'contract')?.steps[0];
    expect(swap?.summary).toMatch(/; policy visible on public\.docs dropped and created again around it$/);
    const apply = (phase: 'expand' | 'backfill' | 'contract') =>
      applyPhase(db.client, plan, { phase, allowHazards: ['long-running'], pauseMs: 0, oldWritesQuietMs: 0 });
    const url = new URL(db.url);
    url.username = role;
    url.password = 'app';
    const docs = new AppWorkload(
      url.toString(),
      { schema: 'public', name: 'docs' },
      'id',
      await rows('SELECT id, owner AS v FROM public.docs'),
      (n) => n,
    );
    const users = new AppWorkload(
      db.url,
      { schema: 'public', name: 'users' },
      'id',
      await rows('SELECT id, label AS v FROM public.users'),
    );
    await docs.start('docs-app', 'owner', 2);
    const old = await users.start('old-app', 'label', 2);
    await sleep(150);
    await apply('expand');
    await users.start('new-app', 'handle', 2);
    await sleep(150);
    await apply('backfill');
    await sleep(150);
    await users.stopGroup(old);
    await apply('contract');
    await sleep(150);
    const d = await docs.stop();
    const u = await users.stop();
    console.log(
      `rename under a policy of another table, old-app + new-app (PostgreSQL ${db.major}): ` +
        `docs ${d.statements} statements (max ${d.maxMs.toFixed(1)} ms), users ${u.statements} statements ` +
        `${JSON.stringify(u.byRole)} (max ${u.maxMs.toFixed(1)} ms), 0 failed`,
    );
    expect(d.failures).toEqual([]);
    expect(u.failures).toEqual([]);
    expect(u.byRole['old-app']!.updates).toBeGreaterThan(10);
    expect(u.byRole['new-app']!.updates).toBeGreaterThan(10);
    expect(await rows('SELECT id, owner AS v FROM public.docs')).toEqual(
      new Map([...docs.expected()].map(([k, v]) => [k, String(v)])),
    );
    expect(await rows('SELECT id, handle AS v FROM public.users')).toEqual(
      new Map([...users.expected()].map(([k, v]) => [k, String(v)])),
    );
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  });
});
