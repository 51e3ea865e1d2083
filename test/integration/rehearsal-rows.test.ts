/**
 * `zdm plan --rehearse-rows N` (src/workflow/rehearse-rows.ts) on a real server: up to N live rows of
 * each table the plan changes copied into the rehearsal's scratch copy.
 *
 * - The copy: rows capped at N, the rows they reference by foreign key added; identity (GENERATED
 *   ALWAYS) and generated columns, a partitioned table (rows routed to their partitions), values of
 *   types whose text form depends on settings (timestamptz, interval, float, bytea, arrays, jsonb)
 *   or that only the database defines (an enum, an array of it, a domain)
 *   arrive equal; the live session only ever ran in a READ ONLY, REPEATABLE READ transaction under a
 *   statement timeout, and the live rows are unchanged.
 * - A scratch role that may not set session_replication_role gets a clear error.
 * - The plan's rehearsal section records the rows per table, and `zdm plan --rehearse-rows` writes it.
 * - A `using` expression that fails on a copied row stops the rehearsal as a data problem naming
 *   the row (not as a zdm bug); a foreign key validated over copied rows passes when their parents
 *   exist live, fails as data on a real orphan, and is called a possible sampling artefact when the
 *   parents were followed only part of the way.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/connection.js';
import { writeDesiredState } from '../../src/desired/write.js';
import { introspect } from '../../src/introspect/index.js';
import { withoutJournal } from '../../src/model/objects.js';
import { planChecksum, withChecksum } from '../../src/plan/checksum.js';
import { parsePlan } from '../../src/plan/file.js';
import { makePlan } from '../../src/workflow/plan.js';
import { RehearsalError, rehearsePlan } from '../../src/workflow/rehearse.js';
import {
  loadRowSample,
  MAX_PARENT_ROUNDS,
  RehearsalDataError,
  readRowSample,
} from '../../src/workflow/rehearse-rows.js';
import { ScratchError } from '../../src/workflow/scratch.js';
import { runCli } from '../support/cli.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const SCHEMA = `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE DOMAIN positive AS int CHECK (VALUE > 0);
  CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
  CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers,
    amount numeric NOT NULL,
    doubled numeric GENERATED ALWAYS AS (amount * 2) STORED,
    at timestamptz, wait interval, ratio double precision, raw bytea, tags text[], doc jsonb,
    feel mood, moods mood[], score positive);
  CREATE TABLE events (id int NOT NULL, day date NOT NULL, note text) PARTITION BY RANGE (day);
  CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');`;

/** Customers 1..50; the 200 orders reference only customers 41..50, which LIMIT 10 of customers does not read first. */
const ROWS = `INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g;
  INSERT INTO orders (customer_id, amount, at, wait, ratio, raw, tags, doc, feel, moods, score)
    SELECT 41 + g % 10, g, '2024-03-01 12:00+02'::timestamptz + g * interval '1 hour', g * interval '90 minutes',
           1.0 / g, decode(lpad(to_hex(g), 4, '0'), 'hex'), ARRAY['a"b', NULL, 'c,' || g], jsonb_build_object('g', g),
           (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ARRAY['ok', 'happy']::mood[], g
      FROM generate_series(1, 200) g;
  INSERT INTO events SELECT g, DATE '2024-12-28' + g, 'e' || g FROM generate_series(1, 60) g;`;

const q = (db: TestDatabase, sql: string) => db.query(sql);

/**
 * The live client, with the transaction state read after each of its statements: which ran outside
 * a READ ONLY, REPEATABLE READ transaction with a statement timeout.
 */
function watched(db: TestDatabase): { client: Queryable; states: string[] } {
  const states: string[] = [];
  const client: Queryable = {
    async query(text, values) {
      const r = await db.client.query(text, values as unknown[]);
      if (!/^(BEGIN|ROLLBACK)\b/.test(text)) {
        const s = await db.client.query<{ ro: string; iso: string; st: string; xact: boolean }>(
          `SELECT current_setting('transaction_read_only') AS ro, current_setting('transaction_isolation') AS iso,
                  current_setting('statement_timeout') AS st`,
        );
        const { ro, iso, st } = s.rows[0]!;
        states.push(`${ro} ${iso} ${st}`);
      }
      return r as never;
    },
  };
  return { client, states };
}

describe('zdm plan --rehearse-rows copies live rows into the scratch copy', () => {
  let live: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    [live, target] = await Promise.all([freshDatabase('rows_live'), freshDatabase('rows_target')]);
    await live.exec(SCHEMA + ROWS);
    await target.exec(SCHEMA);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rehearse-rows-'));
  });
  afterAll(async () => {
    await Promise.all([live?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('copies up to N rows, the parents they reference, identity, generated and partitioned rows equal, reading only in a READ ONLY, REPEATABLE READ transaction', async () => {
    const model = await introspect(live.client);
    const tables = model.schemas
      .flatMap((s) => s.tables)
      .filter((t) => ['orders', 'events'].includes(t.name))
      .sort((a, b) => a.name.localeCompare(b.name));
    const before = await q(live, 'SELECT count(*)::int AS n, sum(hashtext(o::text))::text AS h FROM orders o');
    const { client, states } = watched(live);
    const sample = await readRowSample(client, tables, { live: model, desired: model }, { limit: 10 });
    expect(states.length).toBeGreaterThan(3);
    expect(new Set(states)).toEqual(new Set(['on repeatable read 30s']));
    expect((await q(live, 'SELECT current_setting($$transaction_read_only$$) AS ro'))[0]).toEqual({ ro: 'off' });
    expect(await q(live, 'SELECT count(*)::int AS n, sum(hashtext(o::text))::text AS h FROM orders o')).toEqual(before);

    const byName = Object.fromEntries(sample.tables.map((t) => [t.table.name, t]));
    expect(byName.orders!.rows).toHaveLength(10);
    expect(byName.events!.rows).toHaveLength(10);
    expect(byName.orders!.columns).not.toContain('doubled');
    expect(byName.orders!.overriding).toBe(true);
    // customers is not a table the plan changes here: its rows are those the 10 orders reference, read by key.
    const ref = byName.orders!.columns.indexOf('customer_id');
    const referenced = [...new Set(byName.orders!.rows.map((r) => r[ref]))].sort();
    expect(referenced.every((id) => Number(id) > 40)).toBe(true);
    expect(byName.customers!.rows.map((r) => r[0]).sort()).toEqual(referenced);
    expect(sample.parentsComplete).toBe(true);

    const copied = await loadRowSample(target.client, sample);
    expect(copied).toEqual({ 'public.orders': 10, 'public.events': 10, 'public.customers': referenced.length });
    const rowsOf = async (db: TestDatabase, ids: string) =>
      q(db, `SELECT o.*::text AS row FROM orders o WHERE id IN (${ids}) ORDER BY id`);
    const ids = byName.orders!.rows.map((r) => r[0]).join(', ');
    expect(await rowsOf(target, ids)).toEqual(await rowsOf(live, ids));
    const eventsOf = (db: TestDatabase, ids: string) =>
      q(db, `SELECT tableoid::regclass::text AS part, e.*::text AS row FROM events e WHERE id IN (${ids}) ORDER BY id`);
    const eventIds = byName.events!.rows.map((r) => r[0]).join(', ');
    const routed = await eventsOf(target, eventIds);
    expect(routed).toEqual(await eventsOf(live, eventIds));
    expect(new Set(routed.map((r) => r.part))).toEqual(new Set(['events_2024', 'events_2025']));
    // Loaded with replica role, then set back.
    expect((await q(target, 'SHOW session_replication_role'))[0]).toEqual({ session_replication_role: 'origin' });
  });

  it('a live row the copy cannot take (a NOT VALID check it violates) stops the load naming the row, as data', async () => {
    const sql = `CREATE TABLE checked (id int PRIMARY KEY, n int);
      ALTER TABLE checked ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID;`;
    await target.exec(sql);
    await live.exec(`CREATE TABLE checked (id int PRIMARY KEY, n int);
      INSERT INTO checked VALUES (1, 5), (2, -1), (3, 7);
      ALTER TABLE checked ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID;`);
    const model = await introspect(live.client);
    const sample = await readRowSample(
      live.client,
      model.schemas.flatMap((s) => s.tables).filter((t) => t.name === 'checked'),
      { live: model, desired: model },
      { limit: 10 },
    );
    const err = await loadRowSample(target.client, sample).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalDataError);
    expect((err as Error).message).toContain('violates check constraint "n_positive"');
    expect((err as Error).message).toContain('the row: id="2", n="-1"');
    expect((err as Error).message).toContain('this is the data, not a zdm bug');
    expect((await q(target, 'SHOW session_replication_role'))[0]).toEqual({ session_replication_role: 'origin' });
  });

  it('refuses a scratch role that may not set session_replication_role, saying what to do', async () => {
    const role = `zdm_rows_${process.pid}`;
    await target.exec(`CREATE ROLE ${role} NOLOGIN`);
    try {
      const model = await introspect(live.client);
      const sample = await readRowSample(
        live.client,
        model.schemas.flatMap((s) => s.tables).filter((t) => t.name === 'customers'),
        { live: model, desired: model },
        { limit: 1 },
      );
      await target.exec(`SET ROLE ${role}`);
      const err = await loadRowSample(target.client, sample).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScratchError);
      expect((err as Error).message).toContain('may not set session_replication_role');
      expect((err as Error).message).toContain('--rehearse-rows 0');
    } finally {
      await target.exec(`RESET ROLE; DROP ROLE ${role}`);
    }
  });
});

/** The desired state of the schema `sql` builds, as `zdm pull` writes it. */
async function desiredOf(sql: string): Promise<string> {
  const db = await freshDatabase('rows_desired');
  try {
    await db.exec(sql);
    return writeDesiredState(withoutJournal(await introspect(db.client)), { schemaPath: '' });
  } finally {
    await db.drop();
  }
}

describe('zdm plan --rehearse-rows: a step that fails on the copied rows is the data, not zdm', () => {
  let dir: string;
  const dbs: TestDatabase[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rehearse-rows-plan-'));
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A live database built by `sql`, and a desired-state file holding `desired`. */
  async function scenario(label: string, sql: string, desired: string): Promise<{ db: TestDatabase; schema: string }> {
    const db = await freshDatabase(`rows_${label}`);
    dbs.push(db);
    await db.exec(sql);
    const schema = path.join(dir, `${label}.yaml`);
    await writeFile(schema, desired);
    return { db, schema };
  }

  const rehearse = (db: TestDatabase, schema: string, rows: number) =>
    makePlan(db.client, {
      desiredPath: schema,
      scratchUrl: adminUrl(),
      rehearse: true,
      rehearseRows: rows,
      // The preflight would find the same rows on the live database first: these tests are about rehearsal.
      preflight: false,
    });

  it('a using expression that fails on a copied row stops the plan naming the row, as data (exit 1); with no rows it rehearses', async () => {
    const { db, schema } = await scenario(
      'using',
      `CREATE TABLE items (id bigint PRIMARY KEY, code text NOT NULL);
       INSERT INTO items VALUES (1, '10'), (2, '20'), (3, 'x3'), (4, '40');`,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      items:
        columns:
          id: { type: bigint, nullable: false }
          code: { type: integer, nullable: false, using: "code::integer" }
        primaryKey: { columns: [id] }
`,
    );
    const err = await rehearse(db, schema, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalDataError);
    const e = err as RehearsalDataError;
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain('with live rows (--rehearse-rows 10) failed on those rows, nothing was written: step ');
    expect(e.message).toContain('invalid input syntax for type integer: "x3"');
    expect(e.message).toMatch(/^ {4}id=3\b/m);
    expect(e.message).toContain('this is the live data, not a zdm bug');
    expect(e.message).not.toContain('this is a zdm bug');
    expect(await db.query('SELECT id, code FROM items ORDER BY id')).toHaveLength(4);
    const schemaOnly = await rehearse(db, schema, 0);
    expect(schemaOnly.plan.rehearsal).toMatchObject({ rehearsed: true });
    expect(schemaOnly.plan.rehearsal).not.toHaveProperty('rows');
  });

  const PARENTS = `CREATE TABLE parents (id int PRIMARY KEY, name text);
    CREATE TABLE kids (id int PRIMARY KEY, parent_id int);`;
  const WITH_FK = `${PARENTS} ALTER TABLE kids ADD CONSTRAINT kids_parent_fk FOREIGN KEY (parent_id) REFERENCES parents;`;

  it('zdm plan --rehearse-rows validates a new foreign key over the copied rows and their parents, and records the rows per table', async () => {
    // kids 1..3, the rows LIMIT 3 reads, reference parents 30, 29, 28; LIMIT 3 of parents reads others.
    const { db, schema } = await scenario(
      'fk',
      `${PARENTS} INSERT INTO parents SELECT g, 'p' || g FROM generate_series(1, 30) g;
       INSERT INTO kids SELECT g, 31 - g FROM generate_series(1, 30) g;`,
      await desiredOf(WITH_FK),
    );
    const out = path.join(dir, 'fk.plan.yaml');
    const r = await runCli([
      'plan',
      '--schema',
      schema,
      '--database-url',
      db.url,
      '--scratch-url',
      adminUrl(),
      '--rehearse-rows',
      '3',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^rehearsal: \d+ steps applied to a scratch copy of the live schema \(the \d+ of its \d+ objects the plan needs\) with \d+ live rows of 2 tables on PostgreSQL /m,
    );
    const plan = parsePlan(await readFile(out, 'utf8'), out);
    const validate = plan.phases
      .flatMap((p) => p.steps)
      .find((s) => s.sql.some((q) => q.includes('VALIDATE CONSTRAINT')));
    expect(validate, 'the plan validates the key').toBeDefined();
    if (!plan.rehearsal?.rehearsed) throw new Error('not rehearsed');
    const kidsRows = plan.rehearsal.rows?.tables['public.kids'];
    const parentRows = plan.rehearsal.rows?.tables['public.parents'];
    expect(plan.rehearsal.rows?.limit).toBe(3);
    expect(kidsRows).toBe(3);
    // Up to 3 read of parents, plus those the 3 kids reference that were not among them.
    expect(parentRows).toBeGreaterThan(3);
    expect(parentRows).toBeLessThanOrEqual(6);
    // Under the checksum: the plan as written checks, the same plan with one count edited does not.
    expect(planChecksum(plan)).toBe(plan.checksum);
    const edited = {
      ...plan.rehearsal,
      rows: { limit: 3, tables: { ...plan.rehearsal.rows?.tables, 'public.kids': 2 } },
    };
    expect(planChecksum({ ...plan, rehearsal: edited })).not.toBe(plan.checksum);
  });

  it('with rows, a step that takes a lock it does not declare is still a zdm bug (exit 4)', async () => {
    const { db, schema } = await scenario(
      'lock',
      `CREATE TABLE items (id bigint PRIMARY KEY, code text NOT NULL);
       INSERT INTO items SELECT g, g::text FROM generate_series(1, 20) g;`,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      items:
        columns:
          id: { type: bigint, nullable: false }
          code: { type: text, nullable: false }
          note: { type: text }
        primaryKey: { columns: [id] }
`,
    );
    const made = await makePlan(db.client, { desiredPath: schema });
    const weaker = withChecksum({
      ...made.plan,
      phases: made.plan.phases.map((p) => ({
        ...p,
        steps: p.steps.map((s) => ({ ...s, locks: s.locks.map((l) => ({ ...l, mode: 'ACCESS SHARE' as const })) })),
      })),
    });
    const err = await rehearsePlan(weaker, made.live, made.desired, {
      scratchUrl: adminUrl(),
      rows: { limit: 5, live: db.client },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalError);
    expect((err as RehearsalError).exitCode).toBe(4);
    expect((err as Error).message).toContain('took ACCESS EXCLUSIVE on public.items');
    expect((err as Error).message).toContain('this is a zdm bug');
  });

  it('a copied row whose parent is missing live too fails as data, naming the key', async () => {
    const { db, schema } = await scenario(
      'orphan',
      `${PARENTS} INSERT INTO parents VALUES (1, 'one');
       INSERT INTO kids VALUES (1, 1), (2, 99), (3, NULL);`,
      await desiredOf(WITH_FK),
    );
    const err = await rehearse(db, schema, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalDataError);
    const e = err as RehearsalDataError;
    expect(e.message).toContain('Key (parent_id)=(99) is not present in table "parents"');
    expect(e.message).toContain('the referenced row is missing there too');
    expect(e.message).not.toContain('artefact');
  });

  it('a missing parent beyond the levels of foreign keys followed is called a possible sampling artefact', async () => {
    // A chain: staff 1 reports to 2, 2 to 3, …, 20 to nobody. LIMIT 1 reads staff 1 (the first row
    // written); MAX_PARENT_ROUNDS levels of bosses follow it, the next one does not.
    const chain = 20;
    expect(chain).toBeGreaterThan(MAX_PARENT_ROUNDS + 2);
    const STAFF = 'CREATE TABLE staff (id int PRIMARY KEY, boss int);';
    const { db, schema } = await scenario(
      'chain',
      `${STAFF} INSERT INTO staff SELECT g, NULLIF(g + 1, ${chain + 1}) FROM generate_series(1, ${chain}) g;`,
      await desiredOf(`${STAFF} ALTER TABLE staff ADD CONSTRAINT staff_boss_fk FOREIGN KEY (boss) REFERENCES staff;`),
    );
    const err = await rehearse(db, schema, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalDataError);
    const e = err as RehearsalDataError;
    expect(e.message).toContain(`Key (boss)=(${MAX_PARENT_ROUNDS + 2}) is not present in table "staff"`);
    expect(e.message).toContain('this may be an artefact of the sampling');
    expect(e.message).not.toContain('this is a zdm bug');
    expect(e).not.toBeInstanceOf(RehearsalError);
  });
});
