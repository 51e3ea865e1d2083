/**
 * `zdm pull --owners` (issue 12): the pulled state names every owner, and planned against the
 * database it came from it is empty; an owner changed since is put back by the next plan. Without
 * the flag no `owner:` is written (the desired state then leaves owners alone).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePlan } from '../../src/workflow/plan.js';
import { runCli } from '../support/cli.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const SETUP = `
  DO $$BEGIN CREATE ROLE zdm_pull_owner_a; EXCEPTION WHEN duplicate_object THEN NULL; END$$;
  DO $$BEGIN CREATE ROLE zdm_pull_owner_b; EXCEPTION WHEN duplicate_object THEN NULL; END$$;
  COMMENT ON SCHEMA public IS NULL;
  CREATE SCHEMA app AUTHORIZATION zdm_pull_owner_a;
  CREATE TABLE app.items (id serial PRIMARY KEY, name text);
  ALTER TABLE app.items OWNER TO zdm_pull_owner_a;
  CREATE TABLE app.notes (id int);
  ALTER TABLE app.notes OWNER TO zdm_pull_owner_b;
  CREATE VIEW app.item_names AS SELECT name FROM app.items;
  ALTER VIEW app.item_names OWNER TO zdm_pull_owner_a;
  CREATE FUNCTION app.two() RETURNS integer LANGUAGE sql AS 'SELECT 2';
  ALTER FUNCTION app.two() OWNER TO zdm_pull_owner_b;
  CREATE TYPE app.mood AS ENUM ('ok');
  ALTER TYPE app.mood OWNER TO zdm_pull_owner_b;`;

describe('zdm pull --owners (the built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('pull owners');
    await db.exec(SETUP);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-pull-owners-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('without --owners writes no owner; with it every owner, and the pulled state plans to nothing', async () => {
    const plain = await runCli(['pull', '--database-url', db.url, '--schema', 'app']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('owner');

    const pulled = await runCli(['pull', '--database-url', db.url, '--schema', 'app', '--owners']);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toBe(
      await runCli(['pull', '--database-url', db.url, '--schema', 'app', '--owners']).then((r) => r.stdout),
    );
    const text = pulled.stdout;
    expect(text).toContain('  app:\n    owner: zdm_pull_owner_a\n');
    expect(text).toContain('mood: { values: [ ok ], owner: zdm_pull_owner_b }');
    expect(text).toMatch(/ {6}items:\n {8}owner: zdm_pull_owner_a\n/);
    expect(text).toMatch(/ {6}notes:\n {8}owner: zdm_pull_owner_b\n/);
    expect(text).toMatch(/item_names:\n(?: {8}.*\n)* {8}owner: zdm_pull_owner_a\n/);
    expect(text).toMatch(/two:\n(?: {8}.*\n)* {8}owner: zdm_pull_owner_b\n/);
    // The serial's sequence has its table's owner, and no key of its own.
    expect(text).toContain('items_id_seq: { type: integer, ownedBy: items.id, grants: {} }');

    // Without the other schema the plan would drop public: pulled with --schema app, plan app only.
    const file = path.join(dir, 'app.yaml');
    await writeFile(file, text.replace('schemas:\n', 'schemas:\n  public: {}\n'));
    const same = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(same.plan.phases.flatMap((p) => p.steps).map((s) => s.summary)).toEqual([]);

    await db.exec(
      'ALTER TABLE app.items OWNER TO zdm_pull_owner_b; ALTER FUNCTION app.two() OWNER TO zdm_pull_owner_a',
    );
    const back = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(back.plan.phases.flatMap((p) => p.steps).map((s) => `${s.summary} [${s.hazards.join(',')}]`)).toEqual([
      'owner of table app.items: zdm_pull_owner_b → zdm_pull_owner_a [app-compat]',
      'owner of function app.two(): zdm_pull_owner_a → zdm_pull_owner_b [app-compat]',
    ]);
  });

  it('--out DIR writes the owners into each schema file', async () => {
    const out = path.join(dir, 'tree/');
    const r = await runCli(['pull', '--database-url', db.url, '--schema', 'app', '--owners', '--out', out]);
    expect(r.code).toBe(0);
    expect(await readFile(path.join(out, 'app.yaml'), 'utf8')).toContain('  app:\n    owner: zdm_pull_owner_a\n');
  });

  it('--help names --owners', async () => {
    const r = await runCli(['pull', '--help']);
    expect(r.stdout).toMatch(/--owners\s+Write the owner of each object/);
  });
});
