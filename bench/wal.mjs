#!/usr/bin/env node
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
// npm run bench:wal [-- --rows 1000000] [-- --only rename,bigint,bigint-swap,swap] [-- --pg 18 | --database-url URL]
//                   [-- --dist PATH] [-- --label after]
//
// What the copy path costs a large table (issue 17): WAL written and the table's size, for the
// three techniques that copy data, each planned by the real planner from a desired-state file
// (makePlan, as `zdm plan`) and applied expand → backfill → contract (applyPhase, as `zdm apply`,
// default settings):
//   - rename: users (id bigint PK, name text with an index, email text, created_at) with `name`
//     renamed to `display_name` (the index follows the column);
//   - bigint: accounts (id bigint PK, amount integer with an index, note text), amount → bigint;
//   - bigint-swap: the same, planned with `options: { typeChanges: swap }` (a new table, copied);
//   - swap: orders (id bigint PK, customer_id with an index, amount, created_at) → partitioned by
//     quarter of created_at (partition swap).
// Each table is built with --rows rows and VACUUM (FREEZE, ANALYZE)d, autovacuum off in the
// embedded server (so that whether autovacuum happens to pass during the run does not decide the
// result: the figures are what zdm itself does; with --database-url, the server's own setting, shown
// with the results), then a CHECKPOINT (so every phase starts with no page already logged
// since the last checkpoint: the full-page images the phases cause are counted, as a checkpoint
// during a real migration would). Measured from pg_current_wal_lsn() before expand and after
// contract (full-page images included: full_page_writes is turned on in the embedded server), and
// the table's heap and total size (sum over its partitions, indexes and TOAST included) before,
// after backfill (the peak) and after contract.
//
// --vacuum-every and --max-wal-rate are zdm apply's. --dist PATH loads zdm from another build (e.g. main's, to measure "before"): the same tables,
// the same server, another engine. Writes bench/results/wal[-<label>].json.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  connectTo,
  dropDatabase,
  fmtInt,
  fmtRatio,
  freshDatabase,
  machineFacts,
  parseFlags,
  printTable,
  root,
  round,
  startServer,
  writeResults,
} from './lib/common.mjs';

const flags = parseFlags({
  rows: { type: 'number', default: 1_000_000, help: 'rows in each table' },
  only: { type: 'string', default: 'rename,bigint,bigint-swap,swap', help: 'scenarios to run, comma-separated' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL: the bench creates its own database)' },
  dist: { type: 'string', default: path.join(root, 'dist'), help: 'the zdm build to measure (e.g. main’s dist)' },
  label: { type: 'string', default: '', help: 'names the results file: bench/results/wal-<label>.json' },
  'vacuum-every': { type: 'string', help: 'as zdm apply --vacuum-every (default: zdm’s, 10%)' },
  'max-wal-rate': { type: 'string', help: 'as zdm apply --max-wal-rate (default: zdm’s, none)' },
  'wal-stats': {
    type: 'boolean',
    help: 'also break the WAL down by record type (pg_walinspect, PostgreSQL 16+; keeps the segments with wal_keep_size)',
  },
});

const dist = path.resolve(flags.dist);
const load = (m) => import(pathToFileURL(path.join(dist, m)).href);
const [{ applyPhase }, { makePlan }] = await Promise.all([load('apply/index.js'), load('workflow/plan.js')]);

const { parseRate, parseShare } = await import('../dist/cli/flags.js');
const engineOptions = {
  ...(flags['vacuum-every'] !== undefined ? { vacuumEvery: parseShare(flags['vacuum-every'], '--vacuum-every') } : {}),
  ...(flags['max-wal-rate'] !== undefined ? { maxWalRate: parseRate(flags['max-wal-rate'], '--max-wal-rate') } : {}),
};

/** The bench's database (set in main): the second session of an apply connects to it. */
let databaseUrl;

const MB = 1024 * 1024;
const SCENARIOS = {
  rename: {
    table: 'users',
    setup: [
      'CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
      `INSERT INTO users (id, name, email) SELECT g, 'user ' || g || ' ' || md5(g::text), 'u' || g || '@example.com'
         FROM pg_catalog.generate_series(1, $1::int8) AS g`,
      'CREATE INDEX users_name_idx ON users (name)',
    ],
    desired: `version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: text, nullable: false, renamedFrom: name }
          email: { type: text, nullable: false }
          created_at: { type: timestamptz, nullable: false, default: now() }
        primaryKey: { name: users_pkey, columns: [id] }
        indexes:
          users_name_idx: { columns: [display_name] }
`,
  },
  bigint: {
    table: 'accounts',
    setup: [
      'CREATE TABLE accounts (id bigint PRIMARY KEY, amount integer NOT NULL, note text NOT NULL)',
      `INSERT INTO accounts (id, amount, note) SELECT g, (g * 7919) % 1000003, 'note ' || md5(g::text)
         FROM pg_catalog.generate_series(1, $1::int8) AS g`,
      'CREATE INDEX accounts_amount_idx ON accounts (amount)',
    ],
    desired: `version: 1
schemas:
  public:
    tables:
      accounts:
        columns:
          id: { type: bigint, nullable: false }
          amount: { type: bigint, nullable: false }
          note: { type: text, nullable: false }
        primaryKey: { name: accounts_pkey, columns: [id] }
        indexes:
          accounts_amount_idx: { columns: [amount] }
`,
  },
  swap: {
    table: 'orders',
    setup: [
      'CREATE TABLE orders (id bigint NOT NULL, customer_id bigint NOT NULL, amount numeric(10,2) NOT NULL, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at))',
      `INSERT INTO orders (id, customer_id, amount, created_at)
         SELECT g, g % 50000, (g % 1000) / 10.0, timestamptz '2026-01-01' + (g % 365) * interval '1 day'
         FROM pg_catalog.generate_series(1, $1::int8) AS g`,
      'CREATE INDEX orders_customer_idx ON orders (customer_id)',
    ],
    desired: `version: 1
schemas:
  public:
    tables:
      orders:
        columns:
          id: { type: bigint, nullable: false }
          customer_id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
          created_at: { type: timestamptz, nullable: false }
        primaryKey: { name: orders_pkey, columns: [id, created_at] }
        indexes:
          orders_customer_idx: { columns: [customer_id] }
        partitionBy: { strategy: range, columns: [created_at] }
        partitions:
          orders_2026q1: { from: ['2026-01-01'], to: ['2026-04-01'] }
          orders_2026q2: { from: ['2026-04-01'], to: ['2026-07-01'] }
          orders_2026q3: { from: ['2026-07-01'], to: ['2026-10-01'] }
          orders_2026q4: { from: ['2026-10-01'], to: ['2027-01-01'] }
          orders_default: { default: true }
`,
  },
};
// The same type change planned as a table swap (`typeChanges: swap`): a new table, copied through COPY.
SCENARIOS['bigint-swap'] = {
  ...SCENARIOS.bigint,
  desired: SCENARIOS.bigint.desired.replace('version: 1\n', 'version: 1\noptions: { typeChanges: swap }\n'),
};

/** Heap and total size of a table, summed over its partitions (a partitioned parent has none of its own). */
async function sizes(c, table) {
  const r = await c.query(
    `SELECT pg_catalog.sum(pg_catalog.pg_relation_size(relid))::int8 AS heap,
            pg_catalog.sum(pg_catalog.pg_total_relation_size(relid))::int8 AS total
       FROM (SELECT relid FROM pg_catalog.pg_partition_tree($1::regclass) UNION SELECT $1::regclass) AS t`,
    [table],
  );
  return { heap: Number(r.rows[0].heap), total: Number(r.rows[0].total) };
}

/** The WAL between two positions by record type (pg_walinspect), largest first. */
async function walStats(c, from, to) {
  // Created after the measured range, in public, which the next scenario drops with its tables.
  await c.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const r = await c.query(
    `SELECT "resource_manager/record_type" AS record, count::int8 AS count, record_size::int8 AS records,
            fpi_size::int8 AS fpis, combined_size::int8 AS bytes
       FROM pg_get_wal_stats($1::pg_lsn, $2::pg_lsn, true) WHERE combined_size > 0 ORDER BY combined_size DESC`,
    [from, to],
  );
  return r.rows.map((x) => ({
    record: x.record,
    count: Number(x.count),
    records: Number(x.records),
    fpis: Number(x.fpis),
    bytes: Number(x.bytes),
  }));
}

async function lsn(c) {
  return (await c.query('SELECT pg_catalog.pg_current_wal_lsn()::text AS l')).rows[0].l;
}

async function walPosition(c) {
  const r = await c.query("SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), '0/0')::text AS b");
  return Number(r.rows[0].b);
}

async function run(c, name, tmp) {
  const s = SCENARIOS[name];
  await c.query('DROP SCHEMA IF EXISTS zdm CASCADE');
  await c.query('DROP SCHEMA public CASCADE');
  await c.query('CREATE SCHEMA public');
  for (const q of s.setup) await c.query(q, q.includes('$1') ? [flags.rows] : []);
  await c.query(`VACUUM (FREEZE, ANALYZE) ${s.table}`);
  const desiredPath = path.join(tmp, `${name}.yaml`);
  writeFileSync(desiredPath, s.desired);
  const made = await makePlan(c, { desiredPath, name });
  const allowHazards = [...new Set(made.plan.phases.flatMap((p) => p.steps.flatMap((x) => x.hazards)))];
  const start = await sizes(c, s.table);
  await c.query('CHECKPOINT');
  const wal0 = await walPosition(c);
  const lsn0 = flags['wal-stats'] ? await lsn(c) : undefined;
  const phases = {};
  let vacuums = 0;
  let peak = start;
  const t0 = performance.now();
  for (const phase of ['expand', 'backfill', 'contract']) {
    const w = await walPosition(c);
    const p0 = performance.now();
    await applyPhase(c, made.plan, {
      ...engineOptions,
      phase,
      allowHazards,
      // A second session, as `zdm apply` has one: the VACUUM rounds run on it beside the batches.
      sideConnection: () => connectTo(databaseUrl, 'zdm bench (second session)'),
      onEvent: (e) => {
        if (e.type === 'vacuum' && e.outcome === 'done') vacuums++;
      },
    });
    phases[phase] = { walBytes: (await walPosition(c)) - w, seconds: round((performance.now() - p0) / 1000) };
    if (phase === 'backfill') {
      // The peak: the live table and, for a swap, its shadow (both exist until contract).
      const r = await c.query(
        `SELECT pg_catalog.sum(pg_catalog.pg_relation_size(c.oid))::int8 AS heap,
                pg_catalog.sum(pg_catalog.pg_total_relation_size(c.oid))::int8 AS total
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'`,
      );
      peak = { heap: Number(r.rows[0].heap), total: Number(r.rows[0].total) };
    }
  }
  const wal = (await walPosition(c)) - wal0;
  const byRecord = lsn0 !== undefined ? await walStats(c, lsn0, await lsn(c)) : undefined;
  const end = await sizes(c, s.table);
  return {
    scenario: name,
    rows: flags.rows,
    start,
    peakAfterBackfill: peak,
    end,
    walBytes: wal,
    phases,
    vacuums,
    seconds: round((performance.now() - t0) / 1000),
    walOverHeap: round(wal / start.heap, 2),
    endOverStartTotal: round(end.total / start.total, 2),
    targets: { walAtMost2_5xHeap: wal / start.heap <= 2.5, endAtMost1_3xTotal: end.total / start.total <= 1.3 },
    ...(byRecord ? { byRecord } : {}),
  };
}

async function main() {
  const server = await startServer({
    databaseUrl: flags['database-url'],
    major: flags.pg,
    // The embedded server turns full-page images off for speed: they are part of what is measured.
    // Autovacuum off: see the head of this file.
    settings: { full_page_writes: 'on', autovacuum: 'off', ...(flags['wal-stats'] ? { wal_keep_size: '4GB' } : {}) },
  });
  const db = 'zdm_bench_wal';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zdm-bench-wal-'));
  try {
    const url = await freshDatabase(server.url, db);
    databaseUrl = url;
    const c = await connectTo(url);
    const results = [];
    let settings;
    try {
      settings = Object.fromEntries(
        (
          await c.query(
            `SELECT name, setting FROM pg_catalog.pg_settings
              WHERE name IN ('full_page_writes', 'wal_compression', 'max_wal_size', 'checkpoint_timeout', 'wal_level', 'autovacuum')`,
          )
        ).rows.map((r) => [r.name, r.setting]),
      );
      for (const name of flags.only.split(',')) {
        if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name} (${Object.keys(SCENARIOS).join(', ')})`);
        const r = await run(c, name, tmp);
        results.push(r);
        console.log(
          `${name}: WAL ${fmtInt(r.walBytes / MB)} MB (${fmtRatio(r.walOverHeap)} the heap), total ${fmtInt(r.start.total / MB)} → ${fmtInt(r.end.total / MB)} MB, ${r.seconds} s`,
        );
        for (const x of (r.byRecord ?? []).slice(0, 12)) {
          console.log(
            `  ${x.record}: ${fmtInt(x.count)} records, ${fmtInt(x.records / MB)} MB + ${fmtInt(x.fpis / MB)} MB of full-page images`,
          );
        }
      }
    } finally {
      await c.end();
    }
    const facts = await machineFacts(url);
    console.log(
      `\nPostgreSQL ${facts.postgres} (${Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}), zdm from ${path.relative(root, dist) || '.'}, ${fmtInt(flags.rows)} rows`,
    );
    printTable(
      [
        'technique',
        'heap before',
        'total before',
        'WAL (expand+backfill+contract)',
        'WAL / heap',
        'total after backfill (peak)',
        'heap after contract',
        'total after contract',
        'after / before (total)',
        'vacuums',
        'time',
      ],
      results.map((r) => [
        r.scenario,
        `${fmtInt(r.start.heap / MB)} MB`,
        `${fmtInt(r.start.total / MB)} MB`,
        `${fmtInt(r.walBytes / MB)} MB`,
        fmtRatio(r.walOverHeap),
        `${fmtInt(r.peakAfterBackfill.total / MB)} MB`,
        `${fmtInt(r.end.heap / MB)} MB`,
        `${fmtInt(r.end.total / MB)} MB`,
        fmtRatio(r.endOverStartTotal),
        String(r.vacuums),
        `${r.seconds} s`,
      ]),
    );
    writeResults(flags.label ? `wal-${flags.label}` : 'wal', {
      benchmark: 'wal',
      command: `npm run bench:wal${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      date: new Date().toISOString(),
      machine: facts,
      settings,
      dist: path.relative(root, dist) || '.',
      options: engineOptions,
      results,
    });
    if (!flags['database-url']) await dropDatabase(server.url, db);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
