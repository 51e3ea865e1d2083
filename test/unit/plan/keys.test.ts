/** Primary and unique keys over names and indexes that already exist, and on partitioned tables. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { PlanningError } from '../../../src/plan/errors.js';
import { col, id, index, partition, pk, table, tables, unique } from './builders.js';
import { flat, plan } from './helpers.js';

const acct = (parts: Parameters<typeof table>[2] = {}) =>
  table('acct', [id('integer'), col('email', 'text'), col('team', 'integer')], {
    primaryKey: pk(['id'], 'acct_pkey'),
    ...parts,
  });

const steps = (live: DatabaseModel, desired: DatabaseModel) =>
  flat(plan(live, desired)).map((s) => `${s.phase}: ${s.sql.join('; ')}`);

describe('a key whose name a live index holds', () => {
  test('a matching unique index is taken over by the key: no build, no drop', () => {
    const live = tables(acct({ indexes: [index('acct_email_key', ['email'], { unique: true })] }));
    const desired = tables(acct({ uniqueConstraints: [unique('acct_email_key', ['email'])] }));
    expect(steps(live, desired)).toEqual([
      'expand: ALTER TABLE public.acct ADD CONSTRAINT acct_email_key UNIQUE USING INDEX acct_email_key',
    ]);
  });

  test('a matching unique index is taken over by a primary key', () => {
    const noPk = (parts: Parameters<typeof table>[2]) => table('acct', [id('integer'), col('email', 'text')], parts);
    const live = tables(noPk({ indexes: [index('acct_pkey', ['id'], { unique: true })] }));
    const desired = tables(noPk({ primaryKey: pk(['id'], 'acct_pkey') }));
    expect(steps(live, desired)).toEqual([
      'expand: ALTER TABLE public.acct ADD CONSTRAINT acct_pkey PRIMARY KEY USING INDEX acct_pkey',
    ]);
  });

  test.each([
    ['other columns', index('acct_email_key', ['email', 'team'], { unique: true })],
    ['not unique', index('acct_email_key', ['email'])],
    ['descending', index('acct_email_key', ['email desc'], { unique: true })],
    ['partial', index('acct_email_key', ['email'], { unique: true, where: '(team > 0)' })],
    ['with a storage parameter', index('acct_email_key', ['email'], { unique: true, with: { fillfactor: '70' } })],
  ])('an index of the name that does not match (%s): built under a fresh name, the key added after contract drops the old one', (_, old) => {
    const live = tables(acct({ indexes: [old] }));
    const desired = tables(acct({ uniqueConstraints: [unique('acct_email_key', ['email'])] }));
    const got = steps(live, desired);
    expect(got[0]).toBe('expand: CREATE UNIQUE INDEX CONCURRENTLY acct_email_key_new ON public.acct (email)');
    const drop = got.findIndex((s) => s.startsWith('contract: DROP INDEX CONCURRENTLY public.acct_email_key'));
    const add = got.indexOf(
      'contract: ALTER TABLE public.acct ADD CONSTRAINT acct_email_key UNIQUE USING INDEX acct_email_key_new',
    );
    expect(drop).toBeGreaterThan(0);
    expect(add).toBeGreaterThan(drop);
  });

  test('a check constraint of the name, dropped by the plan: the key is added after it is dropped', () => {
    const live = tables(
      acct({
        checks: [{ kind: 'check', name: 'acct_email_key', expression: "(email <> '')", noInherit: false, valid: true }],
      }),
    );
    const desired = tables(acct({ uniqueConstraints: [unique('acct_email_key', ['email'])] }));
    const got = steps(live, desired);
    const drop = got.indexOf('contract: ALTER TABLE public.acct DROP CONSTRAINT acct_email_key');
    const add = got.indexOf(
      'contract: ALTER TABLE public.acct ADD CONSTRAINT acct_email_key UNIQUE USING INDEX acct_email_key_new',
    );
    expect(drop).toBeGreaterThan(0);
    expect(add).toBeGreaterThan(drop);
  });

  test('the name held by a relation the desired state keeps: refused at plan time, naming both', () => {
    const other = table('acct_email_key', [id()]);
    const live = tables(acct(), other);
    const desired = tables(acct({ uniqueConstraints: [unique('acct_email_key', ['email'])] }), other);
    let error: unknown;
    try {
      plan(live, desired);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanningError);
    expect((error as Error).message).toMatch(
      /unique constraint acct_email_key on public\.acct: the name is taken by table public\.acct_email_key, which the desired state keeps/,
    );
  });
});

describe('a key on a partitioned table with rows', () => {
  const m = (parts: Parameters<typeof table>[2] = {}) =>
    table('m', [col('tenant', 'integer', { nullable: false }), col('id', 'integer', { nullable: false })], {
      partitionBy: { strategy: 'list', columns: ['tenant'] },
      partitions: [
        partition('m_1', { kind: 'list', values: ['1'] }),
        partition('m_2', { kind: 'list', values: ['2'] }),
      ],
      ...parts,
    });
  const rowCounts = { 'public.m': 10, 'public.m_1': 5, 'public.m_2': 5 };

  test.each([
    [14, 'SHARE'],
    [18, 'ACCESS EXCLUSIVE'],
  ] as const)('PostgreSQL %i: per partition CONCURRENTLY + USING INDEX, then the parent attaches them (partitions locked %s)', (major, mode) => {
    const r = plan(tables(m()), tables(m({ primaryKey: pk(['tenant', 'id'], 'm_pkey') })), {
      rowCounts,
      serverVersion: `PostgreSQL ${major}.1`,
    });
    const got = flat(r).map((s) => [s.phase, s.sql.join('; '), s.locks.map((l) => `${l.mode} ${l.relation}`)]);
    expect(got).toEqual([
      [
        'expand',
        'CREATE UNIQUE INDEX CONCURRENTLY m_1_pkey ON public.m_1 (tenant, id)',
        ['SHARE UPDATE EXCLUSIVE public.m_1'],
      ],
      [
        'expand',
        'CREATE UNIQUE INDEX CONCURRENTLY m_2_pkey ON public.m_2 (tenant, id)',
        ['SHARE UPDATE EXCLUSIVE public.m_2'],
      ],
      [
        'expand',
        'ALTER TABLE public.m_1 ADD CONSTRAINT m_1_pkey PRIMARY KEY USING INDEX m_1_pkey',
        ['ACCESS EXCLUSIVE public.m_1'],
      ],
      [
        'expand',
        'ALTER TABLE public.m_2 ADD CONSTRAINT m_2_pkey PRIMARY KEY USING INDEX m_2_pkey',
        ['ACCESS EXCLUSIVE public.m_2'],
      ],
      [
        'expand',
        'ALTER TABLE public.m ADD CONSTRAINT m_pkey PRIMARY KEY (tenant, id)',
        ['ACCESS EXCLUSIVE public.m', `${mode} public.m_1`, `${mode} public.m_2`],
      ],
    ]);
    expect(flat(r).every((s) => s.hazards.length === 0)).toBe(true);
  });

  test("a partition's name taken by an index attached elsewhere: the next one PostgreSQL would take", () => {
    const live = { ...tables(m()), attachedIndexNames: { public: ['m_1_tenant_id_key'] } };
    const r = plan(live, tables(m({ uniqueConstraints: [unique('m_tenant_id_key', ['tenant', 'id'])] })), {
      rowCounts,
    });
    expect(flat(r)[0]!.sql).toEqual(['CREATE UNIQUE INDEX CONCURRENTLY m_1_tenant_id_key1 ON public.m_1 (tenant, id)']);
  });

  test('an empty partitioned table: one ADD CONSTRAINT, instant', () => {
    const r = plan(tables(m()), tables(m({ uniqueConstraints: [unique('m_tenant_id_key', ['tenant', 'id'])] })), {
      rowCounts: { 'public.m': 0 },
    });
    expect(flat(r).map((s) => [s.sql, s.hazards, s.locks[0]])).toEqual([
      [
        ['ALTER TABLE public.m ADD CONSTRAINT m_tenant_id_key UNIQUE (tenant, id)'],
        [],
        { relation: 'public.m', mode: 'ACCESS EXCLUSIVE', hold: 'instant' },
      ],
    ]);
  });
});
