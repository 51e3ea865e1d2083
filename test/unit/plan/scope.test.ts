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
    // Needed only for the foreign key of orders: its columns and key, nothing else.
    expect([...planScope(made.plan, { live, ...made.models }, desired).stubs]).toEqual(['table public.customer']);
  });

  test('a chain of foreign keys stops at the first table the plan does not change, copied as a stub', () => {
    const chain = Array.from({ length: 6 }, (_, i) =>
      table(`t${i + 1}`, [id(), col('parent_id', 'bigint'), col('note', 'text')], {
        primaryKey: pk(['id'], `t${i + 1}_pkey`),
        foreignKeys: i > 0 ? [fk(`t${i + 1}_parent_fk`, ['parent_id'], `t${i}`)] : [],
        checks: [check(`t${i + 1}_note`, 'length(note) < 100')],
      }),
    );
    const start = db([schema('public', { tables: chain })]);
    const want = withTable(start, 't5', (t) => ({ ...t, columns: [...t.columns, col('extra', 'integer')] }));
    const r = plan(start, want);
    const scope = planScope(r.plan, { live: start, ...r.models }, want);
    // t5 changes; t6 references it; t4 is what t5's key needs: a stub, whose own key to t3 is left out.
    expect([...scope.keys].sort()).toEqual(['table public.t4', 'table public.t5', 'table public.t6']);
    expect([...scope.stubs]).toEqual(['table public.t4']);
    const stub = subModel(start, scope.keys, scope.stubs).schemas[0]!.tables.find((t) => t.name === 't4')!;
    expect(stub.foreignKeys).toEqual([]);
    expect(stub.checks).toEqual([]);
    expect(stub.primaryKey?.columns).toEqual(['id']);
    expect(stub.columns.map((c) => c.name)).toEqual(['id', 'parent_id', 'note']);
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
