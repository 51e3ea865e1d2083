#!/usr/bin/env node
// npm run bench:introspect [-- --sizes 1000,5000,10000] [-- --plan-sizes 1000,5000,10000] [-- --runs 3]
//                          [-- --pg 15 | --database-url URL] [-- --corpus DIR | --no-corpus]
//                          [-- --pg-dump PATH]
//
// Introspection and planning at scale. For every corpus schema (../shared/corpus, skipped when
// absent) and a generated schema of each --sizes and --plan-sizes tables (bench/lib/generated.mjs;
// each table: identity primary key, a foreign key to the previous table, an index on it, a partial
// DESC index, a CHECK, a trigger; a trigger function per 4 tables and a view per 40, as musicbrainz
// has them; --tables-only leaves out the triggers, functions and views), it times the real CLI, one
// fresh process per measurement as a user runs it:
//   - `zdm pull --out FILE`                         introspect + write the YAML
//   - `zdm plan --check` against the pulled YAML     a no-op plan (must find nothing to do)
//   - `zdm plan --out FILE` against an edited model  a ~100-change plan: a CHECK on 50 tables and an
//                                                    index on 50 others, added to the model before
//                                                    writing the YAML
// and, as the baseline, `pg_dump -s` of the same database; peak memory (max RSS) of each process
// from /usr/bin/time. `zdm plan` is measured on the corpus and at --plan-sizes (every generated size
// by default), each run stopped after --plan-timeout-s; once one is stopped, larger sizes skip it.
// Times are medians of --runs runs (--big-runs for plan from 500 tables and for everything from
// 5,000). Growth with size: time per table at each generated
// size, the exponent k of time ∝ tables^k from the previous size measured (1 = linear), and the
// per-table time at the largest size over that at the smallest. Before all of these, on a server not yet
// busy with them, `zdm plan` of a one-table
// schema with one change (an index), whole process, rehearsal on (the default) and with
// --no-rehearse (--one-runs runs each). Last, each target of issue 14 with what was measured in this
// run and whether it is met (`targets` in the results file).
//
// By default the server is an embedded PostgreSQL of the same major version as the local pg_dump
// (pg_dump refuses newer servers), else 18. Prints a table; writes bench/results/introspect.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { runSqlScript } from '../dist/db/sql-script.js';
import { writeDesiredState } from '../dist/desired/write.js';
import { introspect } from '../dist/introspect/index.js';
import {
  connectTo,
  dropDatabase,
  fmtInt,
  fmtMs,
  fmtRatio,
  freshDatabase,
  machineFacts,
  median,
  parseFlags,
  pgDumpMajor,
  pgDumpVersion,
  printTable,
  root,
  round,
  sql,
  startServer,
  writeResults,
} from './lib/common.mjs';
import { generatedScripts } from './lib/generated.mjs';

const flags = parseFlags({
  sizes: {
    type: 'numbers',
    default: [1000, 5000, 10000],
    help: 'generated schema sizes for pull and pg_dump, in tables',
  },
  'plan-sizes': {
    type: 'numbers',
    default: [1000, 5000, 10000],
    help: 'generated schema sizes at which zdm plan is measured too',
  },
  runs: { type: 'number', default: 3, help: 'runs per measurement (median)' },
  'big-runs': {
    type: 'number',
    default: 1,
    help: 'runs per measurement from 1,000 tables (plan) or 5,000 tables (pull, pg_dump)',
  },
  pg: { type: 'number', help: 'major version of the embedded PostgreSQL (default: that of pg_dump, else 18)' },
  'pg-dump': {
    type: 'string',
    default: 'pg_dump',
    help: 'the pg_dump of the baseline (bench/pg-dump-from-source.sh builds one of any version)',
  },
  'database-url': { type: 'string', help: 'an existing server (admin URL: the bench creates its own databases)' },
  corpus: { type: 'string', help: 'corpus folder (default ../shared/corpus or $ZDM_CORPUS_DIR)' },
  'no-corpus': { type: 'boolean', default: false, help: 'skip the corpus schemas' },
  'tables-only': {
    type: 'boolean',
    default: false,
    help: 'generated schemas of tables alone (no triggers, functions, views): the schema measured before issue 12',
  },
  changes: { type: 'number', default: 100, help: 'changes of the second plan (half CHECKs, half indexes)' },
  'one-runs': { type: 'number', default: 7, help: 'runs of the one-table plan, each way (0: not measured)' },
  'plan-timeout-s': {
    type: 'number',
    default: 180,
    help: 'a zdm plan slower than this is stopped and reported as such; larger schemas then skip it',
  },
});
const corpusDir = flags.corpus ?? process.env.ZDM_CORPUS_DIR ?? path.resolve(root, '../shared/corpus');
const bin = path.join(root, 'bin/run.js');
const haveTime = existsSync('/usr/bin/time');

/** Corpus files in size order, with what each needs to load (see the corpus README). */
function corpusCases() {
  if (flags['no-corpus']) return [];
  if (!existsSync(corpusDir)) {
    console.log(`skipping the corpus: ${corpusDir} not found`);
    return [];
  }
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => ({ file: path.join(corpusDir, f), size: readFileSync(path.join(corpusDir, f)).length }))
    .sort((a, b) => a.size - b.size)
    .map(({ file }) => ({
      name: `${path.basename(file, '.sql')} (corpus)`,
      db: `zdm_bench_${path.basename(file, '.sql')}`,
      scripts: () => [readFileSync(file, 'utf8')],
      generated: false,
    }));
}

/** The generated schema in chunks of 250 tables (one implicit transaction each: bounded lock table use). */
/**
 * Whole-process wall time (median over `runs`) and max RSS of `cmd args`. With `timeoutS`, coreutils'
 * `timeout` kills the process past that many seconds (GNU time still reports its peak memory).
 */
function measure(cmd, args, runs, okCodes = [0], timeoutS = 0) {
  const wall = [];
  let rssKb = 0;
  let last;
  const argv = [...(timeoutS ? ['timeout', '-s', 'KILL', String(timeoutS)] : []), cmd, ...args];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const options = { encoding: 'utf8', maxBuffer: 1 << 30, cwd: root };
    const r = haveTime
      ? spawnSync('/usr/bin/time', ['-f', '%M', ...argv], options)
      : spawnSync(argv[0], argv.slice(1), options);
    wall.push(performance.now() - t0);
    last = r;
    if (timeoutS && r.status === 137) return { timedOut: true, error: `stopped after ${timeoutS} s` };
    if (!okCodes.includes(r.status)) {
      return {
        error: `${path.basename(cmd)} ${args[1] ?? args[0] ?? ''} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
      };
    }
    if (haveTime) rssKb = Math.max(rssKb, Number(r.stderr.trim().split('\n').pop()) || 0);
  }
  return { ms: median(wall), rssMb: rssKb ? rssKb / 1024 : undefined, status: last.status, stderr: last.stderr };
}

/** A measurement that produced no time: why (stopped by the time limit, skipped, or failed). */
const outcome = (m) => ({
  error: m.error,
  ...(m.timedOut ? { timedOut: true } : {}),
  ...(m.skipped ? { skipped: true } : {}),
});

/** `zdm plan` under --plan-timeout-s; once one was too slow, larger generated schemas skip it. */
function measurePlan(args, runs, okCodes, state) {
  if (state.planTooSlow)
    return {
      skipped: true,
      error: `skipped: over ${flags['plan-timeout-s']} s at ${fmtInt(state.planTooSlow)} tables`,
    };
  return measure(process.execPath, args, runs, okCodes, flags['plan-timeout-s']);
}

/** `zdm plan` of one table and one change (an index), with and without rehearsal: the start-up target. */
async function measureOneTable(adminUrl, tmp) {
  const db = 'zdm_bench_one_table';
  const url = await freshDatabase(adminUrl, db);
  try {
    await sql(url, 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL)');
    const file = path.join(tmp, 'one-table.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'schemas:',
        '  public:',
        '    tables:',
        '      items:',
        '        columns:',
        '          id: { type: bigint, nullable: false }',
        '          name: { type: text, nullable: false }',
        '          created_at: { type: timestamptz, nullable: false }',
        '        primaryKey: { columns: [id] }',
        '        indexes:',
        '          idx_items_created_at: { columns: [created_at] }',
        '',
      ].join('\n'),
    );
    const args = (more) => [
      bin,
      'plan',
      '--schema',
      file,
      '--out',
      path.join(tmp, 'one.plan.yaml'),
      '--database-url',
      url,
      ...more,
    ];
    const runs = flags['one-runs'];
    // One untimed run each first: the scratch server's kept cluster is made on the first use.
    measure(process.execPath, args([]), 1);
    const rehearsed = measure(process.execPath, args([]), runs);
    const notRehearsed = measure(process.execPath, args(['--no-rehearse']), runs);
    const shape = (m) => (m.error ? outcome(m) : { ms: round(m.ms), peakRssMb: round(m.rssMb) });
    return { rehearsed: shape(rehearsed), notRehearsed: shape(notRehearsed) };
  } finally {
    if (!flags['database-url']) await dropDatabase(adminUrl, db);
  }
}

/**
 * Each target of issue 14 (the table of its "Measured today"), with what this run measured and
 * whether it is met; `met` is undefined where this run did not measure it (a size left out, no
 * pg_dump for the server's version, the corpus absent).
 */
function targetVerdicts(results, growth, oneTable) {
  const at = (n) => results.find((r) => r.generated && r.tables === n);
  const musicbrainz = results.find((r) => r.case.startsWith('musicbrainz'));
  const times = (m, d) => (m?.ms && d?.ms ? m.ms / d.ms : undefined);
  const ratioTarget = (target, m, d, limit) => {
    const x = times(m, d);
    return {
      target,
      measured:
        x === undefined
          ? m?.ms
            ? `${fmtMs(m.ms)}, no pg_dump baseline`
            : 'n/a'
          : `${fmtRatio(x)} (${fmtMs(m.ms)} vs ${fmtMs(d.ms)})`,
      limit,
      value: x === undefined ? undefined : round(x, 2),
      met: x === undefined ? undefined : x <= limit,
    };
  };
  const out = [
    ratioTarget('zdm pull ≤ 1.0× pg_dump -s, musicbrainz', musicbrainz?.pull, musicbrainz?.pgDump, 1.0),
    ratioTarget('zdm pull ≤ 0.7× pg_dump -s, 5,000 tables', at(5000)?.pull, at(5000)?.pgDump, 0.7),
    ratioTarget('zdm pull ≤ 0.7× pg_dump -s, 10,000 tables', at(10000)?.pull, at(10000)?.pgDump, 0.7),
    ratioTarget(
      'zdm plan --check, no change ≤ 2× pg_dump -s, 10,000 tables',
      at(10000)?.planNoop,
      at(10000)?.pgDump,
      2,
    ),
    ratioTarget('zdm plan, 100 changes ≤ 3× pg_dump -s, 10,000 tables', at(10000)?.planChanges, at(10000)?.pgDump, 3),
  ];
  for (const [key, what] of [
    ['planNoop', 'no change'],
    ['planChanges', '100 changes'],
  ]) {
    const mb = at(10000)?.[key]?.peakRssMb;
    out.push({
      target: `peak RSS of zdm plan (${what}) ≤ 400 MB, 10,000 tables`,
      measured: mb ? `${Math.round(mb)} MB` : 'n/a',
      limit: 400,
      value: mb,
      met: mb ? mb <= 400 : undefined,
    });
  }
  for (const [m, how] of [
    [oneTable?.notRehearsed, '--no-rehearse'],
    [oneTable?.rehearsed, 'rehearsal on, the default'],
  ]) {
    out.push({
      target: `zdm plan, one table, one change ≤ 0.4 s (${how})`,
      measured: m?.ms ? fmtMs(m.ms) : 'n/a',
      limit: 400,
      value: m?.ms,
      met: m?.ms ? m.ms <= 400 : undefined,
    });
  }
  // Linear: the exponent k (time ∝ tables^k) between the two largest generated sizes; 1.15 leaves
  // room for a busy machine's noise.
  const last = growth.at(-1)?.exponentFromPrevious;
  for (const [key, what] of [
    ['pull', 'zdm pull'],
    ['planNoop', 'zdm plan --check'],
    ['planChanges', 'zdm plan, 100 changes'],
  ]) {
    const k = last?.[key];
    out.push({
      target: `${what} grows linearly (k ≤ 1.15 between the two largest sizes)`,
      measured: typeof k === 'number' ? `k = ${k}` : 'n/a',
      limit: 1.15,
      value: k ?? undefined,
      met: typeof k === 'number' ? k <= 1.15 : undefined,
    });
  }
  return out;
}

const BTREE_TYPES =
  /^(smallint|integer|bigint|int[248]?|text|character varying.*|varchar.*|uuid|date|timestamp.*|numeric.*|boolean)$/;

/**
 * The live model with `changes` additions: a CHECK (`col IS NOT NULL`) on half of the tables picked
 * and a btree index on the other half, each on a column of a type with a btree operator class.
 * Partitioned tables are left alone (their constraints and indexes cascade to every partition).
 */
function editModel(model, changes) {
  const wantChecks = Math.floor(changes / 2);
  const wantIndexes = changes - wantChecks;
  let checks = 0;
  let indexes = 0;
  const schemas = model.schemas.map((s) => ({
    ...s,
    tables: s.tables.map((t) => {
      if (checks >= wantChecks && indexes >= wantIndexes) return t;
      if (t.partitionBy || t.partitions.length) return t;
      const col = t.columns.find((c) => BTREE_TYPES.test(c.type) && !c.generated);
      if (!col) return t;
      if (checks < wantChecks) {
        checks++;
        const name = `zdm_bench_chk_${checks}`;
        return {
          ...t,
          checks: [
            ...t.checks,
            {
              kind: 'check',
              name,
              expression: `${JSON.stringify(col.name)} IS NOT NULL`,
              noInherit: false,
              valid: true,
            },
          ],
        };
      }
      indexes++;
      const name = `zdm_bench_idx_${indexes}`;
      return {
        ...t,
        indexes: [
          ...t.indexes,
          {
            kind: 'index',
            name,
            unique: false,
            method: 'btree',
            keys: [{ column: col.name, descending: false }],
            include: [],
            nullsNotDistinct: false,
            valid: true,
          },
        ],
      };
    }),
  }));
  return { model: { ...model, schemas }, changes: checks + indexes };
}

function planSteps(file) {
  const plan = YAML.parse(readFileSync(file, 'utf8'));
  return Object.fromEntries((plan.phases ?? []).map((p) => [p.name, p.steps.length]));
}

async function main() {
  const dumpMajor = pgDumpMajor(flags['pg-dump']);
  const major = flags.pg ?? (dumpMajor && dumpMajor >= 14 && dumpMajor <= 18 ? dumpMajor : 18);
  // pg_dump -s locks every table in one transaction: 10,000 tables need a bigger lock table.
  const server = await startServer({
    databaseUrl: flags['database-url'],
    major,
    settings: { max_locks_per_transaction: '512' },
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zdm-bench-introspect-'));
  const t0 = performance.now();
  try {
    const v = Number((await sql(server.url, 'SHOW server_version_num')).rows[0].server_version_num);
    const serverMajor = Math.floor(v / 10000);
    const canDump = dumpMajor !== undefined && dumpMajor >= serverMajor;
    if (!canDump)
      console.log(
        `no pg_dump ${serverMajor} or newer (${flags['pg-dump']}; see --pg-dump): the pg_dump baseline is left out`,
      );
    // First, on a quiet server: after the large schemas, the server is still busy for a while
    // (autovacuum of their catalogs, the checkpoint of their WAL), which a plan of one table would
    // measure instead of zdm (769 ms there against about 480 ms on the same build, 2026-12-07).
    const oneTable = flags['one-runs'] > 0 ? await measureOneTable(server.url, tmp) : undefined;
    const cases = [
      ...corpusCases(),
      ...[...new Set([...flags.sizes, ...flags['plan-sizes']])]
        .sort((a, b) => a - b)
        .map((n) => ({
          name: `generated ${fmtInt(n)} tables`,
          db: `zdm_bench_gen${n}`,
          scripts: () => generatedScripts(n, { objects: !flags['tables-only'] }),
          generated: true,
          size: n,
          plan: flags['plan-sizes'].includes(n),
        })),
    ];
    const results = [];
    const state = { planTooSlow: undefined };
    for (const c of cases) {
      const url = await freshDatabase(server.url, c.db);
      const client = await connectTo(url);
      await client.query('SET check_function_bodies = off');
      const l0 = performance.now();
      let loadErrors = 0;
      for (const script of c.scripts()) loadErrors += (await runSqlScript(client, script)).errors.length;
      const model = await introspect(client);
      await client.end();
      const tables = model.schemas.reduce(
        (n, s) => n + s.tables.length + s.tables.reduce((m, t) => m + t.partitions.length, 0),
        0,
      );
      const loadS = (performance.now() - l0) / 1000;
      console.log(`${c.name}: ${tables} tables loaded in ${loadS.toFixed(1)} s (${loadErrors} statement errors)`);
      const runs = tables >= 5000 ? flags['big-runs'] : flags.runs;
      const planRuns = tables >= 500 ? flags['big-runs'] : flags.runs;
      const withPlan = !c.generated || c.plan;

      const pulled = path.join(tmp, `${c.db}.yaml`);
      const pull = measure(process.execPath, [bin, 'pull', '--database-url', url, '--out', pulled], runs);
      const notPlanned = { skipped: true, error: 'not measured at this size (--plan-sizes)' };
      const noop = withPlan
        ? measurePlan([bin, 'plan', '--check', '--schema', pulled, '--database-url', url], planRuns, [0, 2], state)
        : notPlanned;
      const edited = editModel(model, flags.changes);
      const changedFile = path.join(tmp, `${c.db}-changed.yaml`);
      writeFileSync(changedFile, writeDesiredState(edited.model, { schemaPath: '' }));
      const planFile = path.join(tmp, `${c.db}.plan.yaml`);
      const change = withPlan
        ? measurePlan(
            [bin, 'plan', '--schema', changedFile, '--out', planFile, '--database-url', url],
            planRuns,
            [0],
            state,
          )
        : notPlanned;
      if (c.generated && (noop.timedOut || change.timedOut)) state.planTooSlow ??= tables;
      const dump = canDump ? measure(flags['pg-dump'], ['-s', '-d', url], runs) : undefined;
      const r = {
        case: c.name,
        generated: c.generated,
        tables,
        runs,
        loadErrors,
        pull: pull.error ? outcome(pull) : { ms: round(pull.ms), peakRssMb: round(pull.rssMb) },
        planNoop: noop.error
          ? outcome(noop)
          : { ms: round(noop.ms), peakRssMb: round(noop.rssMb), empty: noop.status === 0 },
        planChanges: change.error
          ? { ...outcome(change), changes: edited.changes }
          : {
              ms: round(change.ms),
              peakRssMb: round(change.rssMb),
              changes: edited.changes,
              steps: planSteps(planFile),
            },
        pgDump:
          dump && !dump.error
            ? { ms: round(dump.ms), peakRssMb: round(dump.rssMb) }
            : dump?.error
              ? { error: dump.error }
              : undefined,
      };
      results.push(r);
      const show = (m) => (m.error ? `error: ${m.error}` : `${fmtMs(m.ms)}, ${round(m.peakRssMb)} MB`);
      console.log(
        `  pull ${show(r.pull)}; plan no-op ${show(r.planNoop)}${r.planNoop.empty === false ? ' (NOT EMPTY)' : ''}; ` +
          `plan ${edited.changes} changes ${show(r.planChanges)}; pg_dump -s ${r.pgDump ? show(r.pgDump) : 'n/a'}`,
      );
      if (!flags['database-url']) await dropDatabase(server.url, c.db);
    }

    // Growth: time per table at each generated size, and the exponent between consecutive sizes.
    const gen = results.filter((r) => r.generated && !r.pull.error).sort((a, b) => a.tables - b.tables);
    const growth = gen.map((r, i) => {
      const prev = gen[i - 1];
      const k = (key) => {
        const p = gen.slice(0, i).findLast((g) => g[key]?.ms);
        return p && r[key]?.ms ? round(Math.log(r[key].ms / p[key].ms) / Math.log(r.tables / p.tables), 2) : null;
      };
      return {
        tables: r.tables,
        pullMsPerTable: round(r.pull.ms / r.tables, 3),
        planNoopMsPerTable: r.planNoop.ms ? round(r.planNoop.ms / r.tables, 3) : null,
        planChangesMsPerTable: r.planChanges.ms ? round(r.planChanges.ms / r.tables, 3) : null,
        pgDumpMsPerTable: r.pgDump?.ms ? round(r.pgDump.ms / r.tables, 3) : null,
        exponentFromPrevious: prev
          ? {
              pull: k('pull'),
              planNoop: k('planNoop'),
              planChanges: k('planChanges'),
              pgDump: r.pgDump ? k('pgDump') : null,
            }
          : null,
      };
    });
    // Per-table time at the largest size measured / at the smallest, per measurement (1 = linear).
    const perTableRatio = {};
    for (const key of ['pull', 'planNoop', 'planChanges', 'pgDump']) {
      const has = growth.filter((g) => g[`${key}MsPerTable`]);
      if (has.length < 2) continue;
      const a = has[0];
      const b = has.at(-1);
      perTableRatio[key] = {
        from: a.tables,
        to: b.tables,
        ratio: round(b[`${key}MsPerTable`] / a[`${key}MsPerTable`], 2),
      };
    }

    const targets = targetVerdicts(results, growth, oneTable);

    const facts = await machineFacts(server.url);
    facts.pgDump = canDump ? pgDumpVersion(flags['pg-dump']) : null;
    const cell = (m) =>
      m?.timedOut ? `> ${flags['plan-timeout-s']} s` : m?.skipped ? '—' : m?.error ? 'error' : m ? fmtMs(m.ms) : 'n/a';
    const rss = (m) => (m?.peakRssMb ? `${Math.round(m.peakRssMb)} MB` : 'n/a');
    const ratio = (m, d) => (m?.ms && d?.ms ? fmtRatio(m.ms / d.ms) : 'n/a');
    console.log(
      `\nPostgreSQL ${facts.postgres}, ${facts.cores} cores, ${facts.memoryGiB} GiB, node ${facts.node}; ` +
        `whole processes, median of ${flags.runs} runs (${flags['big-runs']} for plan from 500 tables, for all from 5,000)`,
    );
    printTable(
      [
        'schema',
        'tables',
        'zdm pull',
        'plan no-op',
        `plan ~${flags.changes} changes`,
        'pg_dump -s',
        'pull / pg_dump',
        'plan no-op / pg_dump',
        'plan changes / pg_dump',
        'peak RSS pull / plan no-op / plan changes / pg_dump',
      ],
      results.map((r) => [
        r.case,
        fmtInt(r.tables),
        cell(r.pull),
        `${cell(r.planNoop)}${r.planNoop.empty === false ? ' (not empty)' : ''}`,
        `${cell(r.planChanges)}${r.planChanges.changes !== flags.changes ? ` (${r.planChanges.changes} changes)` : ''}`,
        cell(r.pgDump),
        ratio(r.pull, r.pgDump),
        ratio(r.planNoop, r.pgDump),
        ratio(r.planChanges, r.pgDump),
        `${rss(r.pull)} / ${rss(r.planNoop)} / ${rss(r.planChanges)} / ${rss(r.pgDump)}`,
      ]),
    );
    if (growth.length) {
      console.log(
        '\nGrowth with size (generated schemas): ms per table, and k in time ∝ tables^k from the previous size',
      );
      printTable(
        [
          'tables',
          'pull ms/table',
          'plan no-op ms/table',
          'plan changes ms/table',
          'pg_dump ms/table',
          'k pull / no-op / changes / pg_dump',
        ],
        growth.map((g) => [
          fmtInt(g.tables),
          g.pullMsPerTable,
          g.planNoopMsPerTable ?? 'n/a',
          g.planChangesMsPerTable ?? 'n/a',
          g.pgDumpMsPerTable ?? 'n/a',
          g.exponentFromPrevious
            ? `${g.exponentFromPrevious.pull} / ${g.exponentFromPrevious.planNoop} / ${g.exponentFromPrevious.planChanges} / ${g.exponentFromPrevious.pgDump ?? 'n/a'}`
            : '—',
        ]),
      );
      console.log(
        `per-table time at the largest size / at the smallest (1.00× = linear): ${Object.entries(perTableRatio)
          .map(([k, v]) => `${k} ${fmtRatio(v.ratio)} (${fmtInt(v.to)} vs ${fmtInt(v.from)} tables)`)
          .join(', ')}`,
      );
    }
    if (oneTable) {
      console.log(
        `\nzdm plan, one table, one change (whole process, median of ${flags['one-runs']}): ` +
          `${cell(oneTable.rehearsed)} with rehearsal (the default), ${cell(oneTable.notRehearsed)} with --no-rehearse`,
      );
    }
    console.log('\nTargets (issue 14), as measured in this run:');
    printTable(
      ['target', 'measured', 'met'],
      targets.map((t) => [t.target, t.measured, t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT met']),
    );
    writeResults('introspect', {
      benchmark: 'introspect',
      command: `npm run bench:introspect${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      date: new Date().toISOString(),
      machine: facts,
      runs: flags.runs,
      bigRuns: flags['big-runs'],
      changes: flags.changes,
      results,
      growth,
      perTableRatio,
      oneTable,
      targets,
      totalSeconds: round((performance.now() - t0) / 1000, 0),
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
