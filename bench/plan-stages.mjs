#!/usr/bin/env node
// node bench/plan-stages.mjs [--tables 1000] [--pg 18 | --database-url URL]   (after npm run build)
//
// Where the time of `zdm plan` goes, in process, on a generated schema of --tables tables (the same
// schema as bench/introspect.mjs): each stage of makePlan (src/workflow/plan.ts) timed on its own,
// with the desired state equal to the live schema (a no-op plan). A diagnostic for whoever makes
// planning faster; not part of `npm run bench`. Prints a table; writes nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planStatus } from '../dist/apply/index.js';
import { runSqlScript } from '../dist/db/sql-script.js';
import { loadDesiredState } from '../dist/desired/index.js';
import { writeDesiredState } from '../dist/desired/write.js';
import { diffModels } from '../dist/diff/index.js';
import { introspect } from '../dist/introspect/index.js';
import { emptyTables } from '../dist/introspect/rows.js';
import { withoutJournal } from '../dist/model/objects.js';
import { planChanges } from '../dist/plan/index.js';
import { normalizeDesired } from '../dist/workflow/normalize.js';
import { changedTables } from '../dist/workflow/plan.js';
import { connectTo, dropDatabase, fmtMs, freshDatabase, parseFlags, printTable, startServer } from './lib/common.mjs';
import { generatedScripts } from './lib/generated.mjs';

const flags = parseFlags({
  tables: { type: 'number', default: 1000, help: 'generated tables' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL)' },
});

const server = await startServer({
  databaseUrl: flags['database-url'],
  major: flags.pg,
  settings: { max_locks_per_transaction: '512' },
});
const tmp = mkdtempSync(path.join(os.tmpdir(), 'zdm-bench-stages-'));
const db = 'zdm_bench_stages';
try {
  const url = await freshDatabase(server.url, db);
  const c = await connectTo(url);
  for (const script of generatedScripts(flags.tables)) await runSqlScript(c, script);
  const file = path.join(tmp, 'desired.yaml');
  writeFileSync(file, writeDesiredState(withoutJournal(await introspect(c)), { schemaPath: '' }));

  const stages = [];
  const time = async (name, f) => {
    const t0 = performance.now();
    const v = await f();
    stages.push([name, performance.now() - t0]);
    return v;
  };
  const { model: written } = await time('load + validate the YAML', () => loadDesiredState(file));
  await time('planStatus (journal)', () => planStatus(c));
  const live = await time('introspect', async () => withoutJournal(await introspect(c)));
  const desired = await time('normalizeDesired (server round trip)', () => normalizeDesired(c, written, live));
  await time('diffModels', () => diffModels(live, desired));
  const empty = await time('emptyTables (of the tables that change)', () =>
    emptyTables(c, changedTables(live, desired)),
  );
  await time('planChanges', () =>
    planChanges(live, desired, {
      id: '20260101T000000Z-stages',
      createdAt: '2026-01-01T00:00:00Z',
      zdmVersion: '0.1.0',
      desiredSha256: 'sha256:0',
      serverVersion: 'PostgreSQL',
      rowCounts: Object.fromEntries([...empty].map((t) => [t, 0])),
    }),
  );
  await time('writeDesiredState × 2 (for the diff; not by plan --check of a match)', () => {
    writeDesiredState(live, { schemaPath: '' });
    writeDesiredState(desired, { schemaPath: '' });
  });
  await c.end();
  const total = stages.reduce((a, [, ms]) => a + ms, 0);
  console.log(`\nzdm plan (no-op) of ${flags.tables} generated tables, in process, by stage`);
  printTable(
    ['stage', 'time', 'share'],
    stages.map(([n, ms]) => [n, fmtMs(ms), `${((100 * ms) / total).toFixed(0)}%`]),
  );
  if (!flags['database-url']) await dropDatabase(server.url, db);
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await server.stop();
}
