/**
 * The locks the plan declares for views and materialized views, proven from pg_locks: every
 * transactional step of the plans below runs once inside BEGIN … ROLLBACK while its own locks are
 * read, then for real. The relations that existed before the step (tables, views, materialized
 * views; indexes left aside) must be exactly the declared ones, each held in exactly the declared
 * mode at its strongest. A relation the step creates is locked too, but no other session can see it.
 *
 * And what the materialized-view swap promises: readers of the materialized view are not blocked
 * while the new one runs its query, only for the instant of the swap by rename (a plain REFRESH,
 * measured alongside, blocks them for the whole query).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { useLockScenarios } from '../support/observed-locks.js';
import { startWorkload } from '../support/workload.js';

describe('locks of view and materialized-view steps, from pg_locks', () => {
  const { scenario } = useLockScenarios('view locks');

  const table = `    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
          name: { type: varchar(20) }
        primaryKey: { columns: [id] }
`;

  it.for([
    [
      'create a view and a view over it; comment one',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20));`,
      `${table}    views:
      v:
        definition: SELECT id, name FROM t
      w:
        definition: SELECT name FROM v
        comment: over v
`,
    ],
    [
      'replace a view (CREATE OR REPLACE)',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20)); CREATE VIEW v AS SELECT id FROM t;`,
      `${table}    views:
      v:
        definition: SELECT id, name FROM t
`,
    ],
    [
      'drop and create again a view that loses a column, with the view over it',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20)); CREATE VIEW v AS SELECT id, name FROM t;
       CREATE VIEW w AS SELECT id FROM v;`,
      `${table}    views:
      v:
        definition: SELECT id FROM t
      w:
        definition: SELECT id FROM v
`,
    ],
    [
      'change the comment of a view; drop another',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20)); CREATE VIEW v AS SELECT id FROM t; CREATE VIEW gone AS SELECT id FROM t;`,
      `${table}    views:
      v:
        definition: SELECT id FROM t
        comment: now commented
`,
    ],
    [
      'a view over a column whose type changes in place',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(10)); CREATE VIEW v AS SELECT id, name FROM t;`,
      `${table}    views:
      v:
        definition: SELECT id, name FROM t
`,
    ],
    [
      'create a materialized view with an index; set its storage parameters later',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20));
       CREATE MATERIALIZED VIEW other AS SELECT count(*) AS n FROM t;`,
      `${table}    materializedViews:
      mv:
        definition: SELECT id, name FROM t
        indexes: { mv_id: { columns: [id], unique: true } }
      other:
        definition: SELECT count(*) AS n FROM t
        with: { fillfactor: 80 }
`,
    ],
    [
      'a new query for a materialized view: built beside, swapped by rename, the old one dropped',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20));
       CREATE MATERIALIZED VIEW mv AS SELECT id FROM t; CREATE UNIQUE INDEX mv_id ON mv (id);
       CREATE VIEW v AS SELECT id FROM mv;`,
      `${table}    materializedViews:
      mv:
        definition: SELECT id, name FROM t
        indexes: { mv_id: { columns: [id], unique: true } }
    views:
      v:
        definition: SELECT id FROM mv
`,
    ],
    [
      'drop a materialized view',
      `CREATE TABLE t (id int PRIMARY KEY, name varchar(20)); CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;`,
      table,
    ],
  ] as const)('%s', async ([name, before, desired]) => {
    const { observed } = await scenario(name, before, desired);
    for (const o of observed) expect(o.held, o.step).toEqual(o.declared);
  });
});

describe('a materialized view swapped for a new one: readers are not blocked while its query runs', () => {
  let db: TestDatabase;
  let dir: string;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = await freshDatabase('matview readers');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-matview-'));
    await db.exec(`
      CREATE TABLE sale (id int PRIMARY KEY, region int NOT NULL, amount numeric NOT NULL);
      INSERT INTO sale SELECT g, g % 10, g FROM generate_series(1, 2000) g;
      CREATE MATERIALIZED VIEW totals AS SELECT region, sum(amount) AS total FROM sale GROUP BY region;
      CREATE UNIQUE INDEX totals_region ON totals (region);
    `);
    for (let i = 0; i < 2; i++) clients.push(await db.connect());
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps readers under 200 ms during build and swap, where REFRESH blocks them for the whole query', async () => {
    const file = path.join(dir, 'totals.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      sale:
        columns:
          id: { type: integer, nullable: false }
          region: { type: integer, nullable: false }
          amount: { type: numeric, nullable: false }
        primaryKey: { columns: [id] }
    materializedViews:
      totals:
        # 1 ms per row (a subquery that sleeps, correlated so that it runs for each row): about 2 s.
        definition: SELECT region, sum(amount) AS total, count(*) AS n FROM sale WHERE (SELECT true FROM pg_sleep(0.001 * (id > 0)::int)) GROUP BY region
        indexes: { totals_region: { columns: [region], unique: true } }
`,
    );
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(made.plan.phases[0]!.steps.map((s) => s.summary)).toEqual([
      expect.stringMatching(/^build the new materialized view public\.totals beside the old one/),
      expect.stringMatching(/^swap the new materialized view public\.totals in by rename/),
    ]);

    const reader = startWorkload(clients[0]!, () => ({ sql: 'SELECT count(*) FROM totals' }), 10);
    const t0 = performance.now();
    await applyPhase(db.client, made.plan, { phase: 'expand', allowHazards: ['long-running'] });
    const applyMs = performance.now() - t0;
    const during = await reader.stop();
    expect(applyMs, 'the new query ran long enough to matter').toBeGreaterThan(1500);
    expect(during.errors).toEqual([]);
    expect(during.statements).toBeGreaterThan(20);
    expect(during.maxMs, `readers waited ${during.maxMs} ms`).toBeLessThan(200);
    const n = await db.query<{ n: string }>('SELECT sum(n) AS n FROM totals');
    expect(Number(n[0]!.n)).toBe(2000);

    // The contrast: REFRESH (not CONCURRENTLY) holds ACCESS EXCLUSIVE while the same query runs.
    const contrast = startWorkload(clients[1]!, () => ({ sql: 'SELECT count(*) FROM totals' }), 10);
    await new Promise((r) => setTimeout(r, 50));
    await db.exec('REFRESH MATERIALIZED VIEW totals');
    const refresh = await contrast.stop();
    expect(refresh.maxMs, `a plain REFRESH blocked readers ${refresh.maxMs} ms`).toBeGreaterThan(1000);
  }, 120_000);
});
