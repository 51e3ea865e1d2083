/** The emission order rules of src/plan/order.ts, each checked on a plan that would break without it. */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { GROUPS } from '../../../src/plan/order.js';
import { check, col, customers, db, enumType, fk, id, index, orders, pk, schema, table, tables } from './builders.js';
import { flat, plan } from './helpers.js';

/** Index (in execution order over all phases) of the first step whose SQL matches. */
function at(live: DatabaseModel, desired: DatabaseModel, ...patterns: RegExp[]): number[] {
  const steps = flat(plan(live, desired));
  return patterns.map((re) => {
    const i = steps.findIndex((s) => s.sql.some((q) => re.test(q)));
    if (i < 0) throw new Error(`no step matches ${re}: ${steps.map((s) => s.sql.join('; ')).join('\n')}`);
    return i;
  });
}

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

describe('ordering', () => {
  test('every group is named once per phase', () => {
    for (const groups of Object.values(GROUPS)) expect(new Set(groups).size).toBe(groups.length);
  });

  test.each<[string, DatabaseModel, DatabaseModel, RegExp[]]>([
    [
      'an FK to a new table comes after the table is created (even when the referencing table sorts first)',
      tables(table('a_orders', [id(), col('customer_id', 'uuid')])),
      tables(
        {
          ...table('a_orders', [id(), col('customer_id', 'uuid')]),
          foreignKeys: [fk('fk', ['customer_id'], 'z_customers')],
        },
        table('z_customers', [id('uuid')], { primaryKey: pk(['id'], 'z_pkey') }),
      ),
      [/^CREATE TABLE public\.z_customers/, /ADD CONSTRAINT fk FOREIGN KEY/, /VALIDATE CONSTRAINT fk/],
    ],
    [
      'a new enum comes before the table that uses it',
      db([schema('public')]),
      db([
        schema('public', {
          tables: [table('t', [id(), col('s', 'public.zstatus')])],
          enums: [enumType('zstatus', ['a'])],
        }),
      ]),
      [/^CREATE TYPE public\.zstatus/, /^CREATE TABLE public\.t/],
    ],
    [
      'a new schema comes before the objects in it',
      db([schema('public')]),
      db([schema('public'), schema('app', { tables: [{ ...table('t', [id()]), schema: 'app' }] })]),
      [/^CREATE SCHEMA app/, /^CREATE TABLE app\.t/],
    ],
    [
      'the index on the FK columns is built before the FK is added and validated',
      tables(customers, orders),
      tables(customers, {
        ...orders,
        foreignKeys: [fk('a_fk', ['customer_id'], 'customers')],
        indexes: [index('z_idx', ['customer_id'])],
      }),
      [/CREATE INDEX CONCURRENTLY z_idx/, /ADD CONSTRAINT a_fk/, /VALIDATE CONSTRAINT a_fk/],
    ],
    [
      'an FK is dropped before the table it references',
      tables(customers, { ...orders, foreignKeys: [fk('fk', ['customer_id'], 'customers')] }),
      tables(orders),
      [/DROP CONSTRAINT fk/, /DROP TABLE public\.customers/],
    ],
    [
      'SET NOT NULL comes before ADD PRIMARY KEY USING INDEX',
      tables(table('tags', [col('name', 'text')])),
      tables(table('tags', [col('name', 'text', { nullable: false })], { primaryKey: pk(['name'], 'tags_pkey') })),
      [/CREATE UNIQUE INDEX CONCURRENTLY tags_pkey/, /SET NOT NULL/, /PRIMARY KEY USING INDEX/],
    ],
    [
      'a new column exists before the index and the check on it',
      tables(table('t', [id()])),
      tables(
        table('t', [id(), col('c', 'integer')], {
          indexes: [index('t_c', ['c'])],
          checks: [check('t_c_pos', 'c > 0')],
        }),
      ),
      [/ADD COLUMN c/, /CREATE INDEX CONCURRENTLY t_c/, /ADD CONSTRAINT t_c_pos/],
    ],
    [
      'an index, a check and an FK on a column are dropped before the column',
      tables(customers, {
        ...orders,
        indexes: [index('o_c', ['customer_id'])],
        checks: [check('o_chk', 'customer_id IS NOT NULL')],
        foreignKeys: [fk('o_fk', ['customer_id'], 'customers')],
      }),
      tables(customers, { ...orders, columns: orders.columns.filter((c) => c.name !== 'customer_id') }),
      [
        /DROP CONSTRAINT o_fk/,
        /DROP INDEX CONCURRENTLY public\.o_c/,
        /DROP CONSTRAINT o_chk/,
        /DROP COLUMN customer_id/,
      ],
    ],
    [
      'a backfill runs before the NOT NULL check that needs its data, and the check is validated after',
      tables(table('t', [id()], { primaryKey: pk(['id'], 't_pkey') })),
      tables(
        table('t', [id(), col('u', 'uuid', { nullable: false, default: 'gen_random_uuid()' })], {
          primaryKey: pk(['id'], 't_pkey'),
        }),
      ),
      [
        /^UPDATE public\.t SET u/,
        /ADD CONSTRAINT t_u_zdm_not_null/,
        /VALIDATE CONSTRAINT t_u_zdm_not_null/,
        /SET NOT NULL/,
      ],
    ],
    [
      'a dropped table goes before the enum its column used, and the enum before its schema',
      db([
        schema('public'),
        schema('app', {
          tables: [{ ...table('t', [id(), col('s', 'app.st')]), schema: 'app' }],
          enums: [{ ...enumType('st', ['a']), schema: 'app' }],
        }),
      ]),
      db([schema('public')]),
      [/DROP TABLE app\.t/, /DROP TYPE app\.st/, /DROP SCHEMA app/],
    ],
  ])('%s', (_name, live, desired, patterns) => {
    expect(increasing(at(live, desired, ...patterns))).toBe(true);
  });
});
