/**
 * viewsNeedingServer (src/workflow/scratch-normalize.ts): which desired views `zdm plan` sends to a
 * scratch server. A view over a table whose columns change must be bound again; a view over a table
 * that only gains a CHECK or an index need not (starting a scratch server cost a 100-change plan of
 * 200 tables most of its time).
 */
import { describe, expect, test } from 'vitest';
import type { DatabaseModel } from '../../../src/model/types.js';
import { viewsNeedingServer } from '../../../src/workflow/scratch-normalize.js';
import { check, col, id, index, pk, table, tables, view, withTable, withViews } from '../plan/builders.js';

const orders = table('orders', [id(), col('amount', 'numeric'), col('note', 'text')], {
  primaryKey: pk(['id'], 'orders_pkey'),
});
const big = view(
  'big_orders',
  'SELECT orders.id,\n    orders.amount\n   FROM public.orders\n  WHERE orders.amount > 100',
  ['id bigint', 'amount numeric'],
);
const live: DatabaseModel = withViews(tables(orders), [big], ['view public.big_orders -> table public.orders#amount']);
const change = (fn: Parameters<typeof withTable>[2]): DatabaseModel => withTable(live, 'orders', fn);

describe('viewsNeedingServer', () => {
  test('nothing when only the table’s constraints or indexes change', () => {
    expect(viewsNeedingServer(live, live)).toEqual([]);
    expect(
      viewsNeedingServer(
        change((t) => ({ ...t, checks: [check('orders_amount_pos', 'amount > 0')] })),
        live,
      ),
    ).toEqual([]);
    expect(
      viewsNeedingServer(
        change((t) => ({ ...t, indexes: [index('orders_amount_idx', ['amount'])] })),
        live,
      ),
    ).toEqual([]);
    expect(
      viewsNeedingServer(
        change((t) => ({ ...t, columns: t.columns.map((c) => (c.name === 'note' ? { ...c, nullable: false } : c)) })),
        live,
      ),
    ).toEqual([]);
  });

  test('the view when a column of its table changes name, type or collation, or goes', () => {
    const retyped = change((t) => ({
      ...t,
      columns: t.columns.map((c) => (c.name === 'amount' ? { ...c, type: 'numeric(12,2)' } : c)),
    }));
    const collated = change((t) => ({
      ...t,
      columns: t.columns.map((c) => (c.name === 'note' ? { ...c, collation: '"C"' } : c)),
    }));
    const dropped = change((t) => ({ ...t, columns: t.columns.filter((c) => c.name !== 'note') }));
    for (const desired of [retyped, collated, dropped]) {
      expect(viewsNeedingServer(desired, live)).toEqual(['view public.big_orders']);
    }
  });

  test('the view when its own text changes', () => {
    const desired = withViews(tables(orders), [{ ...big, definition: 'SELECT orders.id FROM public.orders' }]);
    expect(viewsNeedingServer(desired, live)).toEqual(['view public.big_orders']);
  });
});
