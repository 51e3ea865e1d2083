#!/usr/bin/env node
// npm run bench:startup [-- --runs 15] [-- --pg 18 | --database-url URL] [-- --out FILE] [-- --label TEXT]
//
// Wall time of whole `zdm` processes, the way a person or a CI job starts them (`node bin/run.js …`,
// spawned --runs times each, the median reported; hyperfine is not assumed): `--version`, `--help`,
// `plan --help`, `validate` of a small desired-state file, and `plan` of a tiny schema (one table, one
// index to add) against a PostgreSQL (embedded by default). The baseline is `node -e 0` on the same
// machine in the same run: the floor no Node CLI can go below.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dropDatabase,
  fmtMs,
  fmtRatio,
  freshDatabase,
  machineFacts,
  max,
  median,
  parseFlags,
  percentile,
  printTable,
  root,
  round,
  sql,
  startServer,
  writeResults,
} from './lib/common.mjs';

const flags = parseFlags({
  runs: { type: 'number', default: 15, help: 'processes per case (median reported)' },
  warmup: { type: 'number', default: 2, help: 'untimed runs per case first (file cache)' },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL) instead of an embedded one' },
  out: { type: 'string', help: 'results file (default bench/results/startup.json)' },
  label: { type: 'string', default: 'current', help: 'a name for this code state, stored in the results' },
  bin: { type: 'string', help: "another checkout's bin/run.js, to compare code states (default: this one)" },
});

const bin = path.resolve(flags.bin ?? path.join(root, 'bin/run.js'));
const haveTime = existsSync('/usr/bin/time');
const smallFile = path.join(root, 'examples/shop/scenarios/01-orders-amount-check.yaml');

/**
 * Wall time of one process, and its CPU time (user + system, from GNU time when present): on a
 * machine shared with other work the CPU time moves much less than the wall time.
 */
function time(argv, env) {
  const options = { encoding: 'utf8', env: { ...process.env, ...env }, cwd: root };
  const t0 = performance.now();
  const r = haveTime
    ? spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...argv], options)
    : spawnSync(process.execPath, argv, options);
  const ms = performance.now() - t0;
  let cpuMs;
  if (haveTime) {
    const [user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    cpuMs = (user + sys) * 1000;
  }
  return { ms, cpuMs, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function main() {
  const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zdm-bench-startup-'));
  const db = 'zdm_bench_startup';
  try {
    const url = await freshDatabase(server.url, db);
    await sql(url, 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL)');
    const tiny = path.join(tmp, 'tiny.yaml');
    writeFileSync(
      tiny,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      items:
        columns:
          id: { type: bigint, nullable: false }
          name: { type: text, nullable: false }
          created_at: { type: timestamptz, nullable: false }
        primaryKey: { columns: [id] }
        indexes:
          idx_items_created_at: { columns: [created_at] }
`,
    );
    const cases = [
      { name: 'node -e 0 (baseline)', argv: ['-e', '0'], baseline: true },
      { name: 'zdm --version', argv: [bin, '--version'], limitMs: 300 },
      { name: 'zdm --help', argv: [bin, '--help'], limitMs: 300 },
      { name: 'zdm plan --help', argv: [bin, 'plan', '--help'] },
      { name: 'zdm validate (3 tables)', argv: [bin, 'validate', smallFile] },
      {
        name: 'zdm plan (1 table, 1 change)',
        argv: [bin, 'plan', '--schema', tiny, '--out', path.join(tmp, 'out.plan.yaml'), '--database-url', url],
      },
    ];
    const env = { NO_COLOR: '1' };
    const results = [];
    for (const c of cases) {
      for (let i = 0; i < flags.warmup; i++) time(c.argv, env);
      const ms = [];
      const cpu = [];
      for (let i = 0; i < flags.runs; i++) {
        const r = time(c.argv, env);
        if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
        ms.push(r.ms);
        if (r.cpuMs !== undefined) cpu.push(r.cpuMs);
      }
      results.push({ ...c, ms, cpu });
      console.log(`${c.name}: median ${fmtMs(median(ms))}`);
    }
    const floor = median(results.find((r) => r.baseline).ms);
    const facts = await machineFacts(url);
    console.log(
      `\n${facts.cores} cores, node ${facts.node}, PostgreSQL ${facts.postgres}; ${flags.runs} processes per case (label: ${flags.label})`,
    );
    printTable(
      ['command', 'median', 'min', 'p90', 'max', '× node -e 0', 'CPU (user+sys) median', 'target'],
      results.map((r) => [
        r.name,
        fmtMs(median(r.ms)),
        fmtMs(Math.min(...r.ms)),
        fmtMs(percentile(r.ms, 90)),
        fmtMs(max(r.ms)),
        fmtRatio(median(r.ms) / floor),
        r.cpu.length ? fmtMs(median(r.cpu)) : 'n/a',
        r.limitMs ? `≤ ${r.limitMs} ms ${median(r.ms) <= r.limitMs ? 'met' : 'MISSED'}` : '',
      ]),
    );
    writeResults(
      'startup',
      {
        benchmark: 'startup',
        command: `npm run bench:startup${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
        date: new Date().toISOString(),
        label: flags.label,
        machine: facts,
        runs: flags.runs,
        results: results.map((r) => ({
          case: r.name,
          medianMs: round(median(r.ms)),
          minMs: round(Math.min(...r.ms)),
          p90Ms: round(percentile(r.ms, 90)),
          maxMs: round(max(r.ms)),
          ratioToNode: round(median(r.ms) / floor, 2),
          cpuMedianMs: r.cpu.length ? round(median(r.cpu)) : undefined,
          ...(r.limitMs ? { targetMs: r.limitMs, targetMet: median(r.ms) <= r.limitMs } : {}),
        })),
      },
      flags.out,
    );
    await dropDatabase(server.url, db);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
