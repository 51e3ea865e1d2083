/** Renames with no copy (`--renames views`, src/plan/techniques/rename-views.ts), as planned. */
import { describe, expect, test } from 'vitest';
import { fingerprint } from '../../../src/model/canonical.js';
import { versionSchemaName } from '../../../src/model/versions.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { planVersions, versionNotes } from '../../../src/plan/versions.js';
import { col, id, index, pk, table, tables, users, withTable } from './builders.js';
import { flat, plan } from './helpers.js';

const teams = table('teams', [col('id', 'integer', { nullable: false }), col('label', 'text')], {
  primaryKey: pk(['id'], 'teams_pkey'),
});
// Tables sorted by name, as a live model has them.
const withIndex = { ...users, indexes: [index('users_name_idx', ['name'])] };
const live = tables(teams, withIndex);
const desired = withTable(live, 'users', (t) => ({
  ...t,
  columns: [id(), col('display_name', 'text', { renamedFrom: 'name' })],
  indexes: [index('users_name_idx', ['display_name'])],
}));
const views = { renames: 'views' as const };

describe('--renames views', () => {
  test('expand: two version schemas of views; backfill: the rename in place; contract: both dropped', () => {
    const r = plan(live, desired, views);
    const old = versionSchemaName('public', fingerprint(live));
    const neu = versionSchemaName('public', fingerprint(desired));
    expect(old).toMatch(/^public_v[0-9a-f]{8}$/);
    expect(neu).not.toBe(old);
    const steps = flat(r);
    expect(steps.map((s) => `${s.phase}:${s.kind}`)).toEqual([
      'expand:sql',
      'expand:sql',
      'backfill:sql',
      'contract:sql',
    ]);
    const [oldStep, newStep, rename, drop] = steps;
    expect(oldStep!.sql).toEqual([
      `CREATE SCHEMA ${old}`,
      `COMMENT ON SCHEMA ${old} IS 'zdm: version schema of public for the old application version'`,
      `CREATE VIEW ${old}.teams WITH (security_invoker = true) AS SELECT id, label FROM public.teams`,
      `CREATE VIEW ${old}.users WITH (security_invoker = true) AS SELECT id, name FROM public.users`,
    ]);
    expect(newStep!.sql.slice(2)).toEqual([
      `CREATE VIEW ${neu}.teams WITH (security_invoker = true) AS SELECT id, label FROM public.teams`,
      `CREATE VIEW ${neu}.users WITH (security_invoker = true) AS SELECT id, name AS display_name FROM public.users`,
    ]);
    // Creating a view reads the tables' definitions: ACCESS SHARE, which waits for no application statement.
    expect(oldStep!.locks.map((l) => `${l.mode} ${l.relation}`)).toEqual([
      'ACCESS SHARE public.teams',
      'ACCESS SHARE public.users',
    ]);
    expect(oldStep!.hazards).toEqual([]);
    expect(rename!.sql).toEqual(['ALTER TABLE public.users RENAME COLUMN name TO display_name']);
    expect(rename!.locks).toEqual([{ relation: 'public.users', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }]);
    expect(rename!.hazards).toEqual(['app-compat']);
    expect(drop!.sql).toEqual([
      `DROP VIEW IF EXISTS ${old}.teams`,
      `DROP VIEW IF EXISTS ${old}.users`,
      `DROP SCHEMA IF EXISTS ${old}`,
      `DROP VIEW IF EXISTS ${neu}.teams`,
      `DROP VIEW IF EXISTS ${neu}.users`,
      `DROP SCHEMA IF EXISTS ${neu}`,
    ]);
    expect(drop!.hazards).toEqual(['app-compat']);
    // No column is added, no row is written.
    expect(steps.some((s) => s.kind === 'backfill')).toBe(false);
  });

  test('the versions and the search_path printed after each phase', () => {
    const r = plan(live, desired, views);
    expect(planVersions(r.plan).map((v) => `${v.role} ${v.name}`)).toEqual([
      `old ${versionSchemaName('public', fingerprint(live))}`,
      `new ${versionSchemaName('public', fingerprint(desired))}`,
    ]);
    const notes = versionNotes(r.plan, 'expand');
    expect(notes[0]).toBe(
      `old application version (public): SET search_path = ${versionSchemaName('public', fingerprint(live))}, public`,
    );
    expect(notes[2]).toMatch(/--allow-hazards app-compat/);
    expect(versionNotes(plan(live, desired).plan, 'expand')).toEqual([]);
  });

  test('a table rename: the old version sees the old name, the new one the new name, over the same table', () => {
    const want = tables(
      {
        ...withIndex,
        columns: [id(), col('display_name', 'text', { renamedFrom: 'name' })],
        indexes: [index('users_name_idx', ['display_name'])],
        name: 'members',
        renamedFrom: 'users',
      },
      teams,
    );
    const r = plan(live, want, views);
    const old = versionSchemaName('public', fingerprint(live));
    const neu = versionSchemaName('public', fingerprint(want));
    const [oldStep, newStep, rename] = flat(r);
    expect(oldStep!.sql).toContain(
      `CREATE VIEW ${old}.users WITH (security_invoker = true) AS SELECT id, name FROM public.users`,
    );
    expect(newStep!.sql).toContain(
      `CREATE VIEW ${neu}.members WITH (security_invoker = true) AS SELECT id, name AS display_name FROM public.users`,
    );
    expect(rename!.sql).toEqual([
      'ALTER TABLE public.users RENAME TO members',
      'ALTER TABLE public.members RENAME COLUMN name TO display_name',
    ]);
    // Without --renames views: the copy path (a new column, a sync trigger, a backfill).
    expect(flat(plan(live, want)).some((s) => s.kind === 'backfill')).toBe(true);
  });

  test('PostgreSQL 14: plain views (no security_invoker)', () => {
    const r = plan(live, desired, { ...views, serverVersion: 'PostgreSQL 14.12' });
    expect(flat(r)[0]!.sql[2]).toMatch(/^CREATE VIEW \S+\.teams AS SELECT/);
  });

  test('refused with the reason: a rename that changes the type, a table with triggers, other changes', () => {
    const retyped = withTable(live, 'users', (t) => ({
      ...t,
      columns: [id(), col('display_name', 'varchar(20)', { renamedFrom: 'name' })],
      indexes: [index('users_name_idx', ['display_name'])],
    }));
    expect(() => plan(live, retyped, views)).toThrow(PlanningError);
    expect(() => plan(live, retyped, views)).toThrow(/changes nothing else about the column/);
    const withCheck = withTable(desired, 'teams', (t) => ({
      ...t,
      columns: [t.columns[0]!, col('label', 'text', { nullable: false })],
    }));
    expect(() => plan(live, withCheck, views)).toThrow(
      /plan "[^"]*label[^"]*" on its own first, or use --renames copy/,
    );
  });

  test('a change of a table beside its rename is refused; of another table, planned', () => {
    const withEmail = withTable(desired, 'users', (t) => ({ ...t, columns: [...t.columns, col('email', 'text')] }));
    expect(() => plan(live, withEmail, views)).toThrow(/renames in place in backfill: plan "add column/);
    const teamsNote = withTable(desired, 'teams', (t) => ({ ...t, columns: [...t.columns, col('note', 'text')] }));
    const r = plan(live, teamsNote, views);
    expect(flat(r)[0]!.sql).toEqual(['ALTER TABLE public.teams ADD COLUMN note text']);
    // The new version's view shows the column expand adds.
    expect(flat(r)[2]!.sql).toContain(
      `CREATE VIEW ${versionSchemaName('public', fingerprint(teamsNote))}.teams WITH (security_invoker = true) AS SELECT id, label, note FROM public.teams`,
    );
  });

  test('a plan without renames is planned as without the option (options.renames is project-wide)', () => {
    const notNull = withTable(live, 'teams', (t) => ({
      ...t,
      columns: [t.columns[0]!, col('label', 'text', { nullable: false })],
    }));
    expect(plan(live, notNull, views).plan.phases).toEqual(plan(live, notNull).plan.phases);
  });
});
