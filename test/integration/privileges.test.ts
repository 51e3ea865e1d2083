/**
 * Privileges on functions, procedures and types and default privileges (issue 12), against a real
 * server: their GRANT, REVOKE and ALTER DEFAULT PRIVILEGES steps take no relation lock (proven from
 * pg_locks while each step runs), the plan converges, and a role that does not exist is an error
 * at plan time naming the file, line and role.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { runObserved } from '../support/observed-locks.js';

const ROLES = ['zdm_priv_reader', 'zdm_priv_owner']
  .map((r) => `DO $$BEGIN CREATE ROLE ${r}; EXCEPTION WHEN duplicate_object THEN NULL; END$$;`)
  .join('\n');

describe('privileges of functions, types and default privileges', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('privileges');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-privileges-'));
    await db.exec(ROLES);
  });
  afterAll(async () => {
    await db?.exec('DROP OWNED BY zdm_priv_owner').catch(() => {});
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('GRANT, REVOKE and ALTER DEFAULT PRIVILEGES steps lock no relation, and the plan converges', async () => {
    await db.exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;
      CREATE TABLE report (id int PRIMARY KEY);
      CREATE FUNCTION report_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.report';
      CREATE TYPE mood AS ENUM ('sad', 'happy');
      ALTER DEFAULT PRIVILEGES FOR ROLE zdm_priv_owner GRANT SELECT ON TABLES TO zdm_priv_reader;`);
    const file = path.join(dir, 'locks.yaml');
    await writeFile(
      file,
      `version: 1
defaultPrivileges:
  zdm_priv_owner:
    functions: {}
schemas:
  public:
    enums:
      mood: { values: [sad, happy], grants: { zdm_priv_reader: [USAGE] } }
    tables:
      report:
        columns:
          id: { type: integer, nullable: false }
        primaryKey: { columns: [id] }
    functions:
      report_count:
        returns: bigint
        language: sql
        body: SELECT count(*) FROM public.report
        grants: { zdm_priv_reader: [EXECUTE] }
`,
    );
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    const observed = await runObserved(db.client, made.plan);
    expect(observed.map((o) => o.step.replace(/^\S+ /, ''))).toEqual([
      'grant EXECUTE to zdm_priv_reader on function public.report_count()',
      'grant USAGE to zdm_priv_reader on enum public.mood',
      'revoke EXECUTE from public on function public.report_count()',
      'revoke USAGE from public on enum public.mood',
      'revoke SELECT from zdm_priv_reader on default privileges of role zdm_priv_owner on tables',
      'revoke EXECUTE from public on default privileges of role zdm_priv_owner on functions',
    ]);
    for (const o of observed) {
      expect(o.declared, o.step).toEqual([]);
      expect(o.held, o.step).toEqual([]);
    }
    const again = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(again.plan.phases.flatMap((p) => p.steps)).toEqual([]);
    const r = await db.client.query<{ ok: boolean }>(`SELECT
        has_function_privilege('zdm_priv_reader', 'report_count()', 'EXECUTE')
        AND NOT has_function_privilege('public', 'report_count()', 'EXECUTE')
        AND has_type_privilege('zdm_priv_reader', 'mood', 'USAGE')
        AND (SELECT count(*) = 1 FROM pg_default_acl WHERE defaclrole = 'zdm_priv_owner'::regrole) AS ok`);
    expect(r.rows[0]?.ok).toBe(true);
  });

  it('a role that does not exist, in a function grant or default privileges, is a plan-time error at its file:line', async () => {
    await db.exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;`);
    const file = path.join(dir, 'roles.yaml');
    await writeFile(
      file,
      `version: 1
defaultPrivileges:
  zdm_no_such_owner:
    tables: { zdm_no_such_reader: [SELECT] }
schemas:
  public:
    functions:
      answer: { returns: integer, language: sql, body: SELECT 42, grants: { zdm_no_such_caller: [EXECUTE] } }
`,
    );
    const made = makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    await expect(made).rejects.toThrow(
      /roles\.yaml:8:\d+: schemas\.public\.functions\.answer\.grants\.zdm_no_such_caller: .*role "zdm_no_such_caller" does not exist: zdm does not create roles/,
    );
    await expect(made).rejects.toThrow(
      /roles\.yaml:3:\d+: defaultPrivileges\.zdm_no_such_owner: .*role "zdm_no_such_owner" does not exist/,
    );
    await expect(made).rejects.toThrow(
      /roles\.yaml:4:\d+: defaultPrivileges\.zdm_no_such_owner\.tables\.zdm_no_such_reader: .*role "zdm_no_such_reader" does not exist/,
    );
  });
});
