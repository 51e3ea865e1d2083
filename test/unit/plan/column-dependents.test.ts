/**
 * Policies, triggers and SQL-standard bodies over a column that changes type in place or is dropped
 * (src/plan/techniques/column-dependents.ts): taken along in the step's transaction instead of the
 * refusal zdm gave before ("… zdm does not re-create it around this change yet"), and still refused
 * where they cannot be (a dependent the desired state drops, under a type change in expand).
 */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel, Dependency, Policy, Routine, Table } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, id, table, tables } from './builders.js';
import { flat, plan } from './helpers.js';

const label: Routine = {
  kind: 'function',
  schema: 'public',
  name: 'label',
  arguments: [{ name: 'i', type: 'integer' }],
  returns: 'text',
  language: 'sql',
  sqlBody: true,
  body: 'RETURN (SELECT users.name FROM public.users WHERE (users.id = label.i))',
};
const named: Policy = { name: 'named', using: "((name)::text <> ''::text)" };

function model(users: Table, o: { functions?: Routine[]; docs?: Table; edges?: Dependency[] } = {}): DatabaseModel {
  const m = tables(...(o.docs ? [o.docs] : []), users);
  return {
    ...m,
    schemas: m.schemas.map((s) => (s.name === 'public' ? { ...s, functions: o.functions ?? [] } : s)),
    ...(o.edges ? { dependencies: o.edges } : {}),
  };
}

const users = (type: string, policies?: Policy[], more: boolean = true) =>
  table('users', [id('integer'), col('name', type), ...(more ? [col('nick', 'text')] : [])], {
    ...(policies ? { policies } : {}),
  });

function planningError(live: DatabaseModel, desired: DatabaseModel): PlanningError {
  try {
    plan(live, desired);
  } catch (e) {
    if (e instanceof PlanningError) return e;
    throw e;
  }
  throw new Error('planned without error');
}

describe('a type changed in place under what reads the column', () => {
  const edges: Dependency[] = [
    { from: 'function public.label(integer)', to: 'table public.users', column: 'name' },
    { from: 'policy named on public.users', to: 'table public.users', column: 'name' },
  ];

  test('a kept SQL-standard body and policy are taken along in the ALTER COLUMN TYPE transaction', () => {
    const live = model(users('character varying(10)', [named]), { functions: [label], edges });
    const desired = model(users('character varying(20)', [named]), { functions: [label] });
    const step = flat(plan(live, desired)).find((s) => s.summary.startsWith('change type of public.users.name'))!;
    expect(step.summary).toMatch(
      /; function public\.label\(integer\) replaced around it; policy named on public\.users dropped and created again around it$/,
    );
    expect(step.sql).toEqual([
      'SET LOCAL check_function_bodies = off',
      expect.stringMatching(/^CREATE OR REPLACE FUNCTION public\.label\(i integer\) .*AS \$zdm\$SELECT NULL\$zdm\$$/),
      'DROP POLICY named ON public.users',
      'ALTER TABLE public.users ALTER COLUMN name TYPE varchar(20)',
      expect.stringMatching(/^CREATE OR REPLACE FUNCTION public\.label\(i integer\) .*\nRETURN \(SELECT users\.name/),
      "CREATE POLICY named ON public.users USING ((name)::text <> ''::text)",
    ]);
  });

  test('a policy the desired state drops is refused, named (it goes in contract, after the change)', () => {
    const live = model(users('character varying(10)', [named]), { edges: edges.slice(1) });
    const desired = model(users('character varying(20)'));
    const issue = planningError(live, desired).issues.find((i) => i.object === 'column public.users.name');
    expect(issue?.message).toMatch(
      /^policy named on public\.users depends on the column, and the desired state drops it \(in contract, after this type change in expand\)/,
    );
  });

  test('a function that depends on the table as a whole (no column) neither holds the change back nor is replaced', () => {
    const count: Routine = {
      ...label,
      name: 'total',
      arguments: [],
      returns: 'bigint',
      body: 'RETURN (SELECT count(*) FROM public.users)',
    };
    const whole: Dependency[] = [{ from: 'function public.total()', to: 'table public.users' }];
    const live = model(users('character varying(10)'), { functions: [count], edges: whole });
    const desired = model(users('character varying(20)'), { functions: [count] });
    const step = flat(plan(live, desired)).find((s) => s.summary.startsWith('change type of public.users.name'))!;
    expect(step.sql).toEqual(['ALTER TABLE public.users ALTER COLUMN name TYPE varchar(20)']);
  });

  test('a function zdm does not manage is still refused', () => {
    const live = model(users('character varying(10)'), { edges: edges.slice(0, 1) });
    const desired = model(users('character varying(20)'));
    const issue = planningError(live, desired).issues.find((i) => i.object === 'column public.users.name');
    expect(issue?.message).toMatch(/function public\.label\(integer\) \(not managed by zdm\) depends on the column/);
  });
});

describe('a column dropped under what reads it', () => {
  test('a policy of another table, kept without the column, is dropped and created again in the DROP COLUMN transaction, its table locked first', () => {
    const docs = (using: string) =>
      table('docs', [id('integer'), col('owner', 'integer')], { policies: [{ name: 'see', using }] });
    const edges: Dependency[] = [{ from: 'policy see on public.docs', to: 'table public.users', column: 'nick' }];
    const live = model(users('text'), {
      docs: docs('(EXISTS (SELECT FROM public.users u WHERE u.nick IS NOT NULL))'),
      edges,
    });
    const desired = model(users('text', undefined, false), { docs: docs('(EXISTS (SELECT FROM public.users u))') });
    const steps = flat(plan(live, desired));
    const drop = steps.find((s) => s.summary.startsWith('drop column public.users.nick'))!;
    expect(drop.sql).toEqual([
      'LOCK TABLE public.docs, public.users IN ACCESS EXCLUSIVE MODE',
      'DROP POLICY see ON public.docs',
      'ALTER TABLE public.users DROP COLUMN nick',
      'CREATE POLICY see ON public.docs USING (EXISTS (SELECT FROM public.users u))',
    ]);
    expect(drop.locks.map((l) => `${l.mode} on ${l.relation}`)).toEqual([
      'ACCESS EXCLUSIVE on public.users',
      'ACCESS EXCLUSIVE on public.docs',
    ]);
    // Taken out of the policy planning: no ALTER POLICY in expand.
    expect(steps.filter((s) => /policy see/.test(s.summary))).toEqual([drop]);
  });
});
