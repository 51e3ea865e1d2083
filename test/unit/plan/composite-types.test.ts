import { describe, expect, test } from 'vitest';
import type { CompositeType, DatabaseModel, Table } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, db, id, schema, table } from './builders.js';
import { flat, plan } from './helpers.js';

const point = (attributes: CompositeType['attributes'], name = 'point2'): CompositeType => ({
  kind: 'compositeType',
  schema: 'public',
  name,
  attributes,
});
const model = (types: readonly CompositeType[], tables: readonly Table[] = []): DatabaseModel =>
  db([schema('public', { compositeTypes: types, tables })]);
const xy = [
  { name: 'x', type: 'integer' },
  { name: 'y', type: 'integer' },
];

const issuesOf = (live: DatabaseModel, desired: DatabaseModel) => {
  try {
    plan(live, desired);
  } catch (e) {
    expect(e).toBeInstanceOf(PlanningError);
    return (e as PlanningError).issues;
  }
  return expect.unreachable('planned without an issue');
};

describe('composite types', () => {
  test('a type used by another new type is created first, whatever their names', () => {
    const a = point([{ name: 'p', type: 'public.z_point' }], 'a_pair');
    const z = point(xy, 'z_point');
    const steps = flat(plan(model([]), model([a, z])));
    expect(steps.map((s) => s.summary)).toEqual(['create type public.z_point', 'create type public.a_pair']);
  });

  test('dropped types go after the types that use them', () => {
    const a = point([{ name: 'p', type: 'public.z_point[]' }], 'a_pair');
    const z = point(xy, 'z_point');
    const steps = flat(plan(model([a, z]), model([])));
    expect(steps.map((s) => [s.phase, s.summary])).toEqual([
      ['contract', 'drop type public.a_pair'],
      ['contract', 'drop type public.z_point'],
    ]);
  });

  test('attributes changed while a table column is of the type are refused, naming the column', () => {
    const place = table('place', [id(), col('loc', 'public.point2')]);
    const issues = issuesOf(
      model([point(xy)], [place]),
      model([point([...xy, { name: 'z', type: 'integer' }])], [place]),
    );
    expect(issues).toEqual([
      {
        object: 'type public.point2',
        message: expect.stringMatching(
          /^its attributes change while column public\.place\.loc is of the type: .*ALTER TYPE … CASCADE/,
        ),
      },
    ]);
  });

  test('a comment on a type a column uses is not an attribute change: it is planned', () => {
    const place = table('place', [id(), col('loc', 'public.point2[]')]);
    const steps = flat(plan(model([point(xy)], [place]), model([{ ...point(xy), comment: 'c' }], [place])));
    expect(steps.map((s) => s.sql)).toEqual([["COMMENT ON TYPE public.point2 IS 'c'"]]);
  });

  test('a new attribute order is refused: ALTER TYPE only appends', () => {
    const issues = issuesOf(model([point(xy)]), model([point([...xy].reverse())]));
    expect(issues[0]!.message).toMatch(/^the attributes change order \(x, y → y, x\): ALTER TYPE only appends/);
  });
});
