/**
 * The locks the steps of primary and unique keys declare, proven from pg_locks (every transactional
 * step runs once inside BEGIN … ROLLBACK while its locks are read, then for real: the tables and
 * partitions locked must be exactly the declared ones, each in its declared mode at its strongest):
 *
 * - a key on a partitioned table with rows: per partition a unique index built CONCURRENTLY and the
 *   partition's constraint USING INDEX, then the parent's ADD CONSTRAINT, which attaches them and
 *   builds nothing (every partition index keeps its relfilenode), while writers on other connections
 *   go on without a failed statement;
 * - a unique constraint that takes over the live unique index of its name;
 * - a column's collation changed under an index on it: the index built again CONCURRENTLY with the
 *   new collation, then the column changed without a rewrite and without rebuilding anything (the
 *   table and every index keep their relfilenode across that step), writers and readers going on.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { runObserved } from '../support/observed-locks.js';
import { startWorkload } from '../support/workload.js';

describe('locks of primary and unique key steps and of a collation change, from pg_locks', () => {
  let db: TestDatabase;
  let dir: string;
  const writers: pg.Client[] = [];
  beforeAll(async () => {
    db = await freshDatabase('key locks');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-key-locks-'));
    for (let i = 0; i < 2; i++) writers.push(await db.connect());
  });
  afterAll(async () => {
    for (const w of writers) await w.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const planFor = async (name: string, before: string, desired: string): Promise<Plan> => {
    await db.exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public; ${before}`);
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, `version: 1\nschemas:\n  public:\n${desired}`);
    return (await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() })).plan;
  };

  /** A moment for a workload just started to have its statements under way. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  /** Index name → relfilenode, for the indexes of schema public that have storage (and the tables, with `tables`). */
  const indexFiles = async (tables = false): Promise<Record<string, string>> => {
    const r = await db.query<{ name: string; file: string }>(
      `SELECT c.relname AS name, c.relfilenode::text AS file FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('i'${tables ? ", 'r'" : ''})`,
    );
    return Object.fromEntries(r.map((x) => [x.name, x.file]));
  };

  it('PRIMARY KEY and UNIQUE on a partitioned table with rows: partitions first, the parent attaches them', async () => {
    const plan = await planFor(
      'partitioned',
      `CREATE TABLE m (tenant int NOT NULL, id int NOT NULL, v text) PARTITION BY LIST (tenant);
       CREATE TABLE m_1 PARTITION OF m FOR VALUES IN (1);
       CREATE TABLE m_2 PARTITION OF m FOR VALUES IN (2);
       INSERT INTO m SELECT 1 + g % 2, g, 'v' || g FROM generate_series(1, 20000) g;
       ANALYZE m;`,
      `    tables:
      m:
        columns:
          tenant: { type: integer, nullable: false }
          id: { type: integer, nullable: false }
          v: { type: text }
        primaryKey: { columns: [tenant, id] }
        uniqueConstraints:
          m_tenant_v_key: { columns: [tenant, v] }
        partitionBy: { strategy: list, columns: [tenant] }
        partitions:
          m_1: { in: [1] }
          m_2: { in: [2] }
`,
    );
    const partitionMode = db.major >= 18 ? 'ACCESS EXCLUSIVE' : 'SHARE';
    // New rows with ids above the existing ones: unique under both keys.
    const workload = startWorkload(writers, (i, k) => ({
      sql: 'INSERT INTO m VALUES ($1, $2, $3)',
      values: [1 + ((i + k) % 2), 1_000_000 + i * 2 + k, `w${i}-${k}`],
    }));
    await settle();
    let filesBefore: Record<string, string> = {};
    const attaching: Record<string, string>[] = [];
    const observed = await runObserved(db.client, plan, {
      before: async (step) => {
        if (/attaches every partition's constraint/.test(step.summary)) filesBefore = await indexFiles();
      },
      after: async (step) => {
        if (/attaches every partition's constraint/.test(step.summary)) {
          const after = await indexFiles();
          // Nothing built: the partitions' indexes are the same files, and no new index has storage.
          attaching.push(Object.fromEntries(Object.entries(after).filter(([n, f]) => filesBefore[n] !== f)));
          for (const [n, f] of Object.entries(filesBefore)) expect(after[n], n).toBe(f);
        }
      },
    });
    const report = await workload.stop();
    expect(report.errors).toEqual([]);
    expect(report.statements).toBeGreaterThan(0);

    expect(observed.map((o) => o.step.replace(/^\S+ /, ''))).toEqual([
      'add primary key m_1_pkey on partition public.m_1 using index m_1_pkey, for m_pkey',
      'add primary key m_2_pkey on partition public.m_2 using index m_2_pkey, for m_pkey',
      "add primary key m_pkey on public.m (attaches every partition's constraint, builds nothing)",
      'add unique constraint m_1_tenant_v_key on partition public.m_1 using index m_1_tenant_v_key, for m_tenant_v_key',
      'add unique constraint m_2_tenant_v_key on partition public.m_2 using index m_2_tenant_v_key, for m_tenant_v_key',
      "add unique constraint m_tenant_v_key on public.m (attaches every partition's constraint, builds nothing)",
    ]);
    for (const o of observed) expect(o.held, o.step).toEqual(o.declared);
    expect(observed[2]!.declared).toEqual([
      'ACCESS EXCLUSIVE on public.m',
      `${partitionMode} on public.m_1`,
      `${partitionMode} on public.m_2`,
    ]);
    // No index with storage created or rewritten by either attaching step (the parent's own index is
    // a partitioned index, relkind I, without storage).
    expect(attaching).toEqual([{}, {}]);
    const attached = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_constraint WHERE conparentid <> 0 AND conname IN ('m_1_pkey', 'm_2_pkey', 'm_1_tenant_v_key', 'm_2_tenant_v_key')`,
    );
    expect(attached[0]!.n).toBe(4);
  });

  it('UNIQUE over the live unique index of its name: one step, ACCESS EXCLUSIVE on the table, the index kept', async () => {
    const plan = await planFor(
      'adopt',
      `CREATE TABLE acct (id int PRIMARY KEY, email text);
       CREATE UNIQUE INDEX acct_email_key ON acct (email);
       INSERT INTO acct SELECT g, 'u' || g FROM generate_series(1, 2000) g;`,
      `    tables:
      acct:
        columns:
          id: { type: integer, nullable: false }
          email: { type: text }
        primaryKey: { columns: [id] }
        uniqueConstraints:
          acct_email_key: { columns: [email] }
`,
    );
    const before = await indexFiles();
    const observed = await runObserved(db.client, plan);
    expect(observed).toEqual([
      {
        step: 'expand.1 add unique constraint acct_email_key on public.acct using its existing index acct_email_key',
        declared: ['ACCESS EXCLUSIVE on public.acct'],
        held: ['ACCESS EXCLUSIVE on public.acct'],
      },
    ]);
    expect(await indexFiles()).toEqual(before);
  });

  it('a collation change under an index: prebuilt CONCURRENTLY, then the column changed with no rewrite and no rebuild', async () => {
    const plan = await planFor(
      'collation',
      `CREATE TABLE word (id int PRIMARY KEY, w text);
       CREATE INDEX word_w ON word (w);
       INSERT INTO word SELECT g, 'w' || g FROM generate_series(1, 20000) g;`,
      `    tables:
      word:
        columns:
          id: { type: integer, nullable: false }
          w: { type: text, collation: C }
        primaryKey: { columns: [id] }
        indexes:
          word_w: { columns: [w] }
`,
    );
    const workload = startWorkload(writers, (i, k) =>
      k === 0
        ? { sql: 'INSERT INTO word VALUES ($1, $2)', values: [100_000 + i, `n${i}`] }
        : { sql: "SELECT count(*) FROM word WHERE w >= 'w5'" },
    );
    await settle();
    const start = await indexFiles(true);
    let beforeChange: Record<string, string> = {};
    let afterChange: Record<string, string> = {};
    const isChange = (summary: string) => summary.startsWith('change collation of public.word.w');
    const observed = await runObserved(db.client, plan, {
      before: async (step) => {
        if (isChange(step.summary)) beforeChange = await indexFiles(true);
      },
      after: async (step) => {
        if (isChange(step.summary)) afterChange = await indexFiles(true);
      },
    });
    const report = await workload.stop();
    expect(report.errors).toEqual([]);
    expect(report.statements).toBeGreaterThan(0);
    expect(observed.map((o) => o.step.replace(/^\S+ /, ''))).toEqual([
      'rename index word_w_new to word_w',
      'change collation of public.word.w (default → C; no rewrite, its indexes already built with it: word_w)',
    ]);
    // The rename locks only the index (what it declares), no table; the column change the table alone.
    expect(observed[0]!.declared).toEqual(['SHARE UPDATE EXCLUSIVE on public.word_w_new']);
    expect(observed[0]!.held).toEqual([]);
    expect(observed[1]!.declared).toEqual(['ACCESS EXCLUSIVE on public.word']);
    expect(observed[1]!.held).toEqual(observed[1]!.declared);
    // Nothing rewritten or rebuilt by the column change, and the table never rewritten.
    expect(Object.keys(beforeChange).sort()).toEqual(['word', 'word_pkey', 'word_w']);
    expect(afterChange).toEqual(beforeChange);
    expect(afterChange.word).toBe(start.word);
    const collation = await db.query<{ c: string }>(
      `SELECT pg_catalog.pg_get_indexdef('public.word_w'::regclass) AS c`,
    );
    expect(collation[0]!.c).toBe('CREATE INDEX word_w ON public.word USING btree (w)');
  });
});
