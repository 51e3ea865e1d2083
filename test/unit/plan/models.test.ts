/**
 * The models after each phase are what introspection will read after running it: a check added NOT
 * VALID shows as `valid: false` under the planner's name, the NOT NULL helper exists between expand
 * and contract, a replacement index carries its temporary name until contract.
 */
import { describe, expect, test } from 'vitest';
import { fingerprint } from '../../../src/model/canonical.js';
import type { DatabaseModel, Table } from '../../../src/model/types.js';
import { check, col, index, partition, pk, table, tables, unique, users, withTable } from './builders.js';
import { plan } from './helpers.js';

function usersOf(m: DatabaseModel): Table {
  const t = m.schemas[0]?.tables.find((x) => x.name === 'users');
  if (!t) throw new Error('no table users');
  return t;
}

describe('models after each phase', () => {
  test.each<[string, DatabaseModel, DatabaseModel, (t: Table) => unknown, unknown[]]>([
    [
      'check NOT VALID after expand, valid after backfill',
      tables(users),
      withTable(tables(users), 'users', (t) => ({ ...t, checks: [check('users_id_pos', 'id > 0')] })),
      (t) => t.checks.map((c) => [c.name, c.valid]),
      [[['users_id_pos', false]], [['users_id_pos', true]], [['users_id_pos', true]]],
    ],
    [
      'NOT NULL helper between expand and contract',
      tables(users),
      withTable(tables(users), 'users', (t) => ({ ...t, columns: t.columns.map((c) => ({ ...c, nullable: false })) })),
      (t) => [t.checks.map((c) => [c.name, c.expression, c.valid]), t.columns.find((c) => c.name === 'name')!.nullable],
      [
        [[['users_name_zdm_not_null', '(name IS NOT NULL)', false]], true],
        [[['users_name_zdm_not_null', '(name IS NOT NULL)', true]], true],
        [[], false],
      ],
    ],
    [
      'a volatile-default column: nullable with its default after expand, NOT NULL only after contract',
      tables(users),
      withTable(tables(users), 'users', (t) => ({
        ...t,
        columns: [...t.columns, col('tok', 'uuid', { nullable: false, default: 'gen_random_uuid()' })],
      })),
      (t) => [t.columns.find((c) => c.name === 'tok'), t.checks.map((c) => c.name)],
      [
        [{ kind: 'column', name: 'tok', type: 'uuid', nullable: true, default: 'gen_random_uuid()' }, []],
        [
          { kind: 'column', name: 'tok', type: 'uuid', nullable: true, default: 'gen_random_uuid()' },
          ['users_tok_zdm_not_null'],
        ],
        [{ kind: 'column', name: 'tok', type: 'uuid', nullable: false, default: 'gen_random_uuid()' }, []],
      ],
    ],
    [
      'replacement index under its temporary name until contract',
      tables({ ...users, indexes: [index('users_name_idx', ['name'])] }),
      tables({ ...users, indexes: [index('users_name_idx', ['name desc'])] }),
      (t) => t.indexes.map((i) => [i.name, i.keys[0]!.descending]),
      [
        [
          ['users_name_idx', false],
          ['users_name_idx_new', true],
        ],
        [
          ['users_name_idx', false],
          ['users_name_idx_new', true],
        ],
        [['users_name_idx', true]],
      ],
    ],
    [
      'unique constraint: its index shows as an index until USING INDEX turns it into the constraint',
      tables(
        table('users', [col('id', 'bigint', { nullable: false }), col('email', 'text')], {
          primaryKey: pk(['id'], 'users_pkey'),
        }),
      ),
      tables(
        table('users', [col('id', 'bigint', { nullable: false }), col('email', 'text')], {
          primaryKey: pk(['id'], 'users_pkey'),
          uniqueConstraints: [unique('users_email_key', ['email'])],
        }),
      ),
      (t) => [t.indexes.map((i) => i.name), t.uniqueConstraints.map((u) => u.name)],
      [
        [[], ['users_email_key']],
        [[], ['users_email_key']],
        [[], ['users_email_key']],
      ],
    ],
  ])('%s', (_name, live, desired, pickFn, expected) => {
    const r = plan(live, desired);
    expect([r.models.expand, r.models.backfill, r.models.contract].map((m) => pickFn(usersOf(m)))).toEqual(expected);
    expect(r.plan.phases.map((p) => p.after)).toEqual([
      fingerprint(r.models.expand),
      fingerprint(r.models.backfill),
      fingerprint(desired),
    ]);
  });

  test('objects: fingerprints before and after, `absent` for what does not exist yet', () => {
    const r = plan(tables(users), tables(users, table('teams', [col('id', 'bigint')])));
    const expand = r.plan.phases[0]!;
    expect(expand.objects).toEqual({ 'table public.teams': 'absent' });
    expect(expand.objectsAfter!['table public.teams']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('a partition is fingerprinted as part of its table', () => {
    const events = table('events', [col('at', 'date')], { partitionBy: { strategy: 'list', columns: ['at'] } });
    const r = plan(
      tables(events),
      tables({ ...events, partitions: [partition('events_a', { kind: 'list', values: ['2025-01-01'] })] }),
    );
    expect(Object.keys(r.plan.phases[0]!.objects)).toEqual(['table public.events']);
  });
});

describe('expressions re-parsed by a type change', () => {
  test('varchar → text: the casts PostgreSQL no longer prints are gone from the model after expand', () => {
    const t = (type: string) =>
      table('t', [col('id', 'integer'), col('s', type)], {
        checks: [check('ck', "(((s)::text <> ''::text) AND (length((s)::text) < 10))")],
        indexes: [
          index('i1', [{ expression: 'lower(s::text)', descending: false }], { where: "((s)::text = 'active'::text)" }),
          index('i2', [{ expression: "(s::text || 'x'::text)", descending: false }]),
        ],
      });
    const desired = tables({
      ...t('text'),
      checks: [check('ck', "((s <> ''::text) AND (length(s) < 10))")],
      indexes: [
        index('i1', [{ expression: 'lower(s)', descending: false }], { where: "(s = 'active'::text)" }),
        index('i2', [{ expression: "(s || 'x'::text)", descending: false }]),
      ],
    });
    const r = plan(tables(t('character varying(20)')), desired);
    // Measured on PostgreSQL 14 and 18: exactly these texts come back from the catalog after the change.
    expect(r.plan.phases.flatMap((p) => p.steps.map((s) => s.sql))).toEqual([
      ['ALTER TABLE public.t ALTER COLUMN s TYPE text'],
    ]);
    expect(fingerprint(r.models.expand)).toBe(fingerprint(desired));
  });
});
