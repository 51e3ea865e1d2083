/**
 * Column rename and non-coercible type change (src/plan/techniques/replace-column/), planned by
 * the real planner and applied phase by phase while a concurrent workload of old-app and new-app
 * clients inserts, updates and deletes (test/support/app-workload.ts): no application statement may
 * fail, every row must end with the value its last writer wrote, no row lost or duplicated, and a
 * second plan must be empty.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import type { Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { AppWorkload } from '../support/app-workload.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { spawnApply } from '../support/spawn-apply.js';

const ALLOW = ['long-running', 'fires-user-triggers', 'data-loss'] as const;

describe('rename and type change through a sync trigger', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('replace column');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-replace-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function plan(name: string, yaml: string, batchSize = 200): Promise<Plan> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, yaml);
    const made = await makePlan(db.client, { desiredPath: file, name, batchSize });
    return made.plan;
  }
  async function replan(name: string, yaml: string): Promise<boolean> {
    const file = path.join(dir, `${name}-again.yaml`);
    await writeFile(file, yaml);
    return (await makePlan(db.client, { desiredPath: file })).empty;
  }
  // The contract gate is off (oldWritesQuietMs 0): these tests check the sync under writes of both
  // versions up to contract; the gate has its own test (contract-gate.test.ts).
  const apply = (p: Plan, phase: 'expand' | 'backfill' | 'contract') =>
    applyPhase(db.client, p, { phase, allowHazards: [...ALLOW], pauseMs: 0, oldWritesQuietMs: 0 });

  async function rows(sql: string): Promise<Map<number, string>> {
    const r = await db.query<{ id: string; v: string | null }>(sql);
    const ids = r.map((x) => Number(x.id));
    expect(new Set(ids).size, 'no duplicated row').toBe(ids.length);
    return new Map(r.map((x) => [Number(x.id), String(x.v)]));
  }
  function expectSame(actual: Map<number, string>, expected: ReadonlyMap<number, string | number>): void {
    const want = new Map([...expected].map(([k, v]) => [k, String(v)]));
    const lost = [...want.keys()].filter((k) => !actual.has(k));
    const extra = [...actual.keys()].filter((k) => !want.has(k));
    const wrong = [...want].filter(([k, v]) => actual.has(k) && actual.get(k) !== v).slice(0, 5);
    expect({ lost, extra, wrong }).toEqual({ lost: [], extra: [], wrong: [] });
  }

  it('renames users.name to display_name under an old-app + new-app workload', async () => {
    await db.exec(`
      CREATE TABLE public.users (id bigint PRIMARY KEY, name varchar(200) NOT NULL DEFAULT 'anon', email text);
      CREATE INDEX idx_users_name ON public.users (name);
      INSERT INTO public.users SELECT g, 'user ' || g, 'u' || g || '@x' FROM generate_series(1, 3000) g;
      ANALYZE public.users;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: varchar(200), nullable: false, default: "'anon'", renamedFrom: name }
          email: { type: text }
        primaryKey: { columns: [id] }
        indexes:
          idx_users_display_name: { columns: [display_name] }
`;
    const p = await plan('rename-display-name', desired);
    const initial = await rows('SELECT id, name AS v FROM public.users');
    const w = new AppWorkload(db.url, { schema: 'public', name: 'users' }, 'id', initial);
    const old = await w.start('old-app', 'name', 3);
    await sleep(150);
    await apply(p, 'expand');
    await w.start('new-app', 'display_name', 3);
    await sleep(150);
    await apply(p, 'backfill');
    await sleep(150);
    await w.stopGroup(old);
    await apply(p, 'contract');
    await sleep(100);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    console.log(
      `rename under workload (PostgreSQL ${db.major}): ${report.statements} statements ${JSON.stringify(report.byRole)}, ` +
        `p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, 0 failed`,
    );
    expect(report.byRole['old-app']!.updates).toBeGreaterThan(10);
    expect(report.byRole['new-app']!.updates).toBeGreaterThan(10);
    expectSame(await rows('SELECT id, display_name AS v FROM public.users'), w.expected());
    expect(await replan('rename-display-name', desired)).toBe(true);
    const leftovers = await db.query(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal`,
    );
    expect(leftovers).toEqual([]);
  });

  it('renames a column a row-level security policy reads under an old-app + new-app workload (not the owner)', async () => {
    // The applications connect as a role of their own: the policy applies to them (not to the
    // table's owner). Were the table ever without its policy, their writes would be refused.
    const role = `zdm_rls_app_${process.pid}`;
    await db.exec(`
      CREATE ROLE ${role} LOGIN PASSWORD 'app';
      CREATE TABLE public.members (id bigint PRIMARY KEY, name text NOT NULL);
      INSERT INTO public.members SELECT g, 'member ' || g FROM generate_series(1, 3000) g;
      ALTER TABLE public.members ENABLE ROW LEVEL SECURITY;
      CREATE POLICY named ON public.members USING (length(name) > 0);
      GRANT SELECT, INSERT, UPDATE, DELETE ON public.members TO ${role};
      ANALYZE public.members;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      members:
        columns:
          id: { type: bigint, nullable: false }
          label: { type: text, nullable: false, renamedFrom: name }
        primaryKey: { columns: [id] }
        rowLevelSecurity: true
        policies:
          named: { using: length(label) > 0 }
        grants:
          ${role}: [SELECT, INSERT, UPDATE, DELETE]
`;
    try {
      const p = await plan('rename-under-policy', desired);
      const swap = p.phases.find((ph) => ph.name === 'contract')?.steps[0];
      expect(swap?.summary).toMatch(/policy named on public\.members dropped and created again around it$/);
      const initial = await rows('SELECT id, name AS v FROM public.members');
      const url = new URL(db.url);
      url.username = role;
      url.password = 'app';
      const w = new AppWorkload(url.toString(), { schema: 'public', name: 'members' }, 'id', initial);
      const old = await w.start('old-app', 'name', 3);
      await sleep(150);
      await apply(p, 'expand');
      await w.start('new-app', 'label', 3);
      await sleep(150);
      await apply(p, 'backfill');
      await sleep(150);
      await w.stopGroup(old);
      await apply(p, 'contract');
      await sleep(150);
      const report = await w.stop();
      expect(report.failures).toEqual([]);
      console.log(
        `rename under a policy under workload (PostgreSQL ${db.major}): ${report.statements} statements ${JSON.stringify(report.byRole)}, ` +
          `p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, 0 failed`,
      );
      expect(report.byRole['old-app']!.updates).toBeGreaterThan(10);
      expect(report.byRole['new-app']!.updates).toBeGreaterThan(10);
      expectSame(await rows('SELECT id, label AS v FROM public.members'), w.expected());
      const policy = await db.query<{ qual: string }>(
        `SELECT pg_get_expr(polqual, polrelid) AS qual FROM pg_policy WHERE polrelid = 'public.members'::regclass`,
      );
      expect(policy).toEqual([{ qual: '(length(label) > 0)' }]);
      // The policy binds the applications' role: a row it lets through none is hidden from them.
      await db.exec(`INSERT INTO public.members VALUES (-1, '')`);
      const count = async (): Promise<unknown> =>
        (await db.query(`SELECT count(*)::int AS n FROM public.members WHERE id = -1`))[0];
      expect(await count()).toEqual({ n: 1 });
      await db.exec(`SET ROLE ${role}`);
      try {
        expect(await count()).toEqual({ n: 0 });
      } finally {
        await db.exec('RESET ROLE');
      }
      await db.exec(`DELETE FROM public.members WHERE id = -1`);
      expect(await replan('rename-under-policy', desired)).toBe(true);
    } finally {
      await db.exec(`DROP TABLE IF EXISTS public.members; DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  it('changes orders.n integer → bigint (a primary key referenced by a foreign key) under a workload', async () => {
    await db.exec(`
      CREATE TABLE public.accounts (id integer PRIMARY KEY, label text NOT NULL);
      CREATE TABLE public.entries (id bigint PRIMARY KEY, account_id integer NOT NULL DEFAULT 1 REFERENCES public.accounts (id), v integer);
      CREATE INDEX idx_entries_account ON public.entries (account_id);
      ALTER TABLE public.entries ADD CONSTRAINT chk_v CHECK (v > -1000000000);
      CREATE INDEX idx_entries_v ON public.entries (v);
      INSERT INTO public.accounts SELECT g, 'a' || g FROM generate_series(1, 50) g;
      INSERT INTO public.entries SELECT g, 1 + g % 50, g FROM generate_series(1, 3000) g;
      ANALYZE;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: varchar(200), nullable: false, default: "'anon'" }
          email: { type: text }
        primaryKey: { columns: [id] }
        indexes:
          idx_users_display_name: { columns: [display_name] }
      accounts:
        columns:
          id: { type: bigint, nullable: false }
          label: { type: text, nullable: false }
        primaryKey: { columns: [id] }
      entries:
        columns:
          id: { type: bigint, nullable: false }
          account_id: { type: integer, nullable: false, default: '1' }
          v: { type: bigint }
        primaryKey: { columns: [id] }
        checks:
          chk_v: { expression: v > -1000000000 }
        foreignKeys:
          entries_account_id_fkey: { columns: [account_id], references: { table: accounts, columns: [id] } }
        indexes:
          idx_entries_account: { columns: [account_id] }
          idx_entries_v: { columns: [v] }
`;
    const p = await plan('bigint', desired);
    const initial = await rows('SELECT id, v FROM public.entries');
    const w = new AppWorkload(db.url, { schema: 'public', name: 'entries' }, 'id', initial, (n) => n);
    // Both versions write `v` by name: after contract the name is the bigint column.
    const a = await w.start('app-1', 'v', 3);
    await sleep(100);
    await apply(p, 'expand');
    const b = await w.start('app-2', 'v', 2);
    await sleep(100);
    await apply(p, 'backfill');
    await sleep(100);
    await apply(p, 'contract');
    await sleep(100);
    await w.stopGroup(a);
    await w.stopGroup(b);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    console.log(
      `integer → bigint under workload (PostgreSQL ${db.major}): ${report.statements} statements, ` +
        `p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, 0 failed`,
    );
    expectSame(await rows('SELECT id, v FROM public.entries'), w.expected());
    const types = await db.query<{ t: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.accounts'::regclass AND attname = 'id'`,
    );
    expect(types[0]!.t).toBe('bigint');
    expect(await replan('bigint', desired)).toBe(true);
  });

  it('the sync trigger: one side written fills the other, both written keeps both, no recursion', async () => {
    await db.exec(`
      CREATE TABLE public.people (id int PRIMARY KEY, name text NOT NULL, note text);
      INSERT INTO public.people SELECT g, 'p' || g, NULL FROM generate_series(1, 10) g;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      people:
        columns:
          id: { type: integer, nullable: false }
          full_name: { type: text, nullable: false, renamedFrom: name }
          note: { type: text }
        primaryKey: { columns: [id] }
`;
    const p = await plan('people', desired);
    const expand = p.phases.find((ph) => ph.name === 'expand')?.steps[0];
    expect(
      (expand?.sql ?? []).some((x) => x.startsWith('CREATE FUNCTION') && x.includes('#variable_conflict use_column')),
    ).toBe(true);
    await apply(p, 'expand');
    const get = async (id: number) =>
      (
        await db.query<{ name: string; full_name: string }>('SELECT name, full_name FROM public.people WHERE id = $1', [
          id,
        ])
      )[0];
    await db.exec(`INSERT INTO public.people (id, name) VALUES (100, 'old app')`);
    expect(await get(100)).toEqual({ name: 'old app', full_name: 'old app' });
    await db.exec(`INSERT INTO public.people (id, full_name) VALUES (101, 'new app')`);
    expect(await get(101)).toEqual({ name: 'new app', full_name: 'new app' });
    await db.exec(`UPDATE public.people SET name = 'renamed by old' WHERE id = 101`);
    expect(await get(101)).toEqual({ name: 'renamed by old', full_name: 'renamed by old' });
    await db.exec(`UPDATE public.people SET full_name = 'renamed by new' WHERE id = 100`);
    expect(await get(100)).toEqual({ name: 'renamed by new', full_name: 'renamed by new' });
    await db.exec(`UPDATE public.people SET name = 'a', full_name = 'b' WHERE id = 100`);
    expect(await get(100)).toEqual({ name: 'a', full_name: 'b' });
    // A row the backfill has not reached: an update of another column fills it (the NOT VALID check).
    expect(await get(3)).toEqual({ name: 'p3', full_name: null });
    await db.exec(`UPDATE public.people SET note = 'x' WHERE id = 3`);
    expect(await get(3)).toEqual({ name: 'p3', full_name: 'p3' });
    await expect(db.exec(`INSERT INTO public.people (id) VALUES (102)`)).rejects.toThrow(/not-null|null value/);
    await apply(p, 'backfill');
    expect(await db.query(`SELECT id FROM public.people WHERE name IS DISTINCT FROM full_name AND id <> 100`)).toEqual(
      [],
    );
    // The backfill fills only rows no write has touched: the row written on both sides keeps both.
    expect(await get(100)).toEqual({ name: 'a', full_name: 'b' });
    await apply(p, 'contract');
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.people'))[0]!.n).toBe(12);
    expect(await replan('people', desired)).toBe(true);
  });

  it('text → jsonb with a `using` expression; the old text is never rewritten by the backfill', async () => {
    await db.exec(`
      CREATE TABLE public.docs (id int PRIMARY KEY, body text);
      INSERT INTO public.docs SELECT g, '{"n":  ' || g || '}' FROM generate_series(1, 500) g;
      INSERT INTO public.docs VALUES (501, NULL);`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      docs:
        columns:
          id: { type: integer, nullable: false }
          body: { type: jsonb, using: "body::jsonb" }
        primaryKey: { columns: [id] }
`;
    const p = await plan('docs', desired, 100);
    await apply(p, 'expand');
    await db.exec(`UPDATE public.docs SET body = '{"old": true}' WHERE id = 1`);
    await apply(p, 'backfill');
    // The backfill filled the shadow; the old column kept its spacing.
    expect((await db.query<{ body: string }>('SELECT body FROM public.docs WHERE id = 2'))[0]!.body).toBe('{"n":  2}');
    await apply(p, 'contract');
    const r = await db.query<{ id: number; body: unknown }>(
      'SELECT id, body FROM public.docs WHERE id IN (1, 2, 501) ORDER BY id',
    );
    expect(r).toEqual([
      { id: 1, body: { old: true } },
      { id: 2, body: { n: 2 } },
      { id: 501, body: null },
    ]);
    expect(await replan('docs', desired)).toBe(true);
  });

  it('integer → int4range with `using` and a `reverse` expression: no cast back exists, writes of the new column set the old one through `reverse`', async () => {
    await db.exec(`
      CREATE TABLE public.slots (id int PRIMARY KEY, slot integer NOT NULL);
      INSERT INTO public.slots SELECT g, g * 10 FROM generate_series(1, 300) g;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      slots:
        columns:
          id: { type: integer, nullable: false }
          span: { type: int4range, nullable: false, renamedFrom: slot, using: "int4range(slot, slot, '[]')", reverse: lower(span) }
        primaryKey: { columns: [id] }
`;
    const p = await plan('slots', desired, 50);
    const expand = p.phases.find((ph) => ph.name === 'expand')?.steps[0];
    expect(expand?.summary).toContain("(old → new: int4range(slot, slot, '[]'); new → old: lower(span))");
    await apply(p, 'expand');
    const get = async (id: number) =>
      (
        await db.query<{ slot: number; span: string | null }>(
          'SELECT slot, span::text AS span FROM public.slots WHERE id = $1',
          [id],
        )
      )[0];
    // The new application version writes the range: the old column gets lower(span), not a cast.
    await db.exec(`INSERT INTO public.slots (id, span) VALUES (1000, '[20,30)')`);
    expect(await get(1000)).toEqual({ slot: 20, span: '[20,30)' });
    await db.exec(`UPDATE public.slots SET span = '[42,50)' WHERE id = 5`);
    expect(await get(5)).toEqual({ slot: 42, span: '[42,50)' });
    // The old application version writes the integer: the range follows through `using`.
    await db.exec(`INSERT INTO public.slots (id, slot) VALUES (1001, 7)`);
    expect(await get(1001)).toEqual({ slot: 7, span: '[7,8)' });
    await db.exec(`UPDATE public.slots SET slot = 8 WHERE id = 1000`);
    expect(await get(1000)).toEqual({ slot: 8, span: '[8,9)' });
    // Both written: both kept.
    await db.exec(`UPDATE public.slots SET slot = 1, span = '[100,200)' WHERE id = 6`);
    expect(await get(6)).toEqual({ slot: 1, span: '[100,200)' });
    await apply(p, 'backfill');
    expect(await get(7)).toEqual({ slot: 70, span: '[70,71)' });
    // The backfill's own update of a row the new version wrote left the old column alone.
    expect(await get(5)).toEqual({ slot: 42, span: '[42,50)' });
    await apply(p, 'contract');
    const r = await db.query<{ id: number; span: string }>(
      'SELECT id, span::text AS span FROM public.slots WHERE id IN (1, 5, 6, 1000, 1001) ORDER BY id',
    );
    expect(r).toEqual([
      { id: 1, span: '[10,11)' },
      { id: 5, span: '[42,50)' },
      { id: 6, span: '[100,200)' },
      { id: 1000, span: '[8,9)' },
      { id: 1001, span: '[7,8)' },
    ]);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.slots'))[0]!.n).toBe(302);
    expect(await replan('slots', desired)).toBe(true);
  });

  it('a partitioned table: integer → bigint and a rename through triggers on the parent; writes reach every partition, a row moved across partitions keeps its values', async () => {
    await db.exec(`
      CREATE TABLE public.ev (id bigint NOT NULL, at date NOT NULL, n integer NOT NULL, note text,
        PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE public.ev_2024 PARTITION OF public.ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE public.ev_2025 PARTITION OF public.ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE INDEX ev_n_idx ON public.ev (n);
      INSERT INTO public.ev SELECT g, date '2024-06-01' + g % 400, g, 'n' || g FROM generate_series(1, 800) g;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      ev:
        columns:
          id: { type: bigint, nullable: false }
          at: { type: date, nullable: false }
          n: { type: bigint, nullable: false }
          remark: { type: text, renamedFrom: note }
        primaryKey: { columns: [id, at] }
        indexes:
          ev_n_idx: { columns: [n] }
        partitionBy: { strategy: range, columns: [at] }
        partitions:
          ev_2024: { from: ['2024-01-01'], to: ['2025-01-01'] }
          ev_2025: { from: ['2025-01-01'], to: ['2026-01-01'] }
`;
    const p = await plan('ev', desired, 100);
    await apply(p, 'expand');
    const get = async (id: number) =>
      (
        await db.query<{
          part: string;
          n: string;
          n_zdm_new: string | null;
          note: string | null;
          remark: string | null;
        }>(
          'SELECT tableoid::regclass::text AS part, n::text, n_zdm_new::text, note, remark FROM public.ev WHERE id = $1',
          [id],
        )
      )[0];
    // Old application version: inserts into both partitions, updates, a row moved across partitions.
    await db.exec(
      `INSERT INTO public.ev (id, at, n, note) VALUES (900, '2024-02-01', 2147483647, 'old a'), (901, '2025-02-01', 5, 'old b')`,
    );
    expect(await get(900)).toEqual({
      part: 'ev_2024',
      n: '2147483647',
      n_zdm_new: '2147483647',
      note: 'old a',
      remark: 'old a',
    });
    expect(await get(901)).toEqual({ part: 'ev_2025', n: '5', n_zdm_new: '5', note: 'old b', remark: 'old b' });
    await db.exec(`UPDATE public.ev SET at = '2025-03-01' WHERE id = 10`);
    expect(await get(10)).toEqual({ part: 'ev_2025', n: '10', n_zdm_new: '10', note: 'n10', remark: 'n10' });
    await db.exec(`UPDATE public.ev SET at = '2025-04-01', n = 11 WHERE id = 12`);
    expect(await get(12)).toEqual({ part: 'ev_2025', n: '11', n_zdm_new: '11', note: 'n12', remark: 'n12' });
    // New application version: writes the new name; the old column follows, in any partition.
    await db.exec(`INSERT INTO public.ev (id, at, n, remark) VALUES (902, '2025-05-01', 7, 'new c')`);
    expect(await get(902)).toEqual({ part: 'ev_2025', n: '7', n_zdm_new: '7', note: 'new c', remark: 'new c' });
    await db.exec(`UPDATE public.ev SET remark = 'moved by new', at = '2024-01-05' WHERE id = 901`);
    expect(await get(901)).toEqual({
      part: 'ev_2024',
      n: '5',
      n_zdm_new: '5',
      note: 'moved by new',
      remark: 'moved by new',
    });
    await apply(p, 'backfill');
    expect(
      await db.query('SELECT id FROM public.ev WHERE n_zdm_new IS DISTINCT FROM n OR remark IS DISTINCT FROM note'),
    ).toEqual([]);
    await apply(p, 'contract');
    const types = await db.query<{ rel: string; type: string }>(
      `SELECT attrelid::regclass::text AS rel, atttypid::regtype::text AS type FROM pg_catalog.pg_attribute
        WHERE attname = 'n' AND attrelid IN ('public.ev'::regclass, 'public.ev_2024'::regclass, 'public.ev_2025'::regclass)
        ORDER BY 1`,
    );
    expect(types).toEqual([
      { rel: 'ev', type: 'bigint' },
      { rel: 'ev_2024', type: 'bigint' },
      { rel: 'ev_2025', type: 'bigint' },
    ]);
    const r = await db.query<{ id: string; n: string; remark: string }>(
      'SELECT id::text, n::text, remark FROM public.ev WHERE id IN (1, 10, 900, 901, 902) ORDER BY id',
    );
    expect(r).toEqual([
      { id: '1', n: '1', remark: 'n1' },
      { id: '10', n: '10', remark: 'n10' },
      { id: '900', n: '2147483647', remark: 'old a' },
      { id: '901', n: '5', remark: 'moved by new' },
      { id: '902', n: '7', remark: 'new c' },
    ]);
    // The new type takes what the old one could not.
    await db.exec(`INSERT INTO public.ev (id, at, n) VALUES (903, '2025-06-01', 9000000000)`);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.ev'))[0]!.n).toBe(804);
    expect(await replan('ev', desired)).toBe(true);
  });

  it('renames a primary key column that a foreign key references: both versions write parents and children throughout; the key and the foreign key end on the new name', async () => {
    await db.exec(`
      CREATE TABLE public.acct (id bigint PRIMARY KEY, label text NOT NULL);
      CREATE TABLE public.acct_entry (id bigint PRIMARY KEY, acct_id bigint NOT NULL REFERENCES public.acct (id) ON DELETE CASCADE);
      CREATE INDEX acct_entry_acct_id_idx ON public.acct_entry (acct_id);
      INSERT INTO public.acct SELECT g, 'a' || g FROM generate_series(1, 500) g;
      INSERT INTO public.acct_entry SELECT g, 1 + g % 500 FROM generate_series(1, 1000) g;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      acct:
        columns:
          acct_no: { type: bigint, nullable: false, renamedFrom: id }
          label: { type: text, nullable: false }
        primaryKey: { name: acct_pkey, columns: [acct_no] }
      acct_entry:
        columns:
          id: { type: bigint, nullable: false }
          acct_id: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
        foreignKeys:
          acct_entry_acct_id_fkey: { columns: [acct_id], references: { table: acct, columns: [acct_no] }, onDelete: cascade }
        indexes:
          acct_entry_acct_id_idx: { columns: [acct_id] }
`;
    const p = await plan('acct', desired, 100);
    await apply(p, 'expand');
    // Old version: parent by id, child after it. New version: parent by acct_no only.
    await db.exec(`INSERT INTO public.acct (id, label) VALUES (1000, 'old')`);
    await db.exec(`INSERT INTO public.acct (acct_no, label) VALUES (1001, 'new')`);
    await db.exec(`INSERT INTO public.acct_entry VALUES (5000, 1000), (5001, 1001)`);
    // The old foreign key (on id) still holds during the transition.
    await expect(db.exec(`INSERT INTO public.acct_entry VALUES (5002, 999999)`)).rejects.toThrow(/foreign key/);
    await apply(p, 'backfill');
    await db.exec(`INSERT INTO public.acct (acct_no, label) VALUES (1002, 'new after backfill')`);
    await apply(p, 'contract');
    const cols = await db.query<{ attname: string }>(
      `SELECT a.attname FROM pg_catalog.pg_constraint k
         JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = ANY (k.confkey)
        WHERE k.conname = 'acct_entry_acct_id_fkey'`,
    );
    expect(cols).toEqual([{ attname: 'acct_no' }]);
    expect(
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM public.acct_entry e JOIN public.acct a ON a.acct_no = e.acct_id',
        )
      )[0]!.n,
    ).toBe(1002);
    await expect(db.exec(`INSERT INTO public.acct_entry VALUES (5003, 999999)`)).rejects.toThrow(/foreign key/);
    await expect(db.exec(`INSERT INTO public.acct (acct_no, label) VALUES (1001, 'dup')`)).rejects.toThrow(
      /duplicate key/,
    );
    // ON DELETE CASCADE follows the re-added key.
    await db.exec('DELETE FROM public.acct WHERE acct_no = 1000');
    expect(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.acct_entry WHERE acct_id = 1000'))[0]!.n,
    ).toBe(0);
    expect(await replan('acct', desired)).toBe(true);
  });

  it('refused at plan time, saying why and what to do: a stored generated column changing type, a key on the column of a partitioned table', async () => {
    await db.exec(`
      CREATE TABLE public.gen (id int PRIMARY KEY, a int, twice int GENERATED ALWAYS AS (a * 2) STORED);
      CREATE TABLE public.pk_part (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE public.pk_part_1 PARTITION OF public.pk_part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`);
    const refusal = async (name: string, yaml: string) => {
      try {
        await plan(name, yaml);
      } catch (e) {
        return String((e as Error).message);
      }
      return expect.unreachable('planned');
    };
    expect(
      await refusal(
        'gen',
        `
version: 1
schemas:
  public:
    tables:
      gen:
        columns:
          id: { type: integer, nullable: false }
          a: { type: integer }
          twice: { type: bigint, generated: a * 2 }
        primaryKey: { columns: [id] }
`,
      ),
    ).toMatch(
      /schemas\.public\.tables\.gen\.columns\.twice\.type: column public\.gen\.twice: changing the type integer → bigint: a stored generated column cannot be given another type through a sync trigger: .*rewriting the table under ACCESS EXCLUSIVE\. Instead add a stored generated column of the new type under a new name/,
    );
    expect(
      await refusal(
        'pk-part',
        `
version: 1
schemas:
  public:
    tables:
      pk_part:
        columns:
          id: { type: bigint, nullable: false }
          at: { type: date, nullable: false }
        primaryKey: { columns: [id, at] }
        partitionBy: { strategy: range, columns: [at] }
        partitions:
          pk_part_1: { from: ['2024-01-01'], to: ['2025-01-01'] }
`,
      ),
    ).toMatch(
      /column public\.pk_part\.id: changing the type integer → bigint: the table is partitioned and primary key pk_part_pkey uses the column: PostgreSQL cannot attach a key to a partitioned table from an index built beforehand/,
    );
    await db.exec('DROP TABLE public.gen, public.pk_part');
  });

  it('awkward names: select, a space and a quote, 63 bytes (generated names shortened, no collision)', async () => {
    const long = 'c'.repeat(63);
    const long2 = `${'c'.repeat(62)}d`;
    await db.exec(`
      CREATE TABLE public."odd ""t""" (id int PRIMARY KEY, "select" text NOT NULL, "a ""b c" integer, "${long}" integer, "${long2}" integer);
      INSERT INTO public."odd ""t""" SELECT g, 's' || g, g, g, -g FROM generate_series(1, 300) g;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      'odd "t"':
        columns:
          id: { type: integer, nullable: false }
          from: { type: text, nullable: false, renamedFrom: select }
          'a "b c': { type: bigint }
          ${long}: { type: bigint }
          ${long2}: { type: bigint }
        primaryKey: { columns: [id] }
`;
    const p = await plan('odd', desired, 50);
    const names = p.phases
      .flatMap((ph) => ph.steps)
      .flatMap((st) => st.sql)
      .flatMap((x) => [...x.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"')));
    for (const n of names) expect(Buffer.byteLength(n), n).toBeLessThanOrEqual(63);
    const added = p.phases[0]!.steps.flatMap((st) => st.sql).filter((x) => x.includes(' ADD COLUMN '));
    expect(new Set(added).size).toBe(4);
    for (const phase of ['expand', 'backfill', 'contract'] as const) await apply(p, phase);
    const r = await db.query(
      `SELECT id, "from", "a ""b c" AS a, "${long}" AS l, "${long2}" AS l2 FROM public."odd ""t""" WHERE id = 7`,
    );
    expect(r).toEqual([{ id: 7, from: 's7', a: '7', l: '7', l2: '-7' }]);
    expect(await replan('odd', desired)).toBe(true);
  });

  it('a rename backfill killed by SIGKILL resumes from its last committed batch', async () => {
    const ROWS = 4000;
    const BATCH = 50;
    await db.exec(`
      CREATE TABLE public.big (id int PRIMARY KEY, title text NOT NULL);
      INSERT INTO public.big SELECT g, 't' || g FROM generate_series(1, ${ROWS}) g;
      ANALYZE public.big;`);
    const desired = `
version: 1
schemas:
  public:
    tables:
      big:
        columns:
          id: { type: integer, nullable: false }
          heading: { type: text, nullable: false, renamedFrom: title }
        primaryKey: { columns: [id] }
`;
    const p = await plan('big', desired, BATCH);
    await apply(p, 'expand');
    const options = { phase: 'backfill' as const, allowHazards: [...ALLOW], pauseMs: 20, maxBatchMs: 60_000 };
    const child = await spawnApply(db.url, p, options);
    const { pid } = (await child.waitFor((l) => typeof l.pid === 'number')) as { pid: number };
    await child.waitFor((l) => l.hook === 'afterBatch' && (l.batchesDone as number) >= 15);
    await child.kill();
    for (let i = 0; i < 1500; i++) {
      if ((await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length === 0) break;
      await sleep(20);
    }
    const [cursor] = await db.query<{ rows_done: string; batches_done: string; done: boolean }>(
      'SELECT rows_done, batches_done, done FROM zdm.backfill_cursors WHERE plan_id = $1',
      [p.id],
    );
    const batchesDone = Number(cursor!.batches_done);
    const rowsDone = Number(cursor!.rows_done);
    expect(cursor!.done).toBe(false);
    expect(batchesDone).toBeGreaterThanOrEqual(15);
    expect(rowsDone).toBe(batchesDone * BATCH);
    // Exactly the committed batches' rows are copied.
    expect(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.big WHERE heading IS NOT NULL'))[0]!.n,
    ).toBe(rowsDone);
    const events: { type: string }[] = [];
    const result = await applyPhase(db.client, p, { ...options, pauseMs: 0, onEvent: (e) => events.push(e) });
    expect(events.find((e) => e.type === 'backfill-start')).toMatchObject({ resumed: true, rowsDone, batchesDone });
    const bf = result.steps.find((st) => st.backfill)?.backfill;
    expect(bf?.rowsThisRun).toBe(ROWS - rowsDone);
    expect(bf?.batchesThisRun).toBe(ROWS / BATCH + 1 - batchesDone);
    await apply(p, 'contract');
    expect(
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.big WHERE heading = 't' || id`))[0]!.n,
    ).toBe(ROWS);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('table rename with an updatable view under the old name', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rename table');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rename-table-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('old app writes through the view, new app the table: no failure, no lost row', async () => {
    await db.exec(`
      CREATE TABLE public.members (id bigint PRIMARY KEY, name text NOT NULL DEFAULT 'x', joined timestamptz NOT NULL DEFAULT now());
      CREATE TABLE public.posts (id bigint PRIMARY KEY, member_id bigint REFERENCES public.members (id));
      INSERT INTO public.members (id, name) SELECT g, 'm' || g FROM generate_series(1, 500) g;`);
    const desired = `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      people:
        renamedFrom: members
        columns:
          id: { type: bigint, nullable: false }
          name: { type: text, nullable: false, default: "'x'" }
          joined: { type: timestamptz, nullable: false, default: now() }
        primaryKey: { name: members_pkey, columns: [id] }
      posts:
        columns:
          id: { type: bigint, nullable: false }
          member_id: { type: bigint }
        primaryKey: { columns: [id] }
        foreignKeys:
          posts_member_id_fkey: { columns: [member_id], references: { table: people, columns: [id] } }
`;
    const file = path.join(dir, 'people.yaml');
    await writeFile(file, desired);
    const p = (await makePlan(db.client, { desiredPath: file, name: 'people' })).plan;
    expect(p.phases.flatMap((ph) => ph.steps.map((s) => `${ph.name}: ${s.summary}`))).toEqual([
      'expand: rename table public.members to people, and leave an updatable view public.members over it for the old application version' +
        // PostgreSQL 18 names NOT NULL constraints, and keeps the names when the table is renamed.
        (db.major >= 18 ? ' (and its NOT NULL constraints named after members)' : ''),
      'contract: drop view public.members (the old name of public.people)',
    ]);
    const initial = new Map(
      (await db.query<{ id: string; name: string }>('SELECT id, name FROM public.members')).map((r) => [
        Number(r.id),
        r.name,
      ]),
    );
    const w = new AppWorkload(db.url, { schema: 'public', name: 'people' }, 'id', initial);
    const old = await w.start('old-app', 'name', 3, { schema: 'public', name: 'members' });
    await sleep(150);
    await applyPhase(db.client, p, { phase: 'expand' });
    await w.start('new-app', 'name', 3);
    await sleep(150);
    await applyPhase(db.client, p, { phase: 'backfill' });
    await w.stopGroup(old);
    await applyPhase(db.client, p, { phase: 'contract', allowHazards: ['app-compat'] });
    await sleep(100);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    expect(report.byRole['old-app']!.inserts).toBeGreaterThan(5);
    const rows = await db.query<{ id: string; name: string }>('SELECT id, name FROM public.people');
    const want = w.expected();
    expect(rows.length).toBe(want.size);
    for (const r of rows) expect(want.get(Number(r.id))).toBe(r.name);
    const again = path.join(dir, 'people-again.yaml');
    await writeFile(again, desired);
    expect((await makePlan(db.client, { desiredPath: again })).empty).toBe(true);
  });
});

describe('identity primary key integer → bigint', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('identity bigint');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-identity-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the identity moves to the bigint column and goes on from where the old sequence was', async () => {
    await db.exec(`
      CREATE TABLE public.ticks (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
      INSERT INTO public.ticks (v) SELECT 'v' || g FROM generate_series(1, 300) g;`);
    const desired = `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      ticks:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          v: { type: text }
        primaryKey: { columns: [id] }
`;
    const file = path.join(dir, 'ticks.yaml');
    await writeFile(file, desired);
    const p = (await makePlan(db.client, { desiredPath: file, name: 'ticks', batchSize: 50 })).plan;
    await applyPhase(db.client, p, { phase: 'expand' });
    await db.exec(`INSERT INTO public.ticks (v) SELECT 'during' FROM generate_series(1, 10)`);
    await applyPhase(db.client, p, { phase: 'backfill' });
    await applyPhase(db.client, p, { phase: 'contract' });
    const r = await db.query<{ id: string }>(`INSERT INTO public.ticks (v) VALUES ('after') RETURNING id`);
    expect(Number(r[0]!.id)).toBe(311);
    await expect(db.exec(`INSERT INTO public.ticks (id, v) VALUES (5000, 'explicit')`)).rejects.toThrow(
      /GENERATED ALWAYS|cannot insert/i,
    );
    const again = path.join(dir, 'ticks-again.yaml');
    await writeFile(again, desired);
    expect((await makePlan(db.client, { desiredPath: again })).empty).toBe(true);
  });
});
