#!/usr/bin/env node
// node bench/rehearsal.mjs [--runs 5] [--pg 18 | --database-url URL] [--scratch embedded|same]   (after npm run build)
//
// What rehearsal (src/workflow/rehearse.ts) adds to `zdm plan` on the shop example: the shop
// (examples/shop/before.sql + seed.sql) in a fresh database, each scenario of examples/shop/scenarios
// planned against it (none applied), in process, --runs times with rehearsal and as many without,
// alternated; the median of each and their difference. The scratch database is, as for a user, an
// embedded PostgreSQL of the same major version that zdm starts on its cached cluster (`--scratch
// embedded`, the default; one warm-up run first so that initdb is not counted), or a database
// created on the live server itself (`--scratch same`, as `--scratch-url` would). Writes
// bench/results/rehearsal.json.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runSqlScript } from '../dist/db/sql-script.js';
import { makePlan } from '../dist/workflow/plan.js';
import {
  connectTo,
  dropDatabase,
  fmtMs,
  freshDatabase,
  machineFacts,
  median,
  parseFlags,
  printTable,
  root,
  round,
  startServer,
  writeResults,
} from './lib/common.mjs';

const flags = parseFlags({
  runs: { type: 'number', default: 5, help: 'plans per scenario with rehearsal, and as many without' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL)' },
  scratch: { type: 'string', default: 'embedded', help: 'embedded (zdm starts one) or same (the live server)' },
});
if (!['embedded', 'same'].includes(flags.scratch)) throw new Error('--scratch: embedded or same');

const shop = path.join(root, 'examples', 'shop');
const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
const db = 'zdm_bench_rehearsal';
try {
  const url = await freshDatabase(server.url, db);
  const c = await connectTo(url);
  for (const f of ['before.sql', 'seed.sql']) {
    const r = await runSqlScript(c, readFileSync(path.join(shop, f), 'utf8'));
    if (r.errors.length > 0) throw new Error(`${f}: ${r.errors[0].message}`);
  }
  const scratch = flags.scratch === 'same' ? { scratchUrl: server.url } : {};
  const scenarios = readdirSync(path.join(shop, 'scenarios'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const plan = async (f, rehearse) => {
    const t0 = performance.now();
    const made = await makePlan(c, { desiredPath: path.join(shop, 'scenarios', f), rehearse, ...scratch });
    return { ms: performance.now() - t0, made };
  };
  await plan(scenarios[0], true); // warm-up: the embedded scratch cluster's initdb, module loading
  const rows = [];
  const results = [];
  for (const f of scenarios) {
    const off = [];
    const on = [];
    let steps = 0;
    let rehearsalMs = [];
    for (let i = 0; i < flags.runs; i++) {
      off.push((await plan(f, false)).ms);
      const r = await plan(f, true);
      on.push(r.ms);
      steps = r.made.plan.phases.reduce((n, p) => n + p.steps.length, 0);
      rehearsalMs = [...rehearsalMs, r.made.plan.rehearsal?.durationMs ?? 0];
    }
    const added = median(on) - median(off);
    rows.push([f, String(steps), fmtMs(median(off)), fmtMs(median(on)), fmtMs(added), fmtMs(median(rehearsalMs))]);
    results.push({
      scenario: f,
      steps,
      planMs: round(median(off)),
      rehearsedPlanMs: round(median(on)),
      addedMs: round(added),
      rehearsalSectionMs: median(rehearsalMs),
    });
  }
  await c.end();
  console.log(
    `\nzdm plan on the shop example, with and without rehearsal (scratch: ${flags.scratch}), median of ${flags.runs}`,
  );
  printTable(['scenario', 'steps', 'plan', 'plan + rehearsal', 'added', 'rehearsal (its own clock)'], rows);
  writeResults('rehearsal', {
    machine: await machineFacts(server.url),
    scratch: flags.scratch,
    runs: flags.runs,
    results,
  });
  if (!flags['database-url']) await dropDatabase(server.url, db);
} finally {
  await server.stop();
}
