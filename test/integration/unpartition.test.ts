/**
 * Unpartition (a partitioned table becomes a plain one: the partition swap in reverse,
 * docs/techniques.md) on a real PostgreSQL: the whole plan applied while a workload inserts, updates
 * (also moving rows across partitions) and deletes; the locks each transactional step declares,
 * read from pg_locks; a writer not blocked during the copy; and the plan-time refusals.
 * Run on 14 and 18 (`ZDM_TEST_PG_VERSION=14`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { observeApply, observedText, planRefusal } from '../support/observed-locks.js';
import { compareWithRecord, startPartitionWorkload } from '../support/partition-workload.js';

const SETUP = `
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 50) g;
CREATE TABLE orders (
  id          bigint GENERATED ALWAYS AS IDENTITY,
  customer_id bigint NOT NULL,
  amount      numeric(10,2) NOT NULL,
  status      varchar(20) NOT NULL DEFAULT 'pending',
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_pkey PRIMARY KEY (id, created_at),
  CONSTRAINT chk_orders_amount_positive CHECK (amount > 0),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) PARTITION BY RANGE (created_at);
CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE orders_2026 PARTITION OF orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE orders_default PARTITION OF orders DEFAULT;
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE TABLE order_notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL,
  order_created_at timestamptz NOT NULL,
  note text NOT NULL,
  CONSTRAINT fk_notes_order FOREIGN KEY (order_id, order_created_at) REFERENCES orders (id, created_at) ON UPDATE CASCADE ON DELETE CASCADE
);
INSERT INTO orders (customer_id, amount, status, created_at)
  SELECT 1 + g % 50, 1 + g % 400, (ARRAY['pending','active','shipped'])[1 + g % 3],
         timestamptz '2024-01-01' + (g * interval '47 minutes')
  FROM generate_series(1, 20000) g;
INSERT INTO order_notes (order_id, order_created_at, note) SELECT id, created_at, 'n' FROM orders WHERE id % 100 = 0;
CREATE VIEW active_orders AS SELECT id, customer_id, amount FROM orders WHERE status = 'active' WITH LOCAL CHECK OPTION;
ANALYZE;
`;

/** The desired state: orders plain, its primary key now (id) and (id, created_at) kept unique for order_notes. */
function desired(opts: { extraTables?: string; extraViews?: string; uniqueKey?: boolean } = {}): string {
  return `version: 1
schemas:
  public:
    comment: standard public schema
    views:
      active_orders:
        definition: SELECT id, customer_id, amount FROM orders WHERE status = 'active'
        checkOption: local
${opts.extraViews ?? ''}    tables:
      customers:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          name: { type: text, nullable: false }
        primaryKey: { columns: [id] }
      orders:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          customer_id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
          status: { type: varchar(20), nullable: false, default: "'pending'" }
          created_at: { type: timestamptz, nullable: false, default: now() }
        primaryKey: { name: orders_pkey, columns: [id] }
${opts.uniqueKey === false ? '' : '        uniqueConstraints:\n          orders_id_created_at_key: { columns: [id, created_at] }\n'}        checks:
          chk_orders_amount_positive: { expression: amount > 0 }
        foreignKeys:
          fk_orders_customer: { columns: [customer_id], references: { table: customers, columns: [id] } }
        indexes:
          idx_orders_customer_id: { columns: [customer_id] }
      order_notes:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          order_id: { type: bigint, nullable: false }
          order_created_at: { type: timestamptz, nullable: false }
          note: { type: text, nullable: false }
        primaryKey: { columns: [id] }
        foreignKeys:
          fk_notes_order: { columns: [order_id, order_created_at], references: { table: orders, columns: [id, created_at] }, onUpdate: cascade, onDelete: cascade }
${opts.extraTables ?? ''}`;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zdm-unpartition-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function desiredFile(name: string, text: string): Promise<string> {
  const f = path.join(dir, `${name}.yaml`);
  await writeFile(f, text);
  return f;
}

const ALLOW = ['long-running', 'data-loss'] as const;

async function checksum(c: pg.Client): Promise<{ n: string; sum: string }> {
  const r = await c.query<{ n: string; sum: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(hashtext(t::text)::numeric), 0)::text AS sum
       FROM (SELECT id, customer_id, amount, status, created_at FROM orders) t`,
  );
  return r.rows[0]!;
}

describe('unpartition under a concurrent workload', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = await freshDatabase('unpartition');
    await db.exec(SETUP);
    for (let i = 0; i < 3; i++) clients.push(await db.connect());
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await db?.drop();
  });

  it('turns orders into a plain table with zero failed statements and no lost or extra row', async () => {
    const made = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('swap', desired()),
      batchSize: 500,
    });
    const kinds = made.plan.phases.map((p) => p.steps.map((s) => s.kind));
    // Backfill: the copy, its verification, then idx_orders_customer_id on the plain shadow (CONCURRENTLY).
    expect(kinds).toEqual([
      ['sql', 'sql'],
      ['copy', 'verify', 'sql'],
      ['verify', 'sql', 'sql', 'sql'],
    ]);
    const workload = await startPartitionWorkload(clients, 'public.orders', {
      from: new Date('2023-10-01T00:00:00Z'),
      to: new Date('2027-03-01T00:00:00Z'),
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      await applyPhase(db.client, made.plan, { phase: 'expand' });
      await new Promise((r) => setTimeout(r, 200));
      await applyPhase(db.client, made.plan, { phase: 'backfill', allowHazards: [...ALLOW], pauseMs: 5 });
      await new Promise((r) => setTimeout(r, 200));
      await applyPhase(db.client, made.plan, { phase: 'contract', allowHazards: [...ALLOW] });
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      const report = await workload.stop();
      console.log(
        `unpartition workload (PG ${db.major}): ${report.statements} statements, ${report.inserts} inserts, ${report.updates} updates (${report.keyMoves} moving created_at across partitions), ${report.deletes} deletes, max ${Math.round(report.maxMs)} ms`,
      );
      expect(report.errors).toEqual([]);
      expect(report.keyMoves).toBeGreaterThan(0);
    }
    const cmp = await compareWithRecord(db.client, 'public.orders', workload.record);
    expect(cmp).toMatchObject({ missing: 0, extra: 0 });
    const kind = await db.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass`,
    );
    expect(kind[0]!.relkind).toBe('r');
    // The partitions went with the retired table.
    // The partitions went with the retired table; nothing of the swap is left, and the identity
    // sequence has the name PostgreSQL gives it when the table is created by hand.
    const seq = await db.query<{ s: string }>(`SELECT pg_get_serial_sequence('orders', 'id') AS s`);
    expect(seq[0]!.s).toBe('public.orders_id_seq');
    const left = await db.query<{ n: string }>(
      `SELECT relname::text AS n FROM pg_class
        WHERE relpersistence <> 't'
          AND (relname LIKE 'orders\\_20%' OR relname = 'orders_default' OR relname LIKE '%zdm%')`,
    );
    expect(left.map((r) => r.n)).toEqual([]);
    const fk = await db.query<{ table: string; valid: boolean }>(
      `SELECT confrelid::regclass::text AS table, convalidated AS valid FROM pg_constraint WHERE conname = 'fk_notes_order'`,
    );
    expect(fk).toEqual([{ table: 'orders', valid: true }]);
    const view = await db.query<{ n: string; m: string }>(
      `SELECT (SELECT count(*) FROM active_orders)::text AS n, (SELECT count(*) FROM orders WHERE status = 'active')::text AS m`,
    );
    expect(view[0]!.n).toBe(view[0]!.m);
    const max = await db.query<{ m: string }>('SELECT max(id)::text AS m FROM orders');
    const next = await db.query<{ id: string }>(
      `INSERT INTO orders (customer_id, amount, created_at) VALUES (1, 1, '2031-05-05') RETURNING id::text`,
    );
    expect(BigInt(next[0]!.id)).toBeGreaterThan(BigInt(max[0]!.m));
    const again = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('swap', desired()),
    });
    expect(again.empty).toBe(true);
  }, 180_000);
});

describe('unpartition locks', () => {
  let db: TestDatabase;
  let observer: pg.Client;
  let writer: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase('unpartition_locks');
    await db.exec(SETUP);
    observer = await db.connect();
    writer = await db.connect();
  });
  afterAll(async () => {
    await observer?.end().catch(() => {});
    await writer?.end().catch(() => {});
    await db?.drop();
  });

  it('each transactional step holds exactly the locks it declares (partitions included), and a writer is not blocked during the copy', async () => {
    const made = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('locks', desired()),
      batchSize: 2000,
    });
    const expected = await checksum(db.client);
    // Before each transactional SQL step runs for real, the same statements run on another session
    // inside BEGIN … ROLLBACK and its relation locks are read from pg_locks; between the first copy
    // batches a write on a third session completes at once (and is mirrored).
    const { observed, writes, testHooks } = observeApply(made.plan, observer, {
      client: writer,
      sql: [
        `UPDATE orders SET amount = amount + 1 WHERE id = $batch * 1000 + 7`,
        `UPDATE orders SET amount = amount - 1 WHERE id = $batch * 1000 + 7`,
      ],
    });
    await applyPhase(db.client, made.plan, { phase: 'expand', testHooks });
    await applyPhase(db.client, made.plan, { phase: 'backfill', allowHazards: [...ALLOW], pauseMs: 0, testHooks });
    await applyPhase(db.client, made.plan, { phase: 'contract', allowHazards: [...ALLOW], testHooks });
    console.log(
      `unpartition locks (PG ${db.major}):\n${observedText(observed)}\n  writes during the copy: ${writes.join(', ')} ms`,
    );
    expect(observed.map((o) => o.step.split(' ')[0])).toEqual([
      'expand.1',
      'expand.2',
      'contract.2',
      'contract.3',
      'contract.4',
    ]);
    for (const o of observed) expect(o.held, o.step).toEqual(o.declared);
    // The swap holds ACCESS EXCLUSIVE on the partitioned table and on every partition.
    const swap = observed.find((o) => o.step.includes('swap public.orders'))!;
    for (const p of ['orders', 'orders_2024', 'orders_2025', 'orders_2026', 'orders_default']) {
      expect(swap.held).toContain(`ACCESS EXCLUSIVE on public.${p}`);
    }
    expect(writes).toHaveLength(3);
    for (const ms of writes) expect(ms).toBeLessThan(500);
    // No row lost: count and checksum as before.
    expect(await checksum(db.client)).toEqual(expected);
  }, 120_000);
});

describe('unpartition: plan-time refusals', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('unpartition_refuse');
    await db.exec(SETUP);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const refusal = async (name: string, text: string): Promise<string> => planRefusal(db, await desiredFile(name, text));

  it('refuses a foreign key of another table the plain table would not be unique for, naming both', async () => {
    const msg = await refusal('fk', desired({ uniqueKey: false }));
    expect(msg).toMatch(/fk_notes_order/);
    expect(msg).toMatch(
      /public\.orders. has no primary key, unique constraint or unique index on exactly \(id, created_at\)/,
    );
  });

  it('refuses a view (of a schema zdm does not manage) over a single partition, naming the view and the partition', async () => {
    await db.exec('CREATE SCHEMA reports; CREATE VIEW reports.orders_2025_view AS SELECT id FROM public.orders_2025');
    try {
      const msg = await refusal('partition-view', desired());
      expect(msg).toMatch(/reports\.orders_2025_view/);
      expect(msg).toMatch(/on the partition public\.orders_2025, which the swap drops/);
    } finally {
      await db.exec('DROP SCHEMA reports CASCADE');
    }
  });

  it('refuses a desired table named like a live partition', async () => {
    const msg = await refusal(
      'name',
      desired({
        extraTables: `      orders_2024:
        columns:
          id: { type: bigint, nullable: false }
`,
      }),
    );
    expect(msg).toMatch(/public\.orders_2024, a partition of the live public\.orders/);
  });

  it('refuses a column change in the same plan, saying to change it in a plan of its own', async () => {
    const msg = await refusal(
      'column',
      desired().replace('amount: { type: "numeric(10,2)"', 'amount: { type: "numeric(12,2)"'),
    );
    expect(msg).toMatch(
      /column amount changes too: change it in a plan of its own before turning the partitioned table into a plain table/,
    );
  });
});
