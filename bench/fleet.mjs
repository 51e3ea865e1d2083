#!/usr/bin/env node
// npm run bench:fleet [-- --databases 50] [-- --rows 10000] [-- --concurrency 1,4,8]
//                     [-- --pg 18 | --database-url URL]
//
// Wall time of a fleet apply. --databases databases on one server, each a users table of --rows rows
// (bigint primary key, a varchar name), the same rename planned once (users.name → display_name:
// expand adds the column and its sync trigger, backfill copies every row in batches, contract drops
// the old column), then applied phase by phase to every database through the fleet engine
// (`applyFleet`, as `zdm apply --targets` runs it, at zdm apply's defaults: batches of 5000, a pause
// of a quarter of each batch) at each --concurrency. The databases are created again before each
// concurrency. Reported: the wall time of each phase and of the three, and the speed-up over
// concurrency 1. Writes bench/results/fleet.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyFleet } from '../dist/fleet/run.js';
import { makePlan } from '../dist/workflow/plan.js';
import {
  connectTo,
  dropDatabase,
  fmtRatio,
  freshDatabase,
  machineFacts,
  parseFlags,
  printTable,
  round,
  sql,
  startServer,
  writeResults,
} from './lib/common.mjs';

const flags = parseFlags({
  databases: { type: 'number', default: 50, help: 'databases in the fleet' },
  rows: { type: 'number', default: 10_000, help: 'rows of each database' },
  concurrency: { type: 'string', default: '1,4,8', help: 'the --concurrency values to measure' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL: the bench creates its own databases)' },
});

const DESIRED = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: varchar(200), nullable: false, renamedFrom: name }
        primaryKey: { columns: [id] }
`;

const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
const dir = mkdtempSync(path.join(tmpdir(), 'zdm-bench-fleet-'));
const desiredPath = path.join(dir, 'schema.yaml');
writeFileSync(desiredPath, DESIRED);
const names = Array.from({ length: flags.databases }, (_, i) => `zdm_bench_fleet_${String(i + 1).padStart(3, '0')}`);

async function makeFleet() {
  const urls = [];
  for (const name of names) {
    const url = await freshDatabase(server.url, name);
    await sql(
      url,
      `CREATE TABLE public.users (id bigint PRIMARY KEY, name varchar(200) NOT NULL);
       INSERT INTO public.users SELECT g, 'user ' || g FROM generate_series(1, ${flags.rows}) g;`,
    );
    await sql(url, 'VACUUM ANALYZE public.users');
    urls.push(url);
  }
  return urls.map((url, i) => ({ name: names[i], groups: [], url, from: { url: true }, at: `bench:${i + 1}` }));
}

const results = [];
try {
  const facts = await machineFacts(server.url);
  for (const concurrency of flags.concurrency.split(',').map(Number)) {
    const targets = await makeFleet();
    const c = await connectTo(targets[0].url);
    const { plan } = await makePlan(c, {
      desiredPath,
      name: 'users-display-name',
      now: new Date(Date.UTC(2026, 11, 6)),
    });
    await c.end();
    const phases = {};
    for (const phase of ['expand', 'backfill', 'contract']) {
      const t0 = performance.now();
      const r = await applyFleet(plan, { phase, targets, concurrency, apply: {} });
      phases[phase] = performance.now() - t0;
      const bad = r.targets.filter((t) => t.outcome.status !== 'applied');
      if (bad.length) throw new Error(`${phase} at concurrency ${concurrency}: ${JSON.stringify(bad.slice(0, 3))}`);
    }
    const total = phases.expand + phases.backfill + phases.contract;
    results.push({ concurrency, ...phases, total });
    console.log(`concurrency ${concurrency}: ${(total / 1000).toFixed(1)} s`);
  }
  const base = results[0].total;
  console.log(
    `\n${flags.databases} databases of ${flags.rows.toLocaleString('en-US')} rows, PostgreSQL ${facts.postgres}`,
  );
  printTable(
    ['concurrency', 'expand', 'backfill', 'contract', 'total', 'speed-up'],
    results.map((r) => [
      r.concurrency,
      `${(r.expand / 1000).toFixed(1)} s`,
      `${(r.backfill / 1000).toFixed(1)} s`,
      `${(r.contract / 1000).toFixed(1)} s`,
      `${(r.total / 1000).toFixed(1)} s`,
      fmtRatio(base / r.total),
    ]),
  );
  writeResults('fleet', {
    machine: facts,
    databases: flags.databases,
    rows: flags.rows,
    results: results.map((r) => ({
      concurrency: r.concurrency,
      expandMs: round(r.expand, 0),
      backfillMs: round(r.backfill, 0),
      contractMs: round(r.contract, 0),
      totalMs: round(r.total, 0),
    })),
  });
} finally {
  for (const name of names) await dropDatabase(server.url, name).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  await server.stop();
}
