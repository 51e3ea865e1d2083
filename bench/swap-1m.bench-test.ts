/**
 * Measures the partition swap on 1,000,000 rows: the copy rate against its baseline, one
 * `INSERT … SELECT` of the same rows into an identically partitioned table in the same run, and how
 * long the contract's swap transaction holds its ACCESS EXCLUSIVE lock (from the LOCK TABLE to the
 * COMMIT, which is the step's duration). A measurement printed and written to
 * bench/results/swap.json, not a timed assertion: run with `npm run bench:swap`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApplyEvent, applyPhase } from '../src/apply/index.js';
import { makePlan } from '../src/workflow/plan.js';
import { freshDatabase, type TestDatabase } from '../test/support/db.js';
import { machineFacts, writeResults } from './lib/common.mjs';

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
    // The baseline: the same rows into the same partitioned table, in one statement.
    await db.exec(`
      CREATE TABLE copy_baseline (LIKE orders INCLUDING DEFAULTS, PRIMARY KEY (id, created_at))
        PARTITION BY RANGE (created_at);
      CREATE INDEX ON copy_baseline (customer_id);
      ${parts
        .map((p) => /^ *(\w+): \{ from: \['([^']+)'\], to: \['([^']+)'\] \}$/.exec(p)!)
        .map(
          ([, name, from, to]) =>
            `CREATE TABLE ${name}_b PARTITION OF copy_baseline FOR VALUES FROM ('${from}') TO ('${to}');`,
        )
        .join('\n')}
      CREATE TABLE orders_default_b PARTITION OF copy_baseline DEFAULT;`);
    const b0 = performance.now();
    await db.exec('INSERT INTO copy_baseline SELECT * FROM orders');
    const baselineMs = Math.round(performance.now() - b0);
    await db.exec('DROP TABLE copy_baseline');
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
    // The shadow's non-unique index, built after the copy (backfill.3 on): the baseline's table has
    // it during its INSERT, so the copy is compared with the baseline with it counted in.
    const indexMs = [...durations]
      .filter(([id]) => /^backfill\.(\d+)$/.test(id) && Number(id.slice('backfill.'.length)) > 2)
      .reduce((sum, [, ms]) => sum + ms, 0);
    const reverifyMs = durations.get('contract.1')!;
    const swapMs = durations.get('contract.2')!;
    console.log(
      `partition swap, PostgreSQL ${db.major}, ${ROWS} rows: copy ${copyMs} ms (${Math.round(ROWS / (copyMs / 1000))} rows/s), ` +
        `index built after the copy ${indexMs} ms, verify ${verifyMs} ms (again in contract, no lock: ${reverifyMs} ms), swap transaction (ACCESS EXCLUSIVE held) ${swapMs} ms ` +
        `(counting both tables, which it no longer does, would add ~${countsMs} ms), ` +
        `drop of the retired table ${durations.get('contract.3')} ms`,
    );
    console.log(
      `baseline INSERT … SELECT of the same rows: ${baselineMs} ms (${Math.round(ROWS / (baselineMs / 1000))} rows/s); ` +
        `copy (+ index after it) / baseline rate: ${(baselineMs / (copyMs + indexMs)).toFixed(2)}×`,
    );
    writeResults('swap', {
      benchmark: 'swap',
      command: 'npm run bench:swap',
      date: new Date().toISOString(),
      machine: await machineFacts(db.url),
      rows: ROWS,
      batchSize: 5000,
      pauseMs: 0,
      copy: { ms: copyMs, rowsPerSecond: Math.round(ROWS / (copyMs / 1000)) },
      baselineInsertSelect: { ms: baselineMs, rowsPerSecond: Math.round(ROWS / (baselineMs / 1000)) },
      indexAfterCopyMs: indexMs,
      copyRateRatio: Math.round((baselineMs / (copyMs + indexMs)) * 100) / 100,
      verifyMs,
      reverifyMs,
      swapAccessExclusiveMs: swapMs,
      dropRetiredTableMs: durations.get('contract.3') ?? null,
    });
    const kind = await db.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass`,
    );
    expect(kind[0]!.relkind).toBe('p');
  }, 900_000);
});
