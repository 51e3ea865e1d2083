/**
 * plans/ holds the plans of the shop scenarios in examples/shop/scenarios, as `zdm plan` writes them.
 * This test plans every scenario again (against the shop with its sample rows, each scenario applied
 * before the next is planned) and fails when a committed plan is stale. ZDM_UPDATE_EXAMPLES=1
 * rewrites them. The committed plans are made on PostgreSQL 18: on other versions the plan must be
 * the same but for the server named in it (and so its checksum).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { runSqlScript } from '../../src/db/sql-script.js';
import { parsePlan, serializePlan } from '../../src/plan/index.js';
import { PHASES, type Plan } from '../../src/plan/types.js';
import { EXAMPLES_DIR } from '../../src/workflow/demo.js';
import { makePlan } from '../../src/workflow/plan.js';
import { projectRoot } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const PLANS_DIR = path.join(projectRoot, 'plans');
const update = process.env.ZDM_UPDATE_EXAMPLES === '1';

function comparable(p: Plan): unknown {
  return { ...p, source: { ...p.source, server: '(server)' }, checksum: '(checksum)' };
}

/**
 * The example sets: each starts from its own before.sql + seed.sql in a fresh database; its plans
 * are timed at 12:<minute>:<scenario index> so that ids never collide between sets.
 */
const SETS = [
  { name: 'shop', dir: EXAMPLES_DIR, minute: 0, min: 5 },
  // integer → bigint of a primary key referenced by a foreign key (not in the shop: its keys are bigint).
  { name: 'ledger', dir: path.join(projectRoot, 'examples', 'ledger'), minute: 1, min: 1 },
  // the seed's orders → quarterly range partitions (partition swap), from the shop's starting point.
  { name: 'orders-partition', dir: path.join(projectRoot, 'examples', 'orders-partition'), minute: 2, min: 1 },
];

describe.each(SETS)('example plans in plans/: $name', ({ name, dir, minute, min }) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase(`example_plans_${name}`);
    for (const f of ['before.sql', 'seed.sql']) {
      const r = await runSqlScript(db.client, await readFile(path.join(dir, f), 'utf8'));
      expect(r.errors).toEqual([]);
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it(`are what zdm plan writes for examples/${name}/scenarios today`, async () => {
    const scenarios = (await readdir(path.join(dir, 'scenarios'))).filter((f) => f.endsWith('.yaml')).sort();
    expect(scenarios.length).toBeGreaterThanOrEqual(min);
    for (const [i, f] of scenarios.entries()) {
      const made = await makePlan(db.client, {
        desiredPath: path.join(dir, 'scenarios', f),
        name: f.replace(/\.yaml$/, '').replace(/^\d+-/, ''),
        now: new Date(Date.UTC(2026, 10, 25, 12, minute, i)),
      });
      const file = path.join(PLANS_DIR, `${made.plan.id}.plan.yaml`);
      const text = serializePlan(made.plan, { schemaRef: '../schemas/plan.schema.json' });
      if (update && db.major === 18) await writeFile(file, text);
      const committed = await readFile(file, 'utf8').catch(() => '');
      expect(
        committed,
        `${path.relative(projectRoot, file)} is missing or stale: run ZDM_UPDATE_EXAMPLES=1 npx vitest run test/integration/example-plans.test.ts`,
      ).not.toBe('');
      if (db.major === 18) expect(text).toBe(committed);
      else expect(comparable(made.plan)).toEqual(comparable(parsePlan(committed, file)));
      // The committed plan is the one applied, so the next scenario starts where this one ends.
      const plan = parsePlan(committed, file);
      for (const phase of PHASES) {
        await applyPhase(db.client, plan, {
          phase,
          pauseMs: 0,
          allowHazards: ['fires-user-triggers', 'long-running', 'data-loss'],
        });
      }
      const again = await makePlan(db.client, { desiredPath: path.join(dir, 'scenarios', f) });
      expect(again.empty).toBe(true);
    }
  });
});

it('plans/ holds exactly the plans of the example sets', async () => {
  let expected = 0;
  for (const set of SETS) {
    expected += (await readdir(path.join(set.dir, 'scenarios'))).filter((f) => f.endsWith('.yaml')).length;
  }
  const files = (await readdir(PLANS_DIR)).filter((f) => f.endsWith('.plan.yaml'));
  expect(files.length).toBe(expected);
});
