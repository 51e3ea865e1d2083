/**
 * Measures the partition swap on 1,000,000 rows: the copy rate, and how long the contract's swap
 * transaction holds its ACCESS EXCLUSIVE lock (from the LOCK TABLE to the COMMIT, which is the
 * step's duration). A measurement printed, not a timed assertion: run with
 * `npm run bench:swap`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplyEvent, applyPhase } from '../src/apply/index.js';
import { makePlan } from '../src/workflow/plan.js';
import { freshDatabase, type TestDatabase } from '../test/support/db.js';

const ROWS = Number(process.env.ZDM_MEASURE_SWAP_ROWS ?? 1_000_000);

describe(`partition swap on ${ROWS} rows`, () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('partition_swap_1m');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-swap-1m-'));
    await db.exec(`
      CREATE TABLE orders (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id bigint NOT NULL,
        amount numeric(10,2) NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'pending',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO orders (customer_id, amount, status, created_at)
        SELECT 1 + g % 5000, 1 + g % 500, (ARRAY['pending','active','shipped'])[1 + g % 3],
               timestamptz '2024-01-01' + (g * interval '90 seconds')
        FROM generate_series(1, ${ROWS}) g;
      CREATE INDEX idx_orders_customer ON orders (customer_id);
      ANALYZE orders;
    `);
  }, 600_000);
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies, verifies and swaps; prints the copy rate and the ACCESS EXCLUSIVE hold of the swap', async () => {
    const parts: string[] = [];
    for (let y = 2024; y <= 2027; y++) {
      for (let q = 0; q < 4; q++) {
        const from = `${y}-${String(q * 3 + 1).padStart(2, '0')}-01`;
        const to = q === 3 ? `${y + 1}-01-01` : `${y}-${String(q * 3 + 4).padStart(2, '0')}-01`;
        parts.push(`          orders_${y}q${q + 1}: { from: ['${from}'], to: ['${to}'] }`);
      }
    }
    const file = path.join(dir, 'desired.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      orders:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          customer_id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
          status: { type: varchar(20), nullable: false, default: "'pending'" }
          created_at: { type: timestamptz, nullable: false, default: now() }
        primaryKey: { name: orders_pkey, columns: [id, created_at] }
        indexes:
          idx_orders_customer: { columns: [customer_id] }
        partitionBy: { strategy: range, columns: [created_at] }
        partitions:
${parts.join('\n')}
          orders_default: { default: true }
`,
    );
    const made = await makePlan(db.client, { desiredPath: file, batchSize: 5000 });
    const durations = new Map<string, number>();
    const onEvent = (e: ApplyEvent) => {
      if (e.type === 'step-done') durations.set(e.stepId, e.durationMs);
    };
    const allow = ['long-running', 'data-loss'] as const;
    await applyPhase(db.client, made.plan, { phase: 'expand', onEvent });
    await applyPhase(db.client, made.plan, { phase: 'backfill', allowHazards: [...allow], pauseMs: 0, onEvent });
    // What the swap's final check costs: both counts, as it runs them (but without the lock).
    const t0 = performance.now();
    await db.query('SELECT pg_catalog.count(*) FROM public.orders');
    await db.query('SELECT pg_catalog.count(*) FROM public.orders_zdm_shadow');
    const countsMs = Math.round(performance.now() - t0);
    await applyPhase(db.client, made.plan, { phase: 'contract', allowHazards: [...allow], onEvent });
    const copyMs = durations.get('backfill.1')!;
    const verifyMs = durations.get('backfill.2')!;
    const reverifyMs = durations.get('contract.1')!;
    const swapMs = durations.get('contract.2')!;
    console.log(
      `partition swap, PostgreSQL ${db.major}, ${ROWS} rows: copy ${copyMs} ms (${Math.round(ROWS / (copyMs / 1000))} rows/s), ` +
        `verify ${verifyMs} ms (again in contract, no lock: ${reverifyMs} ms), swap transaction (ACCESS EXCLUSIVE held) ${swapMs} ms ` +
        `(counting both tables, which it no longer does, would add ~${countsMs} ms), ` +
        `drop of the retired table ${durations.get('contract.3')} ms`,
    );
    const kind = await db.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass`,
    );
    expect(kind[0]!.relkind).toBe('p');
  }, 900_000);
});
