/**
 * The scratch database (src/workflow/scratch.ts) and the normalization of views in it
 * (src/workflow/scratch-normalize.ts), through `makePlan` as `zdm plan` runs it: a query written
 * any way compares equal to what the server prints, a query PostgreSQL rejects is reported at its
 * YAML line, and the scratch database is gone afterwards.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesiredStateError } from '../../src/desired/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { PlanScratch, ScratchError, withScratchDatabase } from '../../src/workflow/scratch.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

async function scratchDatabases(): Promise<string[]> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    const r = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'zdm\\_scratch\\_%'`,
    );
    return r.rows.map((x) => x.datname);
  } finally {
    await c.end();
  }
}

describe('scratch database', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('scratch');
    await db.exec(`
      CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL, active boolean NOT NULL DEFAULT true);
      CREATE VIEW active_customer AS SELECT id, name FROM customer WHERE active;
    `);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-scratch-'));
    // The embedded server may run as another OS user (postgres, under root): it must reach the cache.
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const desired = async (name: string, views: string, files: Record<string, string> = {}): Promise<string> => {
    const d = path.join(dir, name);
    await mkdir(path.join(d, 'public', 'views'), { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(path.join(d, f), text);
    await writeFile(
      path.join(d, 'public.yaml'),
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      customer:
        columns:
          id: { type: integer, nullable: false }
          name: { type: text, nullable: false }
          active: { type: boolean, nullable: false, default: true }
        primaryKey: { columns: [id] }
${views}`,
    );
    return d;
  };

  it('takes a query written any way as the same view (whitespace, case, qualification): the plan is empty', async () => {
    const d = await desired(
      'same',
      `    views:
      active_customer: { file: public/views/active_customer.sql }
`,
      { 'public/views/active_customer.sql': 'select ID, "name"\n  from public.CUSTOMER\n where (active);\n' },
    );
    const made = await makePlan(db.client, { desiredPath: d, scratchUrl: adminUrl() });
    expect(made.plan.phases.flatMap((p) => p.steps)).toEqual([]);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('reports a query PostgreSQL rejects at the line of the YAML that names it, with its message', async () => {
    const d = await desired(
      'broken',
      `    views:
      active_customer:
        definition: SELECT id, name FROM customer WHERE active
      broken_view:
        definition: SELECT id, nope FROM customer
`,
    );
    const err = await makePlan(db.client, { desiredPath: d, scratchUrl: adminUrl() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DesiredStateError);
    const issues = (err as DesiredStateError).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      file: path.join(d, 'public.yaml'),
      line: 15,
      path: 'schemas.public.views.broken_view',
    });
    expect(issues[0]!.message).toMatch(/column "nope" does not exist/);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('creates views that read each other in any order (rounds), and reports one that reads what is not there', async () => {
    const d = await desired(
      'rounds',
      `    views:
      a_upper:
        definition: SELECT upper(name) AS n FROM b_names
      active_customer:
        definition: SELECT id, name FROM customer WHERE active
      b_names:
        definition: SELECT name FROM active_customer
      c_missing:
        definition: SELECT * FROM no_such_table
`,
    );
    const err = await makePlan(db.client, { desiredPath: d, scratchUrl: adminUrl() }).catch((e: unknown) => e);
    expect((err as DesiredStateError).issues.map((i) => [i.path, i.message])).toEqual([
      [
        'schemas.public.views.c_missing',
        expect.stringMatching(/PostgreSQL rejected it: relation "no_such_table" does not exist/),
      ],
    ]);
  });

  it('keeps the live facts of a view it does not change that reads an ordered-set aggregate zdm does not manage', async () => {
    // Functions and plain aggregates are managed (a desired state without one drops it);
    // ordered-set aggregates are not.
    await db.exec(`
      CREATE AGGREGATE shout(ORDER BY text) (SFUNC = textcat, STYPE = text);
      CREATE VIEW loud AS SELECT shout() WITHIN GROUP (ORDER BY name) AS name FROM customer;
    `);
    try {
      const loud = (await db.query<{ d: string }>(`SELECT pg_get_viewdef('loud'::regclass, true) AS d`))[0]!.d;
      const viewsYaml = (activeQuery: string, loudQuery: string) => `    views:
      active_customer:
        definition: ${activeQuery}
      loud:
        definition: |-
${loudQuery
  .trim()
  .split('\n')
  .map((l) => `          ${l}`)
  .join('\n')}
`;
      // loud as pull writes it (the live text, schema-qualified once search_path is empty).
      const liveLoud = loud
        .trim()
        .replace(/;$/, '')
        .replace(/\bshout\(/, 'public.shout(')
        .replace(/FROM customer/, 'FROM public.customer');
      const d = await desired(
        'unmanaged',
        viewsYaml('SELECT id, name FROM customer WHERE active AND id > 0', liveLoud),
      );
      const made = await makePlan(db.client, { desiredPath: d, scratchUrl: adminUrl() });
      expect(made.plan.phases.flatMap((p) => p.steps.map((x) => x.summary))).toEqual([
        'replace view public.active_customer (CREATE OR REPLACE: same columns)',
      ]);
      // Changing it needs the function in the scratch database: reported, with why.
      const d2 = await desired(
        'unmanaged2',
        viewsYaml('SELECT id, name FROM customer WHERE active', `${liveLoud} WHERE true`),
      );
      const err = await makePlan(db.client, { desiredPath: d2, scratchUrl: adminUrl() }).catch((e: unknown) => e);
      expect((err as DesiredStateError).issues.map((i) => [i.path, i.message])).toEqual([
        ['schemas.public.views.loud', expect.stringMatching(/function public\.shout\(text\) does not exist/)],
      ]);
    } finally {
      await db.exec('DROP VIEW loud; DROP AGGREGATE shout(ORDER BY text)');
    }
  });

  it('refuses a scratch server of another major version, saying why', async () => {
    const err = await withScratchDatabase({ major: db.major === 14 ? 15 : 14, url: adminUrl() }, async () => 1).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ScratchError);
    expect((err as Error).message).toMatch(/the scratch server .* is PostgreSQL \d+, the live one \d+/);
  });

  it('keeps the embedded cluster between runs, starts a fresh one while it is in use, and leaves nothing of a run', async () => {
    const cacheDir = path.join(dir, 'cache');
    const first = await withScratchDatabase({ major: db.major, cacheDir }, async (c, info) => {
      await c.query('CREATE TABLE left_behind (id int)');
      // A second run while the first one's server holds the kept cluster: a fresh server of its own.
      const inner = await withScratchDatabase({ major: db.major, cacheDir }, async (_c, i) => i.reusedCluster);
      expect(inner).toBe(false);
      return info;
    });
    expect(first.reusedCluster).toBe(false);
    const second = await withScratchDatabase({ major: db.major, cacheDir }, async (c, info) => {
      const t = await c.query(`SELECT FROM pg_class WHERE relname = 'left_behind'`);
      const dbs = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'zdm\\_scratch\\_%'`);
      return { info, tables: t.rowCount, databases: dbs.rowCount };
    });
    expect(second.info.reusedCluster).toBe(true);
    expect(second.tables).toBe(0);
    expect(second.databases).toBe(1);
    console.log(
      `scratch database on an embedded PostgreSQL ${db.major}: ready in ${Math.round(first.readyMs)} ms with initdb, ` +
        `${Math.round(second.info.readyMs)} ms on the kept cluster`,
    );
  }, 120_000);

  it('serves a plan from one server: a database made ahead is the next one taken, one not taken is dropped at close', async () => {
    const before = await scratchDatabases();
    const scratch = new PlanScratch({ major: db.major });
    try {
      scratch.ahead();
      scratch.ahead(); // a second call while one is pending makes no second database
      const server = await scratch.server();
      expect(await scratch.server()).toBe(server);
      const names = await scratch.with(async (c) => {
        const r = await c.query<{ d: string; n: string }>(
          `SELECT current_database() AS d, (SELECT count(*) FROM pg_database WHERE datname LIKE 'zdm\\_scratch\\_%')::text AS n`,
        );
        return r.rows[0]!;
      });
      expect(names.n).toBe('1');
      scratch.ahead(); // made ahead and never taken
      const ahead = await scratch.take();
      const name = (await ahead.client.query<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d;
      expect(name).not.toBe(names.d);
      await ahead.drop();
      scratch.ahead();
      await scratch.server();
    } finally {
      await scratch.close();
    }
    // An embedded server: nothing of it on the test server, before or after.
    expect(await scratchDatabases()).toEqual(before);
    // On a given server, the database made ahead and never taken is dropped by close().
    const given = new PlanScratch({ major: db.major, url: adminUrl() });
    given.ahead();
    await given.server();
    await given.close();
    expect(await scratchDatabases()).toEqual(before);
  }, 60_000);

  it('starts an embedded server of the live major version when no URL is given, with the roles asked for', async () => {
    const roles = await withScratchDatabase(
      { major: db.major, roles: ['app_reader', 'Odd "Role"'] },
      async (c, info) => {
        expect(info.source).toBe(`embedded PostgreSQL ${db.major}`);
        const r = await c.query<{ rolname: string; rolcanlogin: boolean }>(
          `SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('app_reader', 'Odd "Role"') ORDER BY 1`,
        );
        const v = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
        expect(Math.floor(Number(v.rows[0]!.v) / 10000)).toBe(db.major);
        return r.rows;
      },
    );
    expect(roles).toEqual([
      { rolname: 'Odd "Role"', rolcanlogin: false },
      { rolname: 'app_reader', rolcanlogin: false },
    ]);
  }, 60_000);
});
