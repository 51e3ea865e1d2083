import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

describe('rehearsal', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rehearsal');
    await db.exec(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric NOT NULL, note text);
      CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
      INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g;`);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rehearsal-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  it('works', async () => {
    const f = path.join(dir, 's.yaml');
    await writeFile(f, `version: 1
schemas:
  public:
    tables:
      orders:
        columns:
          id: { type: bigint, nullable: false }
          amount: { type: numeric, nullable: false }
          note: { type: text }
          status: { type: text, default: "'new'::text" }
        primaryKey: { columns: [id] }
        checks:
          amount_positive: { expression: "amount > 0" }
        indexes:
          orders_amount_idx: { columns: [amount] }
    views:
      big_orders:
        definition: SELECT id, amount FROM orders WHERE amount > 100
`);
    const t0 = performance.now();
    const made = await makePlan(db.client, { desiredPath: f, scratchUrl: adminUrl(), rehearse: true });
    console.log(performance.now() - t0, JSON.stringify(made.plan.rehearsal, null, 1));
    for (const p of made.plan.phases) for (const s of p.steps) console.log(s.id, s.kind, s.kind === 'sql' && s.transaction, JSON.stringify(s.locks), s.sql.join(';'));
  }, 60000);
});
