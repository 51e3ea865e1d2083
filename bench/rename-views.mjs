#!/usr/bin/env node
// npm run bench:rename-views [-- --rows 1000000] [-- --pg 18 | --database-url URL]
//
// What a column rename costs a large table, by path (issue 17): `users` (bigint primary key, a
// text column with an index, another text column) of --rows rows, built afresh (VACUUM ANALYZE,
// CHECKPOINT) for each path, and `name` renamed to `display_name` through zdm's expand → backfill
// → contract, planned by the real planner and applied by the apply engine (default settings):
//   - copy:  `zdm plan` (a second column kept in sync by a trigger, backfilled, swapped in);
//   - views: `zdm plan --renames views` (renamed in place; each application version on a version
//            schema of views).
// Measured: WAL written by the three phases (pg_current_wal_lsn before and after, the server
// otherwise idle), the table's heap and total size (with indexes and TOAST) before and after, and
// the time. Target (issue 17): the view path writes under 1 MB of WAL for a rename of any size.
// Writes bench/results/rename-views.json.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyPhase } from '../dist/apply/index.js';
import { makePlan } from '../dist/workflow/plan.js';
import {
  connectTo,
  dropDatabase,
  fmtInt,
  fmtMs,
  freshDatabase,
  machineFacts,
  parseFlags,
  printTable,
  round,
  startServer,
  writeResults,
} from './lib/common.mjs';

const flags = parseFlags({
  rows: { type: 'number', default: 1_000_000, help: 'rows in the table' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL: the bench creates its own database)' },
});

const DESIRED = `version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: text, nullable: false, renamedFrom: name }
          email: { type: text }
        primaryKey: { columns: [id] }
        indexes:
          users_name_idx: { columns: [display_name] }
`;

const MB = 1024 * 1024;

async function measure(c, dir, renames) {
  await c.query('DROP TABLE IF EXISTS public.users');
  await c.query('CREATE TABLE public.users (id bigint PRIMARY KEY, name text NOT NULL, email text)');
  await c.query(
    `INSERT INTO public.users SELECT g, 'user number ' || g, 'u' || g || '@example.com' FROM generate_series(1, ${flags.rows}) g`,
  );
  await c.query('CREATE INDEX users_name_idx ON public.users (name)');
  await c.query('VACUUM ANALYZE public.users');
  await c.query('CHECKPOINT');
  const sizes = async () =>
    (
      await c.query(
        `SELECT pg_relation_size('public.users')::float8 AS heap, pg_total_relation_size('public.users')::float8 AS total`,
      )
    ).rows[0];
  const before = await sizes();
  const file = path.join(dir, `${renames}.yaml`);
  await writeFile(file, DESIRED);
  const { plan } = await makePlan(c, { desiredPath: file, name: `rename-${renames}`, renames, preflight: false });
  const lsn0 = (await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l;
  const t0 = performance.now();
  for (const phase of ['expand', 'backfill', 'contract']) {
    await applyPhase(c, plan, { phase, allowHazards: ['app-compat', 'long-running', 'data-loss'] });
  }
  const ms = performance.now() - t0;
  const wal = Number(
    (await c.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS b`, [lsn0])).rows[0].b,
  );
  const after = await sizes();
  return { renames, wal, before, after, ms };
}

async function main() {
  const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
  const db = 'zdm_bench_rename_views';
  const dir = await mkdtemp(path.join(tmpdir(), 'zdm-bench-rename-'));
  try {
    const url = await freshDatabase(server.url, db);
    const c = await connectTo(url);
    const results = [];
    try {
      for (const renames of ['copy', 'views']) {
        const r = await measure(c, dir, renames);
        console.log(`${renames}: WAL ${fmtInt(r.wal)} bytes in ${fmtMs(r.ms)}`);
        results.push(r);
      }
    } finally {
      await c.end();
    }
    const facts = await machineFacts(url);
    const mb = (x) => `${(x / MB).toFixed(x < MB ? 3 : 1)} MB`;
    printTable(
      ['path', 'WAL', 'WAL / heap', 'heap before → after', 'total before → after', 'time'],
      results.map((r) => [
        r.renames,
        mb(r.wal),
        `${(r.wal / r.before.heap).toFixed(3)}×`,
        `${mb(r.before.heap)} → ${mb(r.after.heap)}`,
        `${mb(r.before.total)} → ${mb(r.after.total)}`,
        fmtMs(r.ms),
      ]),
    );
    const views = results.find((r) => r.renames === 'views');
    writeResults('rename-views', {
      rows: flags.rows,
      machine: facts,
      results: results.map((r) => ({
        path: r.renames,
        walBytes: r.wal,
        walPerHeap: round(r.wal / r.before.heap, 3),
        heapBytes: { before: r.before.heap, after: r.after.heap },
        totalBytes: { before: r.before.total, after: r.after.total },
        ms: round(r.ms),
      })),
      targets: { viewsWalUnder1MB: views.wal < MB },
    });
    await dropDatabase(server.url, db);
    if (views.wal >= MB) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
