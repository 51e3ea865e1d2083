/**
 * The four seed scenarios of the issue, planned exactly as a careful DBA would: SQL, phases,
 * transactions, locks and hazards asserted in full.
 */
import { describe, expect, test } from 'vitest';
import { check, col, customers, fk, index, orders, tables, users, withTable } from './builders.js';
import { flat, plan } from './helpers.js';

const AEL = 'ACCESS EXCLUSIVE';
const SUE = 'SHARE UPDATE EXCLUSIVE';

describe('seed scenarios', () => {
  test('(a) CHECK (amount > 0) on a large orders table: NOT VALID in expand, VALIDATE in backfill', () => {
    const live = tables(customers, orders);
    const desired = withTable(live, 'orders', (t) => ({
      ...t,
      checks: [check('chk_orders_amount_positive', 'amount > 0')],
    }));
    const steps = flat(plan(live, desired));
    expect(steps).toEqual([
      expect.objectContaining({
        phase: 'expand',
        id: 'expand.1',
        kind: 'sql',
        sql: ['ALTER TABLE public.orders ADD CONSTRAINT chk_orders_amount_positive CHECK (amount > 0) NOT VALID'],
        transaction: true,
        locks: [{ relation: 'public.orders', mode: AEL, hold: 'instant' }],
        hazards: [],
      }),
      expect.objectContaining({
        phase: 'backfill',
        id: 'backfill.1',
        kind: 'sql',
        sql: ['ALTER TABLE public.orders VALIDATE CONSTRAINT chk_orders_amount_positive'],
        transaction: true,
        locks: [{ relation: 'public.orders', mode: SUE, hold: 'scan' }],
        hazards: [],
      }),
    ]);
  });

  test('(b) FK orders.customer_id → customers.id with its index: index CONCURRENTLY, FK NOT VALID, VALIDATE', () => {
    const live = tables(customers, orders);
    const desired = withTable(live, 'orders', (t) => ({
      ...t,
      foreignKeys: [fk('fk_orders_customer', ['customer_id'], 'customers', ['id'], { onDelete: 'restrict' })],
      indexes: [index('idx_orders_customer_id', ['customer_id'])],
    }));
    const r = plan(live, desired);
    expect(r.warnings).toEqual([]);
    expect(flat(r)).toEqual([
      expect.objectContaining({
        phase: 'expand',
        sql: ['CREATE INDEX CONCURRENTLY idx_orders_customer_id ON public.orders (customer_id)'],
        transaction: false,
        locks: [{ relation: 'public.orders', mode: SUE, hold: 'scan' }],
        hazards: [],
        concurrentIndex: { schema: 'public', name: 'idx_orders_customer_id' },
      }),
      expect.objectContaining({
        phase: 'expand',
        sql: [
          'ALTER TABLE public.orders ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES public.customers (id) ON DELETE RESTRICT NOT VALID',
        ],
        transaction: true,
        locks: [
          { relation: 'public.orders', mode: 'SHARE ROW EXCLUSIVE', hold: 'instant' },
          { relation: 'public.customers', mode: 'SHARE ROW EXCLUSIVE', hold: 'instant' },
        ],
        hazards: [],
      }),
      expect.objectContaining({
        phase: 'backfill',
        sql: ['ALTER TABLE public.orders VALIDATE CONSTRAINT fk_orders_customer'],
        transaction: true,
        locks: [
          { relation: 'public.orders', mode: SUE, hold: 'scan' },
          { relation: 'public.customers', mode: 'ROW SHARE', hold: 'scan' },
        ],
        hazards: [],
      }),
    ]);
  });

  test('(b′) an FK with no index on its columns plans the same way and warns', () => {
    const live = tables(customers, orders);
    const desired = withTable(live, 'orders', (t) => ({
      ...t,
      foreignKeys: [fk('fk_orders_customer', ['customer_id'], 'customers')],
    }));
    const r = plan(live, desired);
    expect(r.warnings).toEqual([
      expect.stringMatching(/fk_orders_customer on public\.orders has no index on \(customer_id\)/),
    ]);
    expect(flat(r).map((s) => [s.phase, s.sql[0]?.replace(/ .*(NOT VALID|VALIDATE).*/, ' … $1')])).toEqual([
      ['expand', 'ALTER … NOT VALID'],
      ['backfill', 'ALTER … VALIDATE'],
    ]);
  });

  test("(c) CREATE INDEX CONCURRENTLY on (created_at DESC) and a partial index WHERE status = 'active'", () => {
    const live = tables(orders);
    const desired = withTable(live, 'orders', (t) => ({
      ...t,
      indexes: [
        index('idx_orders_active', ['customer_id', 'created_at desc'], { where: "status = 'active'" }),
        index('idx_orders_created_at', ['created_at desc']),
      ],
    }));
    expect(flat(plan(live, desired))).toEqual([
      {
        phase: 'expand',
        id: 'expand.1',
        kind: 'sql',
        summary: 'create index idx_orders_active on public.orders',
        sql: [
          "CREATE INDEX CONCURRENTLY idx_orders_active ON public.orders (customer_id, created_at DESC) WHERE status = 'active'",
        ],
        transaction: false,
        locks: [{ relation: 'public.orders', mode: SUE, hold: 'scan' }],
        hazards: [],
        concurrentIndex: { schema: 'public', name: 'idx_orders_active' },
      },
      {
        phase: 'expand',
        id: 'expand.2',
        kind: 'sql',
        summary: 'create index idx_orders_created_at on public.orders',
        sql: ['CREATE INDEX CONCURRENTLY idx_orders_created_at ON public.orders (created_at DESC)'],
        transaction: false,
        locks: [{ relation: 'public.orders', mode: SUE, hold: 'scan' }],
        hazards: [],
        concurrentIndex: { schema: 'public', name: 'idx_orders_created_at' },
      },
    ]);
  });

  test('(d) a new verified_at timestamptz DEFAULT now() NOT NULL column: one ADD COLUMN, no scan', () => {
    const live = tables(users);
    const desired = withTable(live, 'users', (t) => ({
      ...t,
      columns: [...t.columns, col('verified_at', 'timestamp with time zone', { nullable: false, default: 'now()' })],
    }));
    const r = plan(live, desired);
    expect(flat(r)).toEqual([
      expect.objectContaining({
        phase: 'expand',
        sql: ['ALTER TABLE public.users ADD COLUMN verified_at timestamptz NOT NULL DEFAULT now()'],
        transaction: true,
        locks: [{ relation: 'public.users', mode: AEL, hold: 'instant' }],
        hazards: [],
      }),
    ]);
    expect(r.plan.phases.map((p) => [p.name, p.steps.length])).toEqual([
      ['expand', 1],
      ['backfill', 0],
      ['contract', 0],
    ]);
  });

  test('(d′) the existing verified_at made NOT NULL: CHECK NOT VALID → VALIDATE → SET NOT NULL + drop check', () => {
    const live = withTable(tables(users), 'users', (t) => ({
      ...t,
      columns: [...t.columns, col('verified_at', 'timestamp with time zone', { default: 'now()' })],
    }));
    const desired = withTable(live, 'users', (t) => ({
      ...t,
      columns: t.columns.map((c) => (c.name === 'verified_at' ? { ...c, nullable: false } : c)),
    }));
    const r = plan(live, desired);
    expect(flat(r)).toEqual([
      expect.objectContaining({
        phase: 'expand',
        sql: [
          'ALTER TABLE public.users ADD CONSTRAINT users_verified_at_zdm_not_null CHECK (verified_at IS NOT NULL) NOT VALID',
        ],
        transaction: true,
        locks: [{ relation: 'public.users', mode: AEL, hold: 'instant' }],
        hazards: [],
      }),
      expect.objectContaining({
        phase: 'backfill',
        sql: ['ALTER TABLE public.users VALIDATE CONSTRAINT users_verified_at_zdm_not_null'],
        transaction: true,
        locks: [{ relation: 'public.users', mode: SUE, hold: 'scan' }],
        hazards: [],
      }),
      expect.objectContaining({
        phase: 'contract',
        sql: [
          'ALTER TABLE public.users ALTER COLUMN verified_at SET NOT NULL',
          'ALTER TABLE public.users DROP CONSTRAINT users_verified_at_zdm_not_null',
        ],
        transaction: true,
        locks: [{ relation: 'public.users', mode: AEL, hold: 'instant' }],
        hazards: [],
      }),
    ]);
    // The helper check is in the model between expand and contract, NOT VALID until backfill.
    const checksOf = (phase: 'expand' | 'backfill' | 'contract') =>
      r.models[phase].schemas[0]?.tables.find((t) => t.name === 'users')?.checks;
    expect(checksOf('expand')).toEqual([
      {
        kind: 'check',
        name: 'users_verified_at_zdm_not_null',
        expression: '(verified_at IS NOT NULL)',
        noInherit: false,
        valid: false,
      },
    ]);
    expect(checksOf('backfill')).toEqual([
      expect.objectContaining({ name: 'users_verified_at_zdm_not_null', valid: true }),
    ]);
    expect(checksOf('contract')).toEqual([]);
  });
});
