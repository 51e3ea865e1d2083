/**
 * The locks the plan declares for row level security policies, proven from pg_locks (every
 * transactional step runs once inside BEGIN … ROLLBACK while its own locks are read, then for real):
 * CREATE, ALTER, DROP POLICY and the drop-and-create of a policy ALTER POLICY cannot change take
 * ACCESS EXCLUSIVE on the table (../shared/pg-locks.md), and ACCESS SHARE on each other table a
 * subquery of the policy reads; COMMENT ON POLICY alone takes ACCESS SHARE.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { runObserved } from '../support/observed-locks.js';

const ROLE = `DO $$BEGIN CREATE ROLE zdm_policy_reader; EXCEPTION WHEN duplicate_object THEN NULL; END$$;`;

describe('locks of policy steps, from pg_locks', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('policy locks');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-policy-locks-'));
    await db.exec(ROLE);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const table = (policies: string) => `    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
          owner: { type: text }
        primaryKey: { columns: [id] }
        rowLevelSecurity: true
${policies === '' ? '' : `        policies:\n${policies}`}`;
  const liveSql = (policies: string) =>
    `CREATE TABLE t (id int PRIMARY KEY, owner text); ALTER TABLE t ENABLE ROW LEVEL SECURITY; ${policies}`;

  it.for([
    [
      'create two policies, one with a comment',
      liveSql(''),
      table(`          p_read: { roles: [zdm_policy_reader], using: owner = current_user, comment: own rows }
          p_write: { restrictive: true, command: insert, withCheck: owner = current_user }
`),
      ['create policy p_read on public.t', 'create policy p_write on public.t'],
      'ACCESS EXCLUSIVE',
    ],
    [
      'change roles and USING (ALTER POLICY)',
      liveSql(`CREATE POLICY p ON t USING (true);`),
      table(`          p: { roles: [zdm_policy_reader], using: owner = current_user }
`),
      ['alter policy p on public.t'],
      'ACCESS EXCLUSIVE',
    ],
    [
      'change the command (drop and create in one transaction)',
      liveSql(`CREATE POLICY p ON t USING (owner = current_user);`),
      table(`          p: { command: select, using: owner = current_user }
`),
      [expect.stringMatching(/^replace policy p on public\.t \(FOR all → select: /)],
      'ACCESS EXCLUSIVE',
    ],
    [
      'create and alter policies whose subquery reads another table',
      `CREATE TABLE allowed (name text); ${liveSql(`CREATE POLICY p_alter ON t USING (true);`)}`,
      `    tables:
      allowed:
        columns:
          name: { type: text }
${table(`          p_new: { using: "EXISTS (SELECT FROM allowed WHERE allowed.name = CURRENT_USER)" }
          p_alter: { using: "EXISTS (SELECT FROM allowed WHERE allowed.name = SESSION_USER)" }
`).replace('    tables:\n', '')}`,
      ['alter policy p_alter on public.t', 'create policy p_new on public.t'],
      ['ACCESS EXCLUSIVE on public.t', 'ACCESS SHARE on public.allowed'],
    ],
    [
      'change a comment',
      liveSql(`CREATE POLICY p ON t USING (true);`),
      table(`          p: { using: 'true', comment: now commented }
`),
      ['comment on policy p on public.t'],
      'ACCESS SHARE',
    ],
    [
      'drop a policy',
      liveSql(`CREATE POLICY p ON t USING (true);`),
      table(''),
      ['drop policy p on public.t'],
      'ACCESS EXCLUSIVE',
    ],
  ] as const)('%s', async ([name, live, desired, summaries, mode]) => {
    await db.exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public; ${live}`);
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, `version: 1\nschemas:\n  public:\n${desired}`);
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    const observed = await runObserved(db.client, made.plan);
    expect(observed.map((o) => o.step.replace(/^\S+ /, ''))).toEqual(summaries);
    for (const o of observed) {
      expect(o.declared, o.step).toEqual(typeof mode === 'string' ? [`${mode} on public.t`] : mode);
      expect(o.held, o.step).toEqual(o.declared);
    }
    // Converged: planned again, nothing is left to do.
    const again = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(again.plan.phases.flatMap((p) => p.steps)).toEqual([]);
  });
});

describe('locks of a column change that takes policies along, from pg_locks', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('column under policies');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-column-policies-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const desired = (type: string, nick: boolean, using: string) => `version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: integer, nullable: false }
          name: { type: ${type}, nullable: false }
${nick ? '          nick: { type: text }\n' : ''}        primaryKey: { columns: [id] }
      docs:
        columns:
          id: { type: integer, nullable: false }
          owner: { type: integer, nullable: false }
        primaryKey: { columns: [id] }
        rowLevelSecurity: true
        policies:
          see: { using: "${using}" }
`;

  // A policy of docs whose subquery reads users: its DROP and CREATE POLICY take ACCESS EXCLUSIVE on
  // docs, and the step locks docs before users (LOCK TABLE), as a query of docs does.
  it.for([
    [
      'a type changed in place',
      `CREATE POLICY see ON docs USING (EXISTS (SELECT FROM users u WHERE u.id = owner AND u.name <> ''));`,
      desired('varchar(20)', true, "EXISTS (SELECT FROM users u WHERE u.id = docs.owner AND u.name::text <> '')"),
      /^change type of public\.users\.name .*; policy see on public\.docs dropped and created again around it$/,
    ],
    [
      'a column dropped',
      `CREATE POLICY see ON docs USING (EXISTS (SELECT FROM users u WHERE u.id = owner AND u.nick IS NOT NULL));`,
      desired('varchar(10)', false, 'EXISTS (SELECT FROM users u WHERE u.id = docs.owner)'),
      /^drop column public\.users\.nick and its data; policy see on public\.docs dropped and created again around it$/,
    ],
  ] as const)('%s under a policy of another table', async ([name, policy, want, summary]) => {
    await db.exec(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;
      CREATE TABLE users (id int PRIMARY KEY, name varchar(10) NOT NULL, nick text);
      CREATE TABLE docs (id int PRIMARY KEY, owner int NOT NULL);
      ALTER TABLE docs ENABLE ROW LEVEL SECURITY; ${policy}`);
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, want);
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    const observed = await runObserved(db.client, made.plan);
    expect(observed.map((o) => o.step.replace(/^\S+ /, ''))).toEqual([expect.stringMatching(summary)]);
    expect(observed[0]!.declared).toEqual(['ACCESS EXCLUSIVE on public.docs', 'ACCESS EXCLUSIVE on public.users']);
    expect(observed[0]!.held).toEqual(observed[0]!.declared);
    const again = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(again.plan.phases.flatMap((p) => p.steps)).toEqual([]);
  });
});

describe('roles stay outside zdm', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('policy roles');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-policy-roles-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a policy for a role that does not exist is a plan-time error naming the role at its file:line', async () => {
    await db.exec(`CREATE TABLE t (id int PRIMARY KEY)`);
    const file = path.join(dir, 'desired.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    tables:
      t:
        columns:
          id: { type: integer, nullable: false }
        primaryKey: { columns: [id] }
        policies:
          p: { roles: [zdm_no_such_role], using: 'true' }
`,
    );
    await expect(makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() })).rejects.toThrow(
      /desired\.yaml:10:11: schemas\.public\.tables\.t\.policies\.p: .*role "zdm_no_such_role" does not exist/,
    );
  });

  it('a grant to a role that does not exist is a plan-time error naming the role at its file:line', async () => {
    await db.exec(`DROP TABLE IF EXISTS t; CREATE TABLE t (id int PRIMARY KEY)`);
    const file = path.join(dir, 'grants.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    tables:
      t:
        grants: { public: [SELECT], zdm_no_such_role: [SELECT] }
        columns:
          id: { type: integer, nullable: false, grants: { zdm_no_such_role_either: [UPDATE] } }
        primaryKey: { columns: [id] }
`,
    );
    const made = makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    await expect(made).rejects.toThrow(
      /grants\.yaml:6:\d+: schemas\.public\.tables\.t\.grants\.zdm_no_such_role: .*role "zdm_no_such_role" does not exist: zdm does not create roles/,
    );
    await expect(made).rejects.toThrow(/grants\.yaml:8:\d+: .*role "zdm_no_such_role_either" does not exist/);
  });
});
