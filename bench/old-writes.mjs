#!/usr/bin/env node
import { createOldWritesSql, oldWritesTracking } from '../dist/sql/old-writes.js';
// npm run bench:old-writes [-- --rows 10000] [-- --updates 2000] [-- --rounds 5] [-- --connections 4]
//                          [-- --pg 18 | --database-url URL]
//
// The cost of the contract gate's write tracking (src/sql/old-writes.ts) on the sync trigger of a
// rename. A table of --rows rows (bigint primary key, `name text`, its new column `display_name`),
// with, in turn:
//   - none: no trigger (for scale);
//   - sync: the sync trigger as zdm made it before the gate (createSyncTriggerSql without tracking);
//   - sync + tracking: the same trigger telling the tracking of every old-version write (what a
//     rename's expand installs now).
// The workload is what the tracking is on the path of: single-row `UPDATE t SET name = $2 WHERE id
// = $1` (only the old column changes: an old-version write), auto-committed, by id at random.
// --rounds rounds, the variants in turn within each round (so that drift of the machine hits them
// alike), --updates statements per variant and round:
//   - one connection: latency of each statement (median, p99) and throughput;
//   - --connections connections at once: throughput (writers contending on the tracking's sequence);
//   - in the server: one DO block of --updates updates per variant, µs per UPDATE without the
//     network and the commit (the trigger's own cost shows best here);
//   - the tracking function alone, 20,000 calls in a DO block as the trigger makes them (an
//     assignment), against an empty PL/pgSQL function:
//     what one old-version write adds, without the table's noise.
// The table is vacuumed before each variant's turn.
// Writes bench/results/old-writes.json.
import { castExpression, createSyncTriggerSql, dropTriggerSql } from '../dist/sql/triggers.js';
import {
  connectTo,
  dropDatabase,
  fmtInt,
  fmtRatio,
  freshDatabase,
  machineFacts,
  median,
  parseFlags,
  percentile,
  printTable,
  round,
  startServer,
  writeResults,
} from './lib/common.mjs';

const flags = parseFlags({
  rows: { type: 'number', default: 10_000, help: 'Rows in the table' },
  updates: { type: 'number', default: 2000, help: 'UPDATEs per variant and round' },
  rounds: { type: 'number', default: 5, help: 'Rounds (each runs every variant once, in turn)' },
  connections: { type: 'number', default: 4, help: 'Connections of the concurrent measurement' },
  pg: { type: 'number', default: 18, help: 'Embedded PostgreSQL major version' },
  'database-url': { type: 'string', help: 'Admin URL of a server to use instead of an embedded one' },
});

const table = { schema: 'public', name: 't' };
const tracking = oldWritesTracking('bench_t_display_name_old_writes', 'public.t.name');
const spec = (name, oldWrites) => ({
  schema: 'public',
  table: 't',
  oldColumn: 'name',
  newColumn: 'display_name',
  name,
  conv: castExpression('name'),
  rev: castExpression('display_name'),
  ...(oldWrites ? { oldWrites } : {}),
});
const VARIANTS = [
  { name: 'none', trigger: undefined },
  { name: 'sync', trigger: 't_plain_zdm_sync' },
  { name: 'sync + tracking', trigger: 't_tracked_zdm_sync' },
];

const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
const dbName = 'zdm_bench_old_writes';
try {
  const url = await freshDatabase(server.url, dbName);
  const c = await connectTo(url);
  await c.query(`CREATE TABLE t (id bigint PRIMARY KEY, name text, display_name text)`);
  await c.query(`INSERT INTO t SELECT g, 'v' || g, 'v' || g FROM generate_series(1, $1) g`, [flags.rows]);
  await c.query('VACUUM ANALYZE t');
  // Both functions exist throughout; the variant decides which trigger is on the table.
  const plain = createSyncTriggerSql(spec('t_plain_zdm_sync'));
  const tracked = createSyncTriggerSql(spec('t_tracked_zdm_sync', tracking));
  for (const s of [...createOldWritesSql(tracking), ...plain.slice(0, 2), ...tracked.slice(0, 2)]) await c.query(s);
  const createTrigger = { t_plain_zdm_sync: plain[2], t_tracked_zdm_sync: tracked[2] };
  let current;
  async function use(variant) {
    if (current) await c.query(dropTriggerSql(current, table));
    current = variant.trigger;
    if (current) await c.query(createTrigger[current]);
  }

  let n = 0;
  const next = () => {
    n++;
    return [1 + Math.floor(Math.random() * flags.rows), `w${n}`];
  };
  async function serial(client) {
    const lat = [];
    const t0 = performance.now();
    for (let i = 0; i < flags.updates; i++) {
      const s = performance.now();
      await client.query('UPDATE t SET name = $2 WHERE id = $1', next());
      lat.push(performance.now() - s);
    }
    return { lat, ms: performance.now() - t0 };
  }
  const clients = [];
  for (let i = 0; i < flags.connections; i++) clients.push(await connectTo(url, `zdm bench writer ${i}`));
  async function concurrent() {
    const per = Math.ceil(flags.updates / flags.connections);
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < per; i++) await client.query('UPDATE t SET name = $2 WHERE id = $1', next());
      }),
    );
    return { count: per * flags.connections, ms: performance.now() - t0 };
  }
  async function inServer() {
    const r = await c.query(
      `DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
         FOR i IN 1..${Number(flags.updates)} LOOP
           UPDATE t SET name = 's' || i WHERE id = 1 + (i * 7919) % ${Number(flags.rows)};
         END LOOP;
         PERFORM set_config('zdm_bench.us', (extract(epoch FROM clock_timestamp() - t0) * 1e6 / ${Number(flags.updates)})::text, false);
       END $$; SELECT current_setting('zdm_bench.us') AS us`,
    );
    const rows = Array.isArray(r) ? r[r.length - 1].rows : r.rows;
    return Number(rows[0].us);
  }

  // The tracking function alone, called in a loop in the server as the trigger calls it (an
  // assignment), against the same loop calling an empty PL/pgSQL function: what one old-version
  // write adds, without the table's noise.
  await c.query(`CREATE FUNCTION zdm_bench_noop() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN false; END $$`);
  async function callLoop(fn) {
    const r = await c.query(
      `DO $$ DECLARE t0 timestamptz := clock_timestamp(); zdm_noted boolean; BEGIN
         FOR i IN 1..20000 LOOP zdm_noted := ${fn}(); END LOOP;
         PERFORM set_config('zdm_bench.us', (extract(epoch FROM clock_timestamp() - t0) * 1e6 / 20000)::text, false);
       END $$; SELECT current_setting('zdm_bench.us') AS us`,
    );
    return Number(r[r.length - 1].rows[0].us);
  }
  const calls = { noop: [], tracking: [] };

  const results = Object.fromEntries(VARIANTS.map((v) => [v.name, { lat: [], ms: 0, cc: 0, ccMs: 0, server: [] }]));
  // Warm-up: every variant once, not counted.
  for (const v of VARIANTS) {
    await use(v);
    await serial(c);
  }
  for (let round_ = 0; round_ < flags.rounds; round_++) {
    const order = round_ % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    calls.noop.push(await callLoop('zdm_bench_noop'));
    calls.tracking.push(await callLoop(`${tracking.schema}.${tracking.name}`));
    for (const v of order) {
      await c.query('VACUUM t');
      await use(v);
      const s = await serial(c);
      const r = results[v.name];
      r.lat.push(...s.lat);
      r.ms += s.ms;
      const k = await concurrent();
      r.cc += k.count;
      r.ccMs += k.ms;
      r.server.push(await inServer());
    }
    console.log(`round ${round_ + 1}/${flags.rounds} done`);
  }
  const last = await c.query(`SELECT last_value, is_called FROM ${tracking.schema}.${tracking.name}`);
  for (const client of clients) await client.end();
  await c.end();

  const summary = VARIANTS.map((v) => {
    const r = results[v.name];
    return {
      variant: v.name,
      medianMs: round(median(r.lat), 3),
      p99Ms: round(percentile(r.lat, 99), 3),
      perSecond: round((r.lat.length / r.ms) * 1000, 0),
      concurrentPerSecond: round((r.cc / r.ccMs) * 1000, 0),
      serverUsPerUpdate: round(median(r.server), 1),
    };
  });
  const byName = Object.fromEntries(summary.map((s) => [s.variant, s]));
  const t = byName['sync + tracking'];
  const s = byName.sync;
  console.log(
    `\n${flags.rounds} rounds × ${fmtInt(flags.updates)} single-row UPDATEs of the old column per variant, ${fmtInt(flags.rows)} rows; ` +
      `concurrent: ${flags.connections} connections\n`,
  );
  printTable(
    [
      'variant',
      'median',
      'p99',
      'UPDATEs/s (1 connection)',
      `UPDATEs/s (${flags.connections} connections)`,
      'in the server, µs per UPDATE',
    ],
    summary.map((x) => [
      x.variant,
      `${x.medianMs.toFixed(3)} ms`,
      `${x.p99Ms.toFixed(3)} ms`,
      fmtInt(x.perSecond),
      fmtInt(x.concurrentPerSecond),
      `${x.serverUsPerUpdate} µs`,
    ]),
  );
  console.log(
    `\ntracking vs sync: median ${fmtRatio(t.medianMs / s.medianMs)}, p99 ${fmtRatio(t.p99Ms / s.p99Ms)}, ` +
      `throughput ${fmtRatio(t.perSecond / s.perSecond)} (1 connection), ${fmtRatio(t.concurrentPerSecond / s.concurrentPerSecond)} ` +
      `(${flags.connections}), in the server +${round(t.serverUsPerUpdate - s.serverUsPerUpdate, 1)} µs per UPDATE`,
  );
  const callUs = { noop: round(median(calls.noop), 2), tracking: round(median(calls.tracking), 2) };
  console.log(
    `the tracking function alone, called in a loop in the server: ${callUs.tracking} µs per call ` +
      `(an empty PL/pgSQL function: ${callUs.noop} µs): +${round(callUs.tracking - callUs.noop, 2)} µs per old-version write`,
  );
  console.log(`tracking sequence at the end: ${last.rows[0].last_value} (is_called ${last.rows[0].is_called})`);
  writeResults('old-writes', {
    flags: { rows: flags.rows, updates: flags.updates, rounds: flags.rounds, connections: flags.connections },
    machine: await machineFacts(server.url),
    summary,
    functionCallUs: callUs,
    trackingOverSync: {
      median: round(t.medianMs / s.medianMs, 3),
      p99: round(t.p99Ms / s.p99Ms, 3),
      throughput1: round(t.perSecond / s.perSecond, 3),
      throughputConcurrent: round(t.concurrentPerSecond / s.concurrentPerSecond, 3),
      serverUsDelta: round(t.serverUsPerUpdate - s.serverUsPerUpdate, 1),
    },
  });
} finally {
  await dropDatabase(server.url, dbName).catch(() => {});
  await server.stop();
}
