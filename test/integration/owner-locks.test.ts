/**
 * Owners (issue 12): the locks the ALTER … OWNER TO steps declare are the locks PostgreSQL takes.
 * Each step runs inside a transaction and the relation locks its backend holds are read from
 * pg_locks before the rollback (tables, views, materialized views, sequences and composite types:
 * an index is locked with its table and is not listed); then it runs for real, and the plan made
 * again is empty. Also: an owner that does not exist is a plan-time error at its `owner:` key.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODE_OF_PG_LOCK } from '../../src/apply/observe-locks.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const ROLES = ['zdm_lock_owner_a', 'zdm_lock_owner_b']
  .map((r) => `DO $$BEGIN CREATE ROLE ${r}; EXCEPTION WHEN duplicate_object THEN NULL; END$$;`)
  .join('\n');

const LIVE = `
  COMMENT ON SCHEMA public IS NULL;
  CREATE SCHEMA app;
  CREATE TABLE app.t (id serial PRIMARY KEY, n int);
  CREATE SEQUENCE app.s;
  CREATE VIEW app.v AS SELECT id FROM app.t;
  CREATE MATERIALIZED VIEW app.mv AS SELECT id FROM app.t;
  CREATE INDEX mv_id ON app.mv (id);
  CREATE TYPE app.e AS ENUM ('x');
  CREATE DOMAIN app.d AS integer;
  CREATE TYPE app.c AS (a integer);
  CREATE FUNCTION app.f() RETURNS integer LANGUAGE sql AS 'SELECT 1';
  CREATE PROCEDURE app.p() LANGUAGE sql AS 'SELECT 1';
  DO $$DECLARE r record; BEGIN
    FOR r IN SELECT format('ALTER %s app.%I OWNER TO zdm_lock_owner_a', k, n) AS q
      FROM (VALUES ('TABLE', 't'), ('SEQUENCE', 's'), ('VIEW', 'v'), ('MATERIALIZED VIEW', 'mv'), ('TYPE', 'e'),
                   ('DOMAIN', 'd'), ('TYPE', 'c'), ('FUNCTION', 'f'), ('PROCEDURE', 'p')) AS x(k, n)
    LOOP EXECUTE r.q; END LOOP;
  END$$;
  ALTER SCHEMA app OWNER TO zdm_lock_owner_a;`;

const DESIRED = `version: 1
schemas:
  public: {}
  app:
    owner: zdm_lock_owner_b
    enums:
      e: { values: [x], owner: zdm_lock_owner_b }
    domains:
      d: { type: integer, owner: zdm_lock_owner_b }
    compositeTypes:
      c:
        attributes: { a: { type: integer } }
        owner: zdm_lock_owner_b
    sequences:
      s: { owner: zdm_lock_owner_b }
      t_id_seq: { type: integer, ownedBy: t.id }
    tables:
      t:
        owner: zdm_lock_owner_b
        columns:
          id: { type: integer, nullable: false, default: "nextval('app.t_id_seq'::regclass)" }
          n: { type: integer }
        primaryKey: { columns: [id] }
    views:
      v: { definition: SELECT t.id FROM app.t, owner: zdm_lock_owner_b }
    materializedViews:
      mv:
        definition: SELECT t.id FROM app.t
        owner: zdm_lock_owner_b
        indexes:
          mv_id: { columns: [id] }
    functions:
      f: { returns: integer, language: sql, body: SELECT 1, owner: zdm_lock_owner_b }
    procedures:
      p: { language: sql, body: SELECT 1, owner: zdm_lock_owner_b }
`;

/** What the session holds on the relations of user schemas (not indexes), `MODE on schema.name`, strongest per relation. */
const HELD_SQL = `SELECT n.nspname || '.' || c.relname AS rel, l.mode
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_class c ON c.oid = l.relation
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted
   AND n.nspname = 'app' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c')`;

describe('owner steps: declared locks are the locks PostgreSQL takes', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('owner locks');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-owner-locks-'));
    await db.exec(ROLES);
    await db.exec(LIVE);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ALTER … OWNER TO: ACCESS EXCLUSIVE on a table (and its OWNED BY sequence), view, materialized view, sequence, composite type; no relation lock for the others', async () => {
    const file = path.join(dir, 'desired.yaml');
    await writeFile(file, DESIRED);
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    const steps = made.plan.phases.flatMap((p) => p.steps);
    expect(steps.map((s) => s.summary).filter((x) => !x.startsWith('owner of '))).toEqual([]);
    const observed: Record<string, { declared: string[]; held: string[] }> = {};
    for (const step of steps) {
      if (step.kind !== 'sql') continue;
      await db.client.query('BEGIN');
      try {
        for (const q of step.sql) await db.client.query(q);
        const rows = (await db.client.query<{ rel: string; mode: string }>(HELD_SQL)).rows;
        observed[step.sql.join('; ')] = {
          declared: step.locks.map((l) => `${l.mode} on ${l.relation}`).sort(),
          held: rows.map((r) => `${MODE_OF_PG_LOCK[r.mode]} on ${r.rel}`).sort(),
        };
      } finally {
        await db.client.query('ROLLBACK');
      }
    }
    const ae = (...rels: string[]) => rels.map((r) => `ACCESS EXCLUSIVE on ${r}`);
    const expected: Record<string, string[]> = {
      'ALTER SCHEMA app OWNER TO zdm_lock_owner_b': [],
      'ALTER TYPE app.e OWNER TO zdm_lock_owner_b': [],
      'ALTER DOMAIN app.d OWNER TO zdm_lock_owner_b': [],
      'ALTER TYPE app.c OWNER TO zdm_lock_owner_b': ae('app.c'),
      'ALTER SEQUENCE app.s OWNER TO zdm_lock_owner_b': ae('app.s'),
      'ALTER TABLE app.t OWNER TO zdm_lock_owner_b': ae('app.t', 'app.t_id_seq'),
      'ALTER VIEW app.v OWNER TO zdm_lock_owner_b': ae('app.v'),
      'ALTER MATERIALIZED VIEW app.mv OWNER TO zdm_lock_owner_b': ae('app.mv'),
      'ALTER FUNCTION app.f() OWNER TO zdm_lock_owner_b': [],
      'ALTER PROCEDURE app.p() OWNER TO zdm_lock_owner_b': [],
    };
    expect(Object.keys(observed).sort()).toEqual(Object.keys(expected).sort());
    for (const [sql, want] of Object.entries(expected)) {
      expect(observed[sql]!.held, sql).toEqual(want);
      expect(observed[sql]!.declared, sql).toEqual(want);
    }

    // Applied for real (expand, app-compat allowed), the owners are the desired ones: planned again, nothing to do.
    for (const step of steps) if (step.kind === 'sql') for (const q of step.sql) await db.client.query(q);
    const owners = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'app' AND pg_catalog.pg_get_userbyid(c.relowner) <> 'zdm_lock_owner_b'`,
    );
    expect(owners[0]!.n).toBe(0);
    const again = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(again.plan.phases.flatMap((p) => p.steps)).toEqual([]);
  });

  it('an owner that does not exist is a plan-time error at the owner: key (file:line)', async () => {
    const file = path.join(dir, 'missing.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  app:
    owner: zdm_no_such_owner
    functions:
      f: { returns: integer, language: sql, body: SELECT 1, owner: zdm_no_such_owner_either }
`,
    );
    const made = makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    await expect(made).rejects.toThrow(
      /missing\.yaml:4:\d+: schemas\.app\.owner: .*role "zdm_no_such_owner" does not exist: zdm does not create roles/,
    );
    await expect(made).rejects.toThrow(
      /missing\.yaml:6:\d+: schemas\.app\.functions\.f\.owner: .*role "zdm_no_such_owner_either" does not exist/,
    );
  });
});
