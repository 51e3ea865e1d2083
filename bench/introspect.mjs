#!/usr/bin/env node
// npm run bench:introspect [-- --database-url URL] [-- --pg 15] [-- --tables 5000] [-- --runs 5]
//
// Introspects the musicbrainz corpus schema and a generated schema of N tables (each with a primary
// key, a foreign key to the previous table, an index on that FK and a partial DESC index), each in a
// fresh Node process, and times `pg_dump -s` of the same database beside it when a pg_dump of the
// server's major version is on the PATH. Prints a table and writes bench/results/introspect.json.
//
// By default it starts an embedded PostgreSQL of the same major version as the local pg_dump (so the
// comparison is possible), else 18. Times are medians of --runs runs; whole-process wall time for
// both tools (start-up included) and, for zdm, also the in-process time of introspect() alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded } from '../dist/db/embedded.js';
import { runSqlScript } from '../dist/db/sql-script.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(arg('runs', '5'));
const nTables = Number(arg('tables', '5000'));
const corpusDir = process.env.ZDM_CORPUS_DIR ?? path.resolve(root, '../shared/corpus');

function pgDumpMajor() {
  try {
    const out = execFileSync('pg_dump', ['--version'], { encoding: 'utf8' });
    return Number(/(\d+)\.\d+/.exec(out)?.[1]);
  } catch {
    return undefined;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function withDb(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

function generatedSchema(n) {
  const parts = ['CREATE SCHEMA gen;'];
  for (let i = 1; i <= n; i++) {
    const fk = i > 1 ? `, parent_id bigint REFERENCES gen.t${i - 1}(id)` : ', parent_id bigint';
    parts.push(
      `CREATE TABLE gen.t${i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY${fk}, name text NOT NULL,` +
        ` status varchar(20) NOT NULL DEFAULT 'active', amount numeric(10,2) CHECK (amount > 0),` +
        ` created_at timestamptz NOT NULL DEFAULT now());`,
      `CREATE INDEX t${i}_parent_idx ON gen.t${i} (parent_id);`,
      `CREATE INDEX t${i}_recent_idx ON gen.t${i} (created_at DESC) WHERE status = 'active';`,
    );
  }
  return parts.join('\n');
}

function measureZdm(url) {
  const ms = [];
  const wall = [];
  let rss = 0;
  let tables = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [path.join(here, 'introspect-once.mjs'), url], { encoding: 'utf8' });
    wall.push(performance.now() - t0);
    const r = JSON.parse(out);
    ms.push(r.ms);
    rss = Math.max(rss, r.maxRssKb);
    tables = r.tables;
  }
  return { inProcessMs: median(ms), wallMs: median(wall), maxRssMb: rss / 1024, tables };
}

function measurePgDump(url) {
  const wall = [];
  let rss = 0;
  const haveTime = existsSync('/usr/bin/time');
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = haveTime
      ? spawnSync('/usr/bin/time', ['-f', '%M', 'pg_dump', '-s', '-d', url], { encoding: 'utf8', maxBuffer: 1 << 28 })
      : spawnSync('pg_dump', ['-s', '-d', url], { encoding: 'utf8', maxBuffer: 1 << 28 });
    wall.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
    if (haveTime) rss = Math.max(rss, Number(r.stderr.trim().split('\n').pop()) || 0);
  }
  return { wallMs: median(wall), maxRssMb: haveTime ? rss / 1024 : undefined };
}

async function main() {
  const dumpMajor = pgDumpMajor();
  let server;
  let adminUrl = arg('database-url');
  if (!adminUrl) {
    const want = Number(arg('pg', dumpMajor && dumpMajor >= 14 && dumpMajor <= 18 ? dumpMajor : 18));
    console.log(`starting embedded PostgreSQL ${want} …`);
    server = await startEmbedded({ major: want });
    adminUrl = server.url;
  }
  try {
    const v = (await sql(adminUrl, 'SHOW server_version_num')).rows[0].server_version_num;
    const major = Math.floor(Number(v) / 10000);
    const canDump = dumpMajor !== undefined && dumpMajor >= major;
    const cases = [];
    const mbFile = path.join(corpusDir, 'musicbrainz.sql');
    if (existsSync(mbFile))
      cases.push({ name: 'musicbrainz (corpus)', db: 'zdm_bench_mb', load: () => readFileSync(mbFile, 'utf8') });
    else console.log(`skipping musicbrainz: ${mbFile} not found`);
    cases.push({
      name: `generated ${nTables} tables`,
      db: `zdm_bench_gen${nTables}`,
      load: () => generatedSchema(nTables),
    });

    const results = [];
    for (const c of cases) {
      await sql(adminUrl, `DROP DATABASE IF EXISTS ${c.db}`);
      await sql(adminUrl, `CREATE DATABASE ${c.db}`);
      const url = withDb(adminUrl, c.db);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('SET check_function_bodies = off');
      const t0 = performance.now();
      const loaded = await runSqlScript(client, c.load());
      await client.end();
      console.log(
        `${c.name}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s (${loaded.errors.length} statement errors)`,
      );
      const zdm = measureZdm(url);
      const dump = canDump ? measurePgDump(url) : undefined;
      results.push({ case: c.name, tables: zdm.tables, zdm, pgDump: dump });
      if (!arg('database-url')) await sql(adminUrl, `DROP DATABASE ${c.db}`);
    }

    const fmt = (x, d = 0) => (x === undefined ? 'n/a' : x.toFixed(d));
    console.log(`\nPostgreSQL ${major}, ${os.cpus().length} cores, node ${process.version}, median of ${runs} runs`);
    console.log(
      '| schema | tables | zdm introspect (in process) | zdm pull process | zdm peak RSS | pg_dump -s process | pg_dump peak RSS | zdm / pg_dump |',
    );
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      const ratio = r.pgDump ? (r.zdm.wallMs / r.pgDump.wallMs).toFixed(2) : 'n/a';
      console.log(
        `| ${r.case} | ${r.tables} | ${fmt(r.zdm.inProcessMs)} ms | ${fmt(r.zdm.wallMs)} ms | ${fmt(r.zdm.maxRssMb)} MB | ${r.pgDump ? `${fmt(r.pgDump.wallMs)} ms` : `n/a (no pg_dump ${major})`} | ${r.pgDump ? `${fmt(r.pgDump.maxRssMb)} MB` : 'n/a'} | ${ratio} |`,
      );
    }
    mkdirSync(path.join(root, 'bench/results'), { recursive: true });
    writeFileSync(
      path.join(root, 'bench/results/introspect.json'),
      `${JSON.stringify({ date: new Date().toISOString(), server: major, node: process.version, cores: os.cpus().length, runs, results }, null, 2)}\n`,
    );
  } finally {
    await server?.stop();
  }
}

await main();
