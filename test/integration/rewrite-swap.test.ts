/**
 * A column type change planned as a table swap (`typeChanges: swap`, docs/techniques.md "Type
 * change by table swap") on a real PostgreSQL: integer → bigint of the key and of another indexed
 * column, applied while a workload inserts, updates and deletes; a foreign key of another table
 * re-pointed and validated; the locks each transactional step declares, read from pg_locks; a
 * writer not blocked during the copy; no row version left in the live table (the point of the
 * technique); and the plan-time refusals. Run on 14 and 18 (`ZDM_TEST_PG_VERSION=14`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { rollbackPlan } from '../../src/apply/rollback.js';
import { introspect } from '../../src/introspect/index.js';
import { fingerprint } from '../../src/model/canonical.js';
import { withoutJournal } from '../../src/model/objects.js';
import type { CopyStep, VerifyStep } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { runCli } from '../support/cli.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { observeApply, observedText, planRefusal } from '../support/observed-locks.js';
import { compareWithRecord, startPartitionWorkload } from '../support/partition-workload.js';

const SETUP = `
CREATE TABLE customers (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 50) g;
CREATE TABLE orders (
  id          integer GENERATED ALWAYS AS IDENTITY,
  customer_id integer NOT NULL,
  amount      numeric(10,2) NOT NULL,
  status      varchar(20) NOT NULL DEFAULT 'pending',
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_pkey PRIMARY KEY (id),
  CONSTRAINT chk_orders_amount_positive CHECK (amount > 0),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE TABLE order_notes (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id integer NOT NULL,
  note text NOT NULL,
  CONSTRAINT fk_notes_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);
INSERT INTO orders (customer_id, amount, status, created_at)
  SELECT 1 + g % 50, 1 + g % 400, (ARRAY['pending','active','shipped'])[1 + g % 3],
         timestamptz '2024-01-01' + (g * interval '47 minutes')
  FROM generate_series(1, 20000) g;
INSERT INTO order_notes (order_id, note) SELECT id, 'n' FROM orders WHERE id % 100 = 0;
CREATE TABLE tags (code integer PRIMARY KEY, label text NOT NULL);
INSERT INTO tags SELECT g, 't' || g FROM generate_series(1, 100) g;
CREATE VIEW active_orders AS SELECT id, customer_id, amount FROM orders WHERE status = 'active';
GRANT SELECT ON orders TO PUBLIC;
ANALYZE;
`;

/** The desired state: orders.id and orders.customer_id bigint, everything else as it is. */
function desired(
  opts: { typeChanges?: string; tagCode?: string; extraColumn?: string; using?: string; noteOrderId?: string } = {},
): string {
  return `version: 1
${opts.typeChanges === undefined ? '' : `options: { typeChanges: ${opts.typeChanges} }\n`}schemas:
  public:
    comment: standard public schema
    views:
      active_orders:
        definition: SELECT id, customer_id, amount FROM orders WHERE status = 'active'
    tables:
      customers:
        columns:
          id: { type: integer, identity: always, nullable: false }
          name: { type: text, nullable: false }
        primaryKey: { columns: [id] }
      orders:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          customer_id: { type: bigint, nullable: false${opts.using ?? ''} }
          amount: { type: "numeric(10,2)", nullable: false }
          status: { type: varchar(20), nullable: false, default: "'pending'" }
          created_at: { type: timestamptz, nullable: false, default: now() }
${opts.extraColumn ?? ''}        primaryKey: { name: orders_pkey, columns: [id] }
        checks:
          chk_orders_amount_positive: { expression: amount > 0 }
        foreignKeys:
          fk_orders_customer: { columns: [customer_id], references: { table: customers, columns: [id] } }
        indexes:
          idx_orders_customer_id: { columns: [customer_id] }
        grants:
          PUBLIC: [SELECT]
      order_notes:
        columns:
          id: { type: integer, identity: always, nullable: false }
          order_id: { type: ${opts.noteOrderId ?? 'integer'}, nullable: false }
          note: { type: text, nullable: false }
        primaryKey: { columns: [id] }
        foreignKeys:
          fk_notes_order: { columns: [order_id], references: { table: orders, columns: [id] }, onDelete: cascade }
      tags:
        columns:
          code: { type: ${opts.tagCode ?? 'integer'}, nullable: false }
          label: { type: text, nullable: false }
        primaryKey: { columns: [code] }
`;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zdm-rewrite-'));
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

async function columnTypes(db: TestDatabase): Promise<Record<string, string>> {
  const r = await db.query<{ name: string; type: string }>(
    `SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = 'public.orders'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
  );
  return Object.fromEntries(r.map((x) => [x.name, x.type]));
}

describe('type change by table swap under a concurrent workload', () => {
  let db: TestDatabase;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    db = await freshDatabase('rewrite_swap');
    await db.exec(SETUP);
    for (let i = 0; i < 3; i++) clients.push(await db.connect());
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await db?.drop();
  });

  it('changes orders.id and customer_id to bigint through a new table, with zero failed statements and no lost or extra row', async () => {
    const made = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('swap', desired({ typeChanges: 'swap' })),
      batchSize: 500,
    });
    const kinds = made.plan.phases.map((p) => p.steps.map((s) => s.kind));
    // Expand: the new table, the mirror. Backfill: the copy, its verification, idx_orders_customer_id
    // built CONCURRENTLY. Contract: verify, the swap, the foreign key validated, the old table dropped.
    expect(kinds).toEqual([
      ['sql', 'sql'],
      ['copy', 'verify', 'sql'],
      ['verify', 'sql', 'sql', 'sql'],
    ]);
    const steps = made.plan.phases.flatMap((p) => p.steps);
    const copy = steps.find((s): s is CopyStep => s.kind === 'copy')!;
    expect(copy.casts).toEqual({ id: 'bigint', customer_id: 'bigint' });
    expect(copy.insert).toBe('copy');
    expect(copy.sql[0]).toMatch(
      /SELECT id::bigint, customer_id::bigint, amount, status, created_at FROM public.orders AS zdm_f/,
    );
    const verify = steps.find((s): s is VerifyStep => s.kind === 'verify')!;
    expect(verify.sql[0]).toMatch(/ROW\(id::bigint, customer_id::bigint, amount, status, created_at\)::text/);
    expect(steps[0]!.summary).toMatch(/the copy of public\.orders with id bigint, customer_id bigint/);
    const workload = await startPartitionWorkload(clients, 'public.orders', {
      from: new Date('2024-01-01T00:00:00Z'),
      to: new Date('2026-01-01T00:00:00Z'),
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      await applyPhase(db.client, made.plan, { phase: 'expand' });
      await new Promise((r) => setTimeout(r, 200));
      await applyPhase(db.client, made.plan, {
        phase: 'backfill',
        allowHazards: [...ALLOW],
        pauseMs: 5,
        sideConnection: () => db.connect(),
      });
      await new Promise((r) => setTimeout(r, 200));
      await applyPhase(db.client, made.plan, { phase: 'contract', allowHazards: [...ALLOW] });
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      const report = await workload.stop();
      console.log(
        `rewrite workload (PG ${db.major}): ${report.statements} statements, ${report.inserts} inserts, ${report.updates} updates, ${report.deletes} deletes, max ${Math.round(report.maxMs)} ms`,
      );
      expect(report.errors).toEqual([]);
      expect(report.updates).toBeGreaterThan(0);
      expect(report.deletes).toBeGreaterThan(0);
    }
    const cmp = await compareWithRecord(db.client, 'public.orders', workload.record);
    expect(cmp).toMatchObject({ missing: 0, extra: 0 });
    expect(await columnTypes(db)).toEqual({
      id: 'bigint',
      customer_id: 'bigint',
      amount: 'numeric(10,2)',
      status: 'character varying(20)',
      created_at: 'timestamp with time zone',
    });
    // Nothing of the swap is left; the identity sequence is bigint, past every copied id, and has the
    // name PostgreSQL gives it when the table is created by hand.
    const left = await db.query<{ n: string }>(
      `SELECT relname::text AS n FROM pg_class WHERE relpersistence <> 't' AND relname LIKE '%zdm%'`,
    );
    expect(left.map((r) => r.n)).toEqual([]);
    const seq = await db.query<{ s: string; t: string }>(
      `SELECT pg_get_serial_sequence('orders', 'id') AS s,
              (SELECT format_type(seqtypid, NULL) FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('orders', 'id')::regclass) AS t`,
    );
    expect(seq[0]).toEqual({ s: 'public.orders_id_seq', t: 'bigint' });
    const max = await db.query<{ m: string }>('SELECT max(id)::text AS m FROM orders');
    const next = await db.query<{ id: string }>(
      `INSERT INTO orders (customer_id, amount) VALUES (1, 1) RETURNING id::text`,
    );
    expect(BigInt(next[0]!.id)).toBeGreaterThan(BigInt(max[0]!.m));
    const fk = await db.query<{ table: string; valid: boolean }>(
      `SELECT confrelid::regclass::text AS table, convalidated AS valid FROM pg_constraint WHERE conname = 'fk_notes_order'`,
    );
    expect(fk).toEqual([{ table: 'orders', valid: true }]);
    const view = await db.query<{ n: string; m: string }>(
      `SELECT (SELECT count(*) FROM active_orders)::text AS n, (SELECT count(*) FROM orders WHERE status = 'active')::text AS m`,
    );
    expect(view[0]!.n).toBe(view[0]!.m);
    const grants = await db.query<{ g: boolean }>(
      `SELECT has_table_privilege('public', 'public.orders', 'SELECT') AS g`,
    );
    expect(grants[0]!.g).toBe(true);
    // The new table was written once: no dead row version in it, and the table is a fresh one.
    const dead = await db.query<{ n: string }>(
      `SELECT n_tup_upd::text AS n FROM pg_stat_user_tables WHERE relid = 'public.orders'::regclass`,
    );
    expect(Number(dead[0]!.n)).toBeLessThan(20000);
    for (const typeChanges of ['swap', undefined]) {
      const again = await makePlan(db.client, {
        scratchUrl: adminUrl(),
        desiredPath: await desiredFile('again', desired(typeChanges === undefined ? {} : { typeChanges })),
      });
      expect(again.empty).toBe(true);
    }
  }, 180_000);
});

describe('type change by table swap: locks', () => {
  let db: TestDatabase;
  let observer: pg.Client;
  let writer: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase('rewrite_swap_locks');
    await db.exec(SETUP);
    observer = await db.connect();
    writer = await db.connect();
  });
  afterAll(async () => {
    await observer?.end().catch(() => {});
    await writer?.end().catch(() => {});
    await db?.drop();
  });

  it('each transactional step holds exactly the locks it declares, and a writer is not blocked during the copy', async () => {
    const made = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('locks', desired()),
      typeChanges: 'swap',
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
    await applyPhase(db.client, made.plan, {
      phase: 'backfill',
      allowHazards: [...ALLOW],
      pauseMs: 0,
      testHooks,
      sideConnection: () => db.connect(),
    });
    await applyPhase(db.client, made.plan, { phase: 'contract', allowHazards: [...ALLOW], testHooks });
    console.log(
      `rewrite locks (PG ${db.major}):\n${observedText(observed)}\n  writes during the copy: ${writes.join(', ')} ms`,
    );
    expect(observed.map((o) => o.step.split(' ')[0])).toEqual([
      'expand.1',
      'expand.2',
      'contract.2',
      'contract.3',
      'contract.4',
    ]);
    for (const o of observed) expect(o.held, o.step).toEqual(o.declared);
    expect(writes).toHaveLength(3);
    for (const ms of writes) expect(ms).toBeLessThan(500);
    expect(await checksum(db.client)).toEqual(expected);
    expect((await columnTypes(db)).id).toBe('bigint');
  }, 120_000);
});

describe('type change by table swap: plan-time refusals and the default path', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('rewrite_swap_refuse');
    await db.exec(SETUP);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const refusal = async (name: string, text: string): Promise<string> => planRefusal(db, await desiredFile(name, text));

  it('without the option, plans replacement columns (no new table)', async () => {
    const made = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('default', desired()),
    });
    const kinds = made.plan.phases.flatMap((p) => p.steps.map((s) => s.kind));
    expect(kinds).not.toContain('copy');
    expect(kinds).toContain('backfill');
  });

  it('zdm rollback after backfill leaves the table exactly as before: schema, rows, no trigger or shadow', async () => {
    const snapshot = async () => ({
      schema: fingerprint(withoutJournal(await introspect(db.client))),
      rows: await checksum(db.client),
      relations: await db.query(`SELECT relname::text AS n FROM pg_class WHERE relname LIKE '%zdm%'`),
    });
    const before = await snapshot();
    const made = await makePlan(db.client, {
      scratchUrl: adminUrl(),
      desiredPath: await desiredFile('rollback', desired({ typeChanges: 'swap' })),
      batchSize: 5000,
    });
    await applyPhase(db.client, made.plan, { phase: 'expand' });
    await applyPhase(db.client, made.plan, { phase: 'backfill', allowHazards: [...ALLOW], pauseMs: 0 });
    await db.exec(`UPDATE orders SET amount = amount + 1 WHERE id = 7`);
    await rollbackPlan(db.client, made.plan);
    await db.exec(`UPDATE orders SET amount = amount - 1 WHERE id = 7`);
    expect(await snapshot()).toEqual(before);
    expect((await columnTypes(db)).id).toBe('integer');
  });

  it('refuses a new column in the same plan, naming it', async () => {
    const msg = await refusal(
      'new-column',
      desired({ typeChanges: 'swap', extraColumn: '          note: { type: text }\n' }),
    );
    expect(msg).toMatch(/column note is new: add it in a plan of its own before rewriting the table into a new one/);
  });

  it('refuses a `using` expression, pointing at the replacement column path', async () => {
    const msg = await refusal('using', desired({ typeChanges: 'swap', using: ', using: "customer_id * 2"' }));
    expect(msg).toMatch(/column customer_id: a `using` expression is not supported by rewriting the table/);
    expect(msg).toMatch(/typeChanges: column/);
  });

  it('refuses two swaps joined by a foreign key in one plan (the new table would reference the retired one)', async () => {
    const msg = await refusal('two-swaps', desired({ typeChanges: 'swap', noteOrderId: 'bigint' }));
    expect(msg).toMatch(
      /foreign key fk_notes_order references public\.orders, which this plan also swaps for a new table: swap one of them in a plan of its own/,
    );
  });

  it('refuses a key column changed to a type its old values do not compare with', async () => {
    const msg = await refusal('key-type', desired({ typeChanges: 'swap', tagCode: 'text' }));
    expect(msg).toMatch(/column code is in the table's key \(code\): .* only between smallint, integer and bigint/);
  });

  // Last: it changes the table the cases above plan against.
  it('the CLI: zdm plan --type-changes swap, then zdm apply of each phase (the copy streamed through COPY on its second connection)', async () => {
    const planFile = path.join(dir, 'cli.plan.yaml');
    const file = await desiredFile('cli', desired());
    const made = await runCli(['plan', '--schema', file, '-d', db.url, '--out', planFile, '--type-changes', 'swap']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(
      /create public\.orders_zdm_shadow, the copy of public\.orders with id bigint, customer_id bigint/,
    );
    for (const phase of ['expand', 'backfill', 'contract']) {
      const r = await runCli([
        'apply',
        planFile,
        '--phase',
        phase,
        '-d',
        db.url,
        '--allow-hazards',
        'long-running,data-loss',
      ]);
      expect(r.code, r.stderr).toBe(0);
      if (phase === 'backfill') expect(r.stdout + r.stderr).toMatch(/batches streamed through COPY/);
    }
    expect((await columnTypes(db)).id).toBe('bigint');
    const again = await runCli(['plan', '--schema', file, '-d', db.url, '--check', '--type-changes', 'swap']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  }, 120_000);
});
