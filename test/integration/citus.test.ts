/**
 * zdm on a Citus coordinator: no Citus package installs on these machines, so Citus's catalog of the
 * tables it manages (pg_catalog.pg_dist_partition) is stood in for by a table of the same name and
 * the columns zdm reads. With distributed or reference tables listed there, `zdm plan` and `zdm
 * apply` refuse, naming them, and change nothing; with the catalog empty the database is plain
 * PostgreSQL to zdm.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializePlan } from '../../src/plan/index.js';
import { CitusError, citusTables } from '../../src/workflow/citus.js';
import { makePlan } from '../../src/workflow/plan.js';
import { runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

describe('a Citus coordinator (stand-in catalog)', () => {
  let db: TestDatabase;
  let dir: string;
  let schema: string;
  let planFile: string;
  beforeAll(async () => {
    db = await freshDatabase('citus');
    await db.exec(`
      CREATE TABLE public.orders (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
      CREATE TABLE public.countries (code text PRIMARY KEY);
      SET allow_system_table_mods = on;
      CREATE TABLE pg_catalog.pg_dist_partition (logicalrelid regclass NOT NULL, partmethod "char" NOT NULL);
      RESET allow_system_table_mods;`);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-citus-'));
    schema = path.join(dir, 'schema.yaml');
    await writeFile(
      schema,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      orders:
        columns:
          id: { type: bigint, nullable: false }
          tenant_id: { type: bigint, nullable: false }
        primaryKey: { columns: [id] }
        indexes:
          orders_tenant_id: { columns: [tenant_id] }
      countries:
        columns:
          code: { type: text, nullable: false }
        primaryKey: { columns: [code] }
`,
    );
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('with the catalog empty, zdm plans as on plain PostgreSQL', async () => {
    expect(await citusTables(db.client)).toEqual([]);
    const made = await makePlan(db.client, { desiredPath: schema });
    expect(made.plan.phases.flatMap((p) => p.steps).length).toBeGreaterThan(0);
    planFile = path.join(dir, 'index.plan.yaml');
    await writeFile(planFile, serializePlan(made.plan));
  });

  it('with distributed and reference tables, plan and apply refuse, naming them', async () => {
    await db.exec(`INSERT INTO pg_catalog.pg_dist_partition VALUES ('public.orders', 'h'), ('public.countries', 'n')`);
    expect(await citusTables(db.client)).toEqual([
      'public.countries (reference or Citus-local)',
      'public.orders (hash-distributed)',
    ]);
    await expect(makePlan(db.client, { desiredPath: schema })).rejects.toThrow(CitusError);
    const r = await runCli(['plan', '--schema', schema, '--database-url', db.url, '--out', path.join(dir, 'p.yaml')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'error: zdm plan: this database is a Citus coordinator with 2 Citus table(s): public.countries (reference or Citus-local), public.orders (hash-distributed).',
    );
    // A plan made before: apply refuses too, on one database and across a fleet.
    const one = await runCli(['apply', planFile, '--phase', 'expand', '--database-url', db.url]);
    expect(one.code).toBe(3);
    expect(one.stderr).toContain('error: zdm apply: this database is a Citus coordinator with 2 Citus table(s)');
    const u = new URL(db.url);
    const password = decodeURIComponent(u.password);
    u.password = '';
    await writeFile(path.join(dir, 'targets.yaml'), `version: 1\ntargets:\n  - name: coordinator\n    url: ${u}\n`);
    const fleet = await runCli(
      ['apply', planFile, '--phase', 'expand', '--targets', path.join(dir, 'targets.yaml'), '--json'],
      { env: { PGPASSWORD: password } },
    );
    expect(fleet.code).toBe(3);
    const result = JSON.parse(fleet.stdout) as { targets: { outcome: { status: string; error: string } }[] };
    expect(result.targets[0]!.outcome.status).toBe('failed');
    expect(result.targets[0]!.outcome.error).toContain('zdm apply: this database is a Citus coordinator');
    const idx = await db.query(`SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'orders_tenant_id'`);
    expect(idx).toEqual([]);
  });
});
