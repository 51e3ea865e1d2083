/**
 * The rehearsal's scope (src/plan/scope.ts): what a plan changes, what depends on it, and what those
 * need; nothing else of the schema. And subModel (src/model/objects.ts), the part the copy holds.
 */
import { describe, expect, test } from 'vitest';
import { fingerprint } from '../../../src/model/canonical.js';
import { subModel } from '../../../src/model/objects.js';
import type { DatabaseModel } from '../../../src/model/types.js';
import { planScope } from '../../../src/plan/scope.js';
import { check, col, db, domain, enumType, fk, id, pk, schema, sequence, table, view, withTable } from './builders.js';
import { plan } from './helpers.js';

const customer = table('customer', [id(), col('name', 'text')], { primaryKey: pk(['id'], 'customer_pkey') });
const status = enumType('order_status', ['new', 'paid']);
const orderNo = sequence('order_no');
const orders = table(
  'orders',
  [
    id(),
    col('customer_id', 'bigint'),
    col('status', 'public.order_status'),
    col('no', 'bigint', { default: "nextval('public.order_no'::regclass)" }),
  ],
  { primaryKey: pk(['id'], 'orders_pkey'), foreignKeys: [fk('orders_customer_fk', ['customer_id'], 'customer')] },
);
// References orders: a dependent of a change to orders.
const item = table('order_item', [id(), col('order_id', 'bigint')], {
  primaryKey: pk(['id'], 'order_item_pkey'),
  foreignKeys: [fk('order_item_order_fk', ['order_id'], 'orders')],
});
// Reads orders: a dependent in the graph.
const recent = view('recent_orders', 'SELECT orders.id\n   FROM public.orders', ['id bigint']);
// Unrelated to orders.
const unrelated = Array.from({ length: 20 }, (_, i) =>
  table(`other_${i}`, [id(), col('email', 'public.email')], { primaryKey: pk(['id'], `other_${i}_pkey`) }),
);
const email = domain('email', 'text');

const live: DatabaseModel = {
  ...db([
    schema('public', {
      enums: [status],
      domains: [email],
      sequences: [orderNo],
      tables: [customer, orders, item, ...unrelated],
      views: [recent],
    }),
  ]),
  dependencies: [{ from: 'view public.recent_orders', to: 'table public.orders', column: 'id' }],
};

describe('the scope of a plan', () => {
  const desired = withTable(live, 'orders', (t) => ({ ...t, checks: [check('orders_no_positive', 'no > 0')] }));
  const made = plan(live, desired);
  const { keys, objects } = planScope(made.plan, { live, ...made.models }, desired);

  test('what the plan changes, what depends on it, what those need; nothing else', () => {
    expect([...keys].sort()).toEqual([
      'enum public.order_status',
      'sequence public.order_no',
      'table public.customer',
      'table public.order_item',
      'table public.orders',
      'view public.recent_orders',
    ]);
    // Every object of the live schema but its schema: 2 types, a sequence, 23 tables, a view.
    expect(objects).toBe(27);
  });

  test('the part of each model keeps only those objects, and its fingerprint differs only where the plan changes them', () => {
    const before = subModel(live, keys);
    expect(before.schemas[0]!.tables.map((t) => t.name)).toEqual(['customer', 'orders', 'order_item']);
    expect(before.schemas[0]!.domains).toEqual([]);
    expect(before.dependencies).toEqual(live.dependencies);
    expect(fingerprint(subModel(made.models.contract, keys))).toBe(fingerprint(subModel(desired, keys)));
    expect(fingerprint(subModel(made.models.contract, keys))).not.toBe(fingerprint(before));
    // An unrelated table changed elsewhere does not change the part.
    const elsewhere = withTable(live, 'other_3', (t) => ({ ...t, columns: [...t.columns, col('x', 'int')] }));
    expect(fingerprint(subModel(elsewhere, keys))).toBe(fingerprint(before));
  });

  test('a new table brings what it references and the types it uses, not what merely sits beside it', () => {
    const audit = table('audit', [id(), col('customer_id', 'bigint'), col('contact', 'public.email')], {
      primaryKey: pk(['id'], 'audit_pkey'),
      foreignKeys: [fk('audit_customer_fk', ['customer_id'], 'customer')],
    });
    const want: DatabaseModel = {
      ...live,
      schemas: live.schemas.map((s) => ({ ...s, tables: [...s.tables, audit] })),
    };
    const r = plan(live, want);
    expect([...planScope(r.plan, { live, ...r.models }, want).keys].sort()).toEqual([
      'domain public.email',
      'table public.audit',
      'table public.customer',
    ]);
  });
});
