/**
 * Views and SQL-standard functions over a column that a plan renames (renamedFrom) or retypes
 * (`using`), applied phase by phase while both application versions write the table and readers go
 * through the view and the function (issue 12, item 5): through expand and backfill they keep
 * reading the old column for the old version; contract re-creates them on the new one in the
 * transaction that drops the old. No statement of any writer or reader may fail, the readers see the
 * values the writers wrote, and a second plan is empty.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { AppWorkload } from '../support/app-workload.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Clients running one read each in a loop until stopped; every failure is kept. */
class Readers {
  private running = true;
  private readonly loops: Promise<void>[] = [];
  readonly failures: { sql: string; message: string }[] = [];
  reads = 0;
  /** Reads whose value was not one the table could have held (checked by `valid`). */
  readonly wrong: string[] = [];

  constructor(private readonly url: string) {}

  /** `clients` loops of `sql` with a key from 1 to `keys`, each result row checked by `valid`. */
  async start(
    sql: string,
    keys: number,
    valid: (row: Record<string, unknown>) => boolean,
    clients = 2,
  ): Promise<() => Promise<void>> {
    let mine = true;
    const run = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url, application_name: 'zdm-test-reader' });
      c.on('error', () => {});
      await c.connect();
      try {
        let k = 0;
        while (this.running && mine) {
          k = (k % keys) + 1;
          try {
            const r = await c.query(sql, [k]);
            this.reads++;
            for (const row of r.rows) if (!valid(row)) this.wrong.push(`${sql} [${k}]: ${JSON.stringify(row)}`);
          } catch (err) {
            this.failures.push({ sql, message: (err as Error).message });
            // A broken connection fails every later query at once: stop this client rather than spin.
            if (this.failures.length > 50) return;
            await sleep(5);
          }
        }
      } finally {
        await c.end().catch(() => {});
      }
    };
    const started = Array.from({ length: clients }, run);
    this.loops.push(...started);
    return async () => {
      mine = false;
      await Promise.all(started);
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

describe('views and SQL-standard functions over a renamed or retyped column, under a workload', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rename readers');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rename-readers-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function rows(sql: string): Promise<Map<number, string>> {
    const r = await db.query<{ id: string; v: string | null }>(sql);
    return new Map(r.map((x) => [Number(x.id), String(x.v)]));
  }

  it('label renamed to handle: the view and the function read label for the old version until contract, handle after; 0 failed', async () => {
    await db.exec(`
      DROP VIEW IF EXISTS public.user_labels, public.user_names;
      DROP FUNCTION IF EXISTS public.label_of(bigint);
      DROP TABLE IF EXISTS public.users;
      CREATE TABLE public.users (id bigint PRIMARY KEY, label text NOT NULL);
      INSERT INTO public.users SELECT g, 'l' || g FROM generate_series(1, 2000) g;
      CREATE VIEW public.user_labels AS SELECT id, label FROM public.users;
      CREATE VIEW public.user_names AS SELECT id, label AS name FROM public.users;
      CREATE FUNCTION public.label_of(k bigint) RETURNS text LANGUAGE sql STABLE
        BEGIN ATOMIC SELECT label FROM public.users WHERE id = k; END;
      ANALYZE;`);
    const file = path.join(dir, 'rename.yaml');
    await writeFile(
      file,
      `
version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          handle: { type: text, nullable: false, renamedFrom: label }
        primaryKey: { columns: [id] }
    views:
      user_labels: { definition: "SELECT id, handle FROM public.users" }
      user_names: { definition: "SELECT id, handle AS name FROM public.users" }
    functions:
      label_of:
        arguments: [{ name: k, type: bigint }]
        returns: text
        language: sql
        volatility: stable
        body: BEGIN ATOMIC SELECT handle FROM public.users WHERE id = k; END
`,
    );
    const { plan } = await makePlan(db.client, { desiredPath: file, batchSize: 200 });
    const contract = plan.phases
      .find((ph) => ph.name === 'contract')!
      .steps.map((s) => s.summary)
      .join('\n');
    expect(contract).toMatch(/user_labels/);
    expect(contract).toMatch(/label_of/);
    const apply = async (phase: 'expand' | 'backfill' | 'contract') => {
      const t0 = performance.now();
      await applyPhase(db.client, plan, { phase, allowHazards: ['long-running'], pauseMs: 0, oldWritesQuietMs: 0 });
      console.log(`${phase}: ${Math.round(performance.now() - t0)} ms`);
    };

    const users = new AppWorkload(
      db.url,
      { schema: 'public', name: 'users' },
      'id',
      await rows('SELECT id, label AS v FROM public.users'),
    );
    const readers = new Readers(db.url);
    // A value the table could hold: the workload writes `<role>-<n>`-like texts, the initial rows `l<id>`.
    const text = (v: unknown) => typeof v === 'string' && v.length > 0;
    const oldWriters = await users.start('old-app', 'label', 2);
    const oldView = await readers.start('SELECT id, label FROM public.user_labels WHERE id = $1', 2000, (r) =>
      text(r.label),
    );
    // Read by both versions through every phase: the view's column keeps its name, the function its signature.
    await readers.start('SELECT id, name FROM public.user_names WHERE id = $1', 2000, (r) => text(r.name));
    // NULL: a row the writers deleted.
    await readers.start('SELECT public.label_of($1) AS v', 2000, (r) => r.v === null || text(r.v));
    await sleep(150);
    await apply('expand');
    await users.start('new-app', 'handle', 2);
    await sleep(150);
    await apply('backfill');
    await sleep(150);
    await users.stopGroup(oldWriters);
    await oldView();
    const before = readers.reads;
    await apply('contract');
    await readers.start('SELECT id, handle FROM public.user_labels WHERE id = $1', 2000, (r) => text(r.handle));
    await sleep(200);
    const report = await users.stop();
    await readers.stop();
    console.log(
      `rename under a view and a SQL-standard function (PostgreSQL ${db.major}): writers ${report.statements} statements ` +
        `${JSON.stringify(report.byRole)} (max ${report.maxMs.toFixed(1)} ms), readers ${readers.reads} reads, 0 failed`,
    );
    expect(report.failures).toEqual([]);
    expect(readers.failures).toEqual([]);
    expect(readers.wrong).toEqual([]);
    expect(report.byRole['old-app']!.updates).toBeGreaterThan(10);
    expect(report.byRole['new-app']!.updates).toBeGreaterThan(10);
    expect(readers.reads).toBeGreaterThan(before);
    // What the readers see is what the writers wrote.
    const expected = new Map([...users.expected()].map(([k, v]) => [k, String(v)]));
    expect(await rows('SELECT id, handle AS v FROM public.user_labels')).toEqual(expected);
    expect(await rows('SELECT id, name AS v FROM public.user_names')).toEqual(expected);
    expect(await rows('SELECT id, public.label_of(id) AS v FROM public.users')).toEqual(expected);
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  }, 180_000);

  it('score text → integer with `using`: the view and the function keep working for both versions; 0 failed', async () => {
    await db.exec(`
      DROP VIEW IF EXISTS public.top_scores;
      DROP FUNCTION IF EXISTS public.score_of(bigint);
      DROP TABLE IF EXISTS public.players;
      CREATE TABLE public.players (id bigint PRIMARY KEY, score text NOT NULL);
      INSERT INTO public.players SELECT g, (g % 100)::text FROM generate_series(1, 2000) g;
      CREATE VIEW public.top_scores AS SELECT id, score FROM public.players;
      CREATE FUNCTION public.score_of(k bigint) RETURNS text LANGUAGE sql STABLE
        RETURN (SELECT score FROM public.players WHERE id = k);
      ANALYZE;`);
    const file = path.join(dir, 'retype.yaml');
    await writeFile(
      file,
      `
version: 1
schemas:
  public:
    tables:
      players:
        columns:
          id: { type: bigint, nullable: false }
          score: { type: integer, nullable: false, using: score::integer }
        primaryKey: { columns: [id] }
    views:
      top_scores: { definition: "SELECT id, score FROM public.players" }
    functions:
      score_of:
        arguments: [{ name: k, type: bigint }]
        returns: text
        language: sql
        volatility: stable
        body: RETURN (SELECT score::text FROM public.players WHERE id = k)
`,
    );
    const { plan } = await makePlan(db.client, { desiredPath: file, batchSize: 200 });
    const contract = plan.phases.find((ph) => ph.name === 'contract')!.steps.map((s) => s.summary);
    expect(
      contract.filter((x) =>
        /^replace function public\.score_of\(.*\) to read public\.players's new column before/.test(x),
      ),
    ).toHaveLength(1);
    const apply = async (phase: 'expand' | 'backfill' | 'contract') => {
      const t0 = performance.now();
      await applyPhase(db.client, plan, {
        phase,
        allowHazards: ['long-running', 'data-loss', 'app-compat'],
        pauseMs: 0,
        oldWritesQuietMs: 0,
      });
      console.log(`${phase}: ${Math.round(performance.now() - t0)} ms`);
    };
    // Both versions write numbers as the column's text (old) and as integers (new): the workload's values are numbers.
    const players = new AppWorkload(
      db.url,
      { schema: 'public', name: 'players' },
      'id',
      await rows('SELECT id, score AS v FROM public.players'),
      (n) => n,
    );
    const readers = new Readers(db.url);
    const numeric = (v: unknown) => v !== null && /^-?\d+$/.test(String(v));
    await players.start('old-app', 'score', 2);
    await readers.start('SELECT id, score FROM public.top_scores WHERE id = $1', 2000, (r) => numeric(r.score));
    await readers.start('SELECT public.score_of($1) AS v', 2000, (r) => r.v === null || numeric(r.v));
    await sleep(150);
    await apply('expand');
    await sleep(150);
    await apply('backfill');
    await sleep(150);
    await apply('contract');
    await sleep(200);
    const report = await players.stop();
    await readers.stop();
    console.log(
      `type change under a view and a SQL-standard function (PostgreSQL ${db.major}): writers ${report.statements} statements ` +
        `(max ${report.maxMs.toFixed(1)} ms), readers ${readers.reads} reads, 0 failed`,
    );
    expect(report.failures).toEqual([]);
    expect(readers.failures).toEqual([]);
    expect(readers.wrong).toEqual([]);
    expect(readers.reads).toBeGreaterThan(100);
    const expected = new Map([...players.expected()].map(([k, v]) => [k, String(v)]));
    expect(await rows('SELECT id, score AS v FROM public.top_scores')).toEqual(expected);
    expect(await rows('SELECT id, public.score_of(id) AS v FROM public.players')).toEqual(expected);
    expect(
      (
        await db.query<{ t: string }>(
          `SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = 'public.players'::regclass AND attname = 'score'`,
        )
      )[0]!.t,
    ).toBe('integer');
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  }, 180_000);
});
