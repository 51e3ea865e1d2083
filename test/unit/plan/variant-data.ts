/** A dozen schema variants for pairwise planning (pairs.test.ts, and integration runs of the same pairs). */
import type { DatabaseModel } from '../../../src/model/types.js';
import {
  check,
  col,
  customers,
  db,
  domain,
  enumType,
  exclusion,
  fk,
  id,
  index,
  orders,
  partition,
  pk,
  range,
  schema,
  sequence,
  table,
  unique,
  users,
} from './builders.js';

const events = (parts: number) =>
  table('events', [id(), col('at', 'date', { nullable: false }), col('during', 'tstzrange')], {
    partitionBy: { strategy: 'range', columns: ['at'] },
    partitions: [
      partition('events_2025', range('2025-01-01', '2026-01-01')),
      partition('events_2026', range('2026-01-01', '2027-01-01')),
      partition('events_default', { kind: 'default' }),
    ].slice(0, parts),
  });

export const VARIANTS: Record<string, DatabaseModel> = {
  empty: db([schema('public')]),
  base: db([schema('public', { tables: [users, customers, orders] })]),
  constraints: db([
    schema('public', {
      tables: [
        {
          ...users,
          columns: [...users.columns, col('email', 'text')],
          uniqueConstraints: [unique('users_email_key', ['email'])],
        },
        customers,
        {
          ...orders,
          checks: [check('amount_pos', 'amount > 0')],
          foreignKeys: [fk('orders_customer', ['customer_id'], 'customers')],
          indexes: [
            index('orders_customer_idx', ['customer_id']),
            index('orders_recent', ['created_at desc'], { where: "status = 'active'" }),
          ],
        },
      ],
    }),
  ]),
  changed: db([
    schema('public', {
      tables: [
        {
          ...users,
          columns: [...users.columns, col('email', 'text', { nullable: false, default: "''::text" })],
          uniqueConstraints: [unique('users_email_key', ['email', 'name'])],
        },
        { ...customers, comment: 'who pays' },
        {
          ...orders,
          columns: orders.columns.map((c) => (c.name === 'status' ? { ...c, type: 'text' } : c)),
          checks: [check('amount_pos', 'amount >= 0')],
          foreignKeys: [fk('orders_customer', ['customer_id'], 'customers', ['id'], { onDelete: 'cascade' })],
          indexes: [index('orders_customer_idx', ['customer_id', 'created_at'])],
        },
      ],
    }),
  ]),
  typed: db([
    schema('public', {
      enums: [enumType('status', ['new', 'active', 'done'])],
      domains: [domain('email', 'text', { checks: [{ name: 'email_at', expression: "VALUE ~ '@'" }] })],
      sequences: [sequence('tickets')],
      tables: [
        users,
        table('people', [id(), col('mail', 'public.email'), col('st', 'public.status')], {
          primaryKey: pk(['id'], 'people_pkey'),
        }),
      ],
    }),
  ]),
  typed2: db([
    schema('public', {
      enums: [enumType('status', ['draft', 'new', 'active', 'done', 'archived'])],
      domains: [
        domain('email', 'text', { default: "'x@y'::text", checks: [{ name: 'email_at', expression: "VALUE ~ '@.'" }] }),
      ],
      sequences: [sequence('tickets', { increment: '5' })],
      tables: [
        users,
        table('people', [id(), col('mail', 'public.email'), col('st', 'public.status', { nullable: false })], {
          primaryKey: pk(['id'], 'people_pkey'),
        }),
      ],
    }),
  ]),
  partitioned: db([schema('public', { tables: [users, events(2)] })]),
  partitioned3: db([schema('public', { tables: [users, { ...events(3), indexes: [index('events_at', ['at'])] }] })]),
  partitionedIdx: db([
    schema('public', {
      tables: [users, { ...events(2), indexes: [index('events_at', ['at'])], exclusionConstraints: [] }],
    }),
  ]),
  columns: db([
    schema('public', {
      tables: [
        {
          ...users,
          columns: [
            ...users.columns,
            col('token', 'uuid', { nullable: false, default: 'gen_random_uuid()' }),
            col('verified_at', 'timestamp with time zone', { nullable: false, default: 'now()' }),
            col('note', 'character varying(20)'),
          ],
        },
      ],
    }),
  ]),
  columns2: db([
    schema('public', {
      tables: [
        {
          ...users,
          columns: [
            ...users.columns,
            col('token', 'uuid', { nullable: false, using: 'gen_random_uuid()' }),
            col('verified_at', 'timestamp with time zone', { nullable: false, using: 'now()' }),
            col('note', 'text', { comment: 'free text' }),
          ],
          exclusionConstraints: [],
        },
      ],
    }),
  ]),
  schemas: db([
    schema('public', { tables: [users] }),
    schema('app', {
      comment: 'app',
      tables: [
        {
          ...table('rooms', [id(), col('during', 'tstzrange')]),
          schema: 'app',
          exclusionConstraints: [exclusion('no_overlap')],
        },
      ],
    }),
  ]),
  noPk: db([
    schema('public', {
      tables: [
        {
          ...users,
          primaryKey: pk(['id', 'name'], 'users_pk2'),
          columns: [id(), col('name', 'text', { nullable: false })],
        },
      ],
    }),
  ]),
};
