#!/usr/bin/env node
// npm run bench:backfill [-- --rows 1000000] [-- --runs 1] [-- --batch-size 5000] [-- --pause 25% | 20ms]
//                        [-- --only expression|bigint] [-- --dist PATH[,PATH…]] [-- --label NAME]
//                        [-- --pg 18 | --database-url URL]
//
// Backfill throughput. A table of --rows rows (bigint primary key, an int column, a text column),
// rebuilt identically (and VACUUM ANALYZEd) before every measurement. Two variants:
//   - expression: a new column set from an expression of another (`doubled = a * 2`);
//   - int → bigint copy: a bigint shadow column set from an int column (`a_big = a`);
// each run two ways in the same run:
//   - baseline: one plain `UPDATE t SET col = expr WHERE col IS NULL` (every row locked until it
//     commits: the whole statement's duration);
//   - zdm: the BackfillStep the planner emits for it (`set`, `where col IS NULL`, batch size 5000)
//     in a hand-built plan, through the apply engine (`applyPhase`, default settings: a pause of a
//     quarter of each batch's duration, batches halved past 200 ms).
// Reported: rows/s of each, their ratio, and the batch durations of zdm's run (each batch is one
// transaction: its row locks are held at most that long). Target: zdm ≥ 0.5 × the plain UPDATE's
// rate, and no batch over 200 ms. zdm's time includes its deliberate pauses between batches
// (--pause, as `zdm apply --pause`: 25% by default), also reported apart. Writes
// bench/results/backfill.json (backfill-LABEL.json with --label).
//
// Rate by position: the rows/s of the batches (their pauses and vacuum rounds included) in the first
// tenth of the rows, the middle tenth and the last tenth, and per tenth: whether the backfill slows
// down as it advances through the table.
//
// --dist A,B (several builds of zdm, e.g. main's and this one): each run measures the plain UPDATE,
// then every build's backfill of the same table, the builds' order alternating from run to run
// (interleaved A/B in the same conditions).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  connectTo,
  dropDatabase,
  fmtInt,
  fmtMs,
  fmtRatio,
  freshDatabase,
  machineFacts,
  max,
  median,
  parseFlags,
  percentile,
  printTable,
  round,
  startServer,
  writeResults,
} from './lib/common.mjs';
import { backfillStep, buildPlan } from './lib/plans.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

const flags = parseFlags({
  rows: { type: 'number', default: 1_000_000, help: 'rows in the table' },
  runs: { type: 'number', default: 3, help: 'runs of each measurement (median)' },
  'batch-size': { type: 'number', default: 5000, help: "the step's batch size (the planner's default)" },
  pause: {
    type: 'string',
    default: '25%',
    help: 'pause after each batch, as zdm apply --pause: a share of the batch (25%, the default) or a time (20ms)',
  },
  'max-batch-ms': { type: 'number', default: 200, help: 'target: no batch longer than this' },
  only: { type: 'string', help: 'one variant: expression or bigint' },
  dist: { type: 'string', default: path.join(root, 'dist'), help: 'zdm build(s) to measure, comma-separated' },
  label: { type: 'string', help: 'results go to bench/results/backfill-LABEL.json' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL: the bench creates its own database)' },
});

const builds = await Promise.all(
  flags.dist.split(',').map(async (d) => {
    const dist = path.resolve(d);
    const load = (m) => import(pathToFileURL(path.join(dist, m)).href);
    const [{ pauseAfter }, { applyPhase }, { parsePause }] = await Promise.all([
      load('apply/batches.js'),
      load('apply/index.js'),
      load('cli/flags.js'),
    ]);
    return { name: path.relative(root, dist) || '.', pauseAfter, applyPhase, parsePause };
  }),
);
const pause = builds[0].parsePause(flags.pause, '--pause');
const pauseSettings = { pauseMs: 0, pauseRatio: 0, ...pause };

const VARIANTS = [
  { key: 'expression', name: 'expression (doubled = a * 2)', column: 'doubled', type: 'integer', expr: 'a * 2' },
  { key: 'bigint', name: 'int → bigint copy (a_big = a)', column: 'a_big', type: 'bigint', expr: 'a' },
].filter((v) => flags.only === undefined || v.key === flags.only);
if (VARIANTS.length === 0) throw new Error(`--only ${flags.only}: expected expression or bigint`);

/**
 * Rows/s by position in the table: each batch counts with the time since the previous batch ended
 * (its pause and any vacuum round included), in the tenth of the rows its end falls in.
 */
function rateByPosition(batches, totalRows) {
  const tenths = Array.from({ length: 10 }, () => ({ rows: 0, ms: 0 }));
  for (const b of batches) {
    const t = tenths[Math.min(9, Math.floor(((b.rowsDone - b.rows / 2) / totalRows) * 10))];
    t.rows += b.rows;
    t.ms += b.intervalMs;
  }
  return tenths.map((t) => (t.ms > 0 ? Math.round((t.rows / t.ms) * 1000) : null));
}

/** The table as it is before each measurement: same rows, same physical layout, statistics fresh. */
async function reset(c, variant) {
  await c.query('DROP TABLE IF EXISTS bf');
  await c.query('CREATE TABLE bf (id bigint PRIMARY KEY, a integer NOT NULL, note text NOT NULL)');
  await c.query(
    `INSERT INTO bf (id, a, note) SELECT g, (g * 7919) % 1000003, 'row ' || g || ' ' || md5(g::text)
       FROM pg_catalog.generate_series(1, $1::int8) AS g`,
    [flags.rows],
  );
  await c.query(`ALTER TABLE bf ADD COLUMN ${variant.column} ${variant.type}`);
  await c.query('VACUUM (FREEZE, ANALYZE) bf');
  await c.query('CHECKPOINT');
}

async function verify(c, variant) {
  const r = await c.query(
    `SELECT count(*)::int8 AS wrong FROM bf WHERE ${variant.column} IS DISTINCT FROM (${variant.expr})`,
  );
  if (Number(r.rows[0].wrong) !== 0) throw new Error(`${variant.name}: ${r.rows[0].wrong} rows not backfilled`);
}

/** The bench's database (set in main): the second session of an apply connects to it. */
let databaseUrl;

async function plainUpdate(c, variant) {
  await reset(c, variant);
  const t0 = performance.now();
  const r = await c.query(`UPDATE bf SET ${variant.column} = (${variant.expr}) WHERE ${variant.column} IS NULL`);
  const ms = performance.now() - t0;
  await verify(c, variant);
  return { ms, rows: r.rowCount };
}

async function zdmBackfill(c, variant, run, build) {
  await reset(c, variant);
  await c.query('DROP SCHEMA IF EXISTS zdm CASCADE');
  const step = backfillStep(
    'backfill.1',
    'public.bf',
    { [variant.column]: variant.expr },
    { batchSize: flags['batch-size'] },
  );
  const plan = await buildPlan(c, { id: `bench-backfill-${variant.column}-${run}`, backfill: [step] });
  const batches = [];
  let resizes = 0;
  let vacuumMs = 0;
  let done;
  let last = 0;
  const onEvent = (e) => {
    if (e.type === 'backfill-start') last = performance.now();
    if (e.type === 'backfill-progress') {
      const now = performance.now();
      batches.push({ ms: e.batchMs, rows: e.batchRows, rowsDone: e.rowsDone, intervalMs: now - last });
      last = now;
    }
    if (e.type === 'vacuum') vacuumMs += e.durationMs;
    if (e.type === 'backfill-resize') resizes++;
    if (e.type === 'backfill-done') done = e;
  };
  // A second session, as `zdm apply` has one: the VACUUM rounds run on it beside the batches.
  const sideConnection = () => connectTo(databaseUrl, 'zdm bench (second session)');
  const options = { ...pause, allowHazards: ['long-running'], onEvent, sideConnection };
  await build.applyPhase(c, plan, { ...options, phase: 'expand' });
  const t0 = performance.now();
  await build.applyPhase(c, plan, { ...options, phase: 'backfill' });
  const phaseMs = performance.now() - t0;
  await build.applyPhase(c, plan, { ...options, phase: 'contract' });
  await verify(c, variant);
  return { ms: done.durationMs, phaseMs, rows: done.rowsThisRun, batches, resizes, vacuumMs };
}

async function main() {
  const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
  const db = 'zdm_bench_backfill';
  const t0 = performance.now();
  try {
    const url = await freshDatabase(server.url, db);
    databaseUrl = url;
    const c = await connectTo(url);
    const results = [];
    try {
      for (const variant of VARIANTS) {
        const plain = [];
        const zdm = builds.map(() => []);
        for (let run = 1; run <= flags.runs; run++) {
          plain.push(await plainUpdate(c, variant));
          console.log(`${variant.name}: plain UPDATE ${fmtInt(plain.at(-1).rows)} rows in ${fmtMs(plain.at(-1).ms)}`);
          // Builds in turn, the order reversed every other run.
          const order = builds.map((_, i) => i);
          if (run % 2 === 0) order.reverse();
          for (const i of order) {
            zdm[i].push(await zdmBackfill(c, variant, run, builds[i]));
            const z = zdm[i].at(-1);
            const tenths = rateByPosition(z.batches, z.rows);
            console.log(
              `${variant.name}: zdm (${builds[i].name}) backfill ${fmtInt(z.rows)} rows in ${fmtMs(z.ms)}, ` +
                `${fmtRatio(plain.at(-1).ms / z.ms)} of plain, ${z.batches.length} batches, ` +
                `longest ${fmtMs(max(z.batches.map((b) => b.ms)))}, vacuum ${fmtMs(z.vacuumMs)}; ` +
                `rows/s by tenth: ${tenths.map((r) => (r === null ? '-' : fmtInt(r))).join(' ')}`,
            );
          }
        }
        const plainMs = median(plain.map((p) => p.ms));
        const plainRate = (flags.rows / plainMs) * 1000;
        builds.forEach((build, i) => {
          const runs = zdm[i];
          const zdmMs = median(runs.map((z) => z.ms));
          const batchMs = runs.flatMap((z) => z.batches.map((b) => b.ms));
          const zdmRate = (flags.rows / zdmMs) * 1000;
          const longest = max(batchMs);
          // What the engine slept: after every batch but the last (src/apply/batches.ts, pauseAfter).
          const pausesMs = median(
            runs.map((z) => z.batches.slice(0, -1).reduce((sum, b) => sum + build.pauseAfter(pauseSettings, b.ms), 0)),
          );
          // The batches' own rate: what the engine costs, apart from the breathing room --pause gives.
          const workRate = (flags.rows / Math.max(1, zdmMs - pausesMs)) * 1000;
          // Per run: zdm's rate over the plain UPDATE's of the same run, then the median.
          const ratios = runs.map((z, r) => plain[r].ms / z.ms);
          const tenths = runs.map((z) => rateByPosition(z.batches, z.rows));
          // A tenth no batch ended in (a table of a few batches): null.
          const byTenth = tenths[0].map((_, t) => {
            const rates = tenths.map((x) => x[t]).filter((r) => r !== null);
            return rates.length > 0 ? Math.round(median(rates)) : null;
          });
          results.push({
            variant: variant.name,
            build: build.name,
            rows: flags.rows,
            plainUpdate: { ms: round(plainMs), rowsPerSecond: Math.round(plainRate), lockHeldMs: round(plainMs) },
            zdm: {
              ms: round(zdmMs),
              phaseMs: round(median(runs.map((z) => z.phaseMs))),
              rowsPerSecond: Math.round(zdmRate),
              batches: round(median(runs.map((z) => z.batches.length)), 0),
              batchResizes: round(median(runs.map((z) => z.resizes)), 0),
              batchMs: { p50: round(median(batchMs)), p99: round(percentile(batchMs, 99)), max: round(longest) },
              pause: flags.pause,
              // The deliberate pauses between batches (the application's breathing room) are part of ms.
              pausesTotalMs: round(pausesMs),
              vacuumMs: round(median(runs.map((z) => z.vacuumMs))),
              batchSize: flags['batch-size'],
              // Rows/s in each tenth of the rows (pauses and vacuum rounds included), median over the runs.
              rowsPerSecondByTenth: byTenth,
            },
            rateRatio: round(zdmRate / plainRate, 2),
            rateRatioPerRun: ratios.map((x) => round(x, 3)),
            rateRatioWithoutPauses: round(workRate / plainRate, 2),
            targets: {
              rateAtLeastHalf: zdmRate >= plainRate / 2,
              longestBatchMs: flags['max-batch-ms'],
              longestBatchWithin: longest <= flags['max-batch-ms'],
            },
          });
        });
      }
    } finally {
      await c.end();
    }
    const facts = await machineFacts(url);
    console.log(
      `\nPostgreSQL ${facts.postgres}, ${facts.cores} cores, ${facts.memoryGiB} GiB, node ${facts.node}; ` +
        `${fmtInt(flags.rows)} rows, median of ${flags.runs} run(s)`,
    );
    printTable(
      [
        'variant',
        'build',
        'plain UPDATE',
        'zdm backfill',
        'zdm / plain rate',
        'pauses excluded',
        'batches',
        'batch p50 / p99 / max',
        'rows/s: first / middle / last tenth',
        'row locks held at most',
        'targets',
      ],
      results.map((r) => [
        r.variant,
        r.build,
        `${fmtMs(r.plainUpdate.ms)} (${fmtInt(r.plainUpdate.rowsPerSecond)} rows/s)`,
        `${fmtMs(r.zdm.ms)} (${fmtMs(r.zdm.pausesTotalMs)}), ${fmtInt(r.zdm.rowsPerSecond)} rows/s`,
        fmtRatio(r.rateRatio),
        fmtRatio(r.rateRatioWithoutPauses),
        fmtInt(r.zdm.batches),
        `${fmtMs(r.zdm.batchMs.p50)} / ${fmtMs(r.zdm.batchMs.p99)} / ${fmtMs(r.zdm.batchMs.max)}`,
        [0, 4, 9]
          .map((t) => (r.zdm.rowsPerSecondByTenth[t] === null ? '-' : fmtInt(r.zdm.rowsPerSecondByTenth[t])))
          .join(' / '),
        `zdm ${fmtMs(r.zdm.batchMs.max)} vs plain ${fmtMs(r.plainUpdate.lockHeldMs)}`,
        `rate ≥ 0.5×: ${r.targets.rateAtLeastHalf ? 'met' : 'MISSED'}; batches ≤ ${r.targets.longestBatchMs} ms: ${r.targets.longestBatchWithin ? 'met' : 'MISSED'}`,
      ]),
    );
    writeResults(flags.label ? `backfill-${flags.label}` : 'backfill', {
      benchmark: 'backfill',
      command: `npm run bench:backfill${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      date: new Date().toISOString(),
      machine: facts,
      runs: flags.runs,
      results,
      totalSeconds: round((performance.now() - t0) / 1000, 0),
    });
    if (!flags['database-url']) await dropDatabase(server.url, db);
  } finally {
    await server.stop();
  }
}

await main();
