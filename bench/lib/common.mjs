// Shared helpers of the benchmarks: flags, statistics, the PostgreSQL under test, machine facts and
// the results files. Plain ESM importing the built dist/ (run `npm run build` first; the bench:*
// scripts do).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded } from '../../dist/db/embedded.js';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const root = path.resolve(benchDir, '..');

/**
 * `--name value`, `--name=value` and bare `--flag` (→ true). Unknown flags are an error, so a typo
 * does not silently run the default size for five minutes.
 */
export function parseFlags(spec, argv = process.argv.slice(2)) {
  const out = {};
  for (const [name, s] of Object.entries(spec)) out[name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(
        Object.entries(spec)
          .map(
            ([n, s]) =>
              `  --${n}${s.type === 'boolean' ? '' : ' VALUE'}  ${s.help}${s.default !== undefined && s.type !== 'boolean' ? ` (default ${s.default})` : ''}`,
          )
          .join('\n'),
      );
      process.exit(0);
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
    const s = m ? spec[m[1]] : undefined;
    if (!m || !s) throw new Error(`unknown argument ${a} (try --help)`);
    let value = m[2];
    if (s.type === 'boolean') {
      out[m[1]] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    }
    if (s.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${m[1]} ${value}: expected a number`);
      out[m[1]] = n;
    } else if (s.type === 'numbers') {
      out[m[1]] = value.split(',').map((v) => {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new Error(`--${m[1]} ${value}: expected numbers separated by commas`);
        return n;
      });
    } else out[m[1]] = value;
  }
  return out;
}

export const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Nearest-rank percentile (p in 0..100) of unsorted numbers; undefined for none. */
export function percentile(xs, p) {
  if (xs.length === 0) return undefined;
  const s = Float64Array.from(xs).sort();
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export const median = (xs) => percentile(xs, 50);
export const max = (xs) => (xs.length ? xs.reduce((a, b) => (b > a ? b : a), Number.NEGATIVE_INFINITY) : undefined);

/** A number fit for a results file: rounded to `digits` decimals (noise digits make diffs unreadable). */
export const round = (x, digits = 1) => (x === undefined || x === null ? null : Number(x.toFixed(digits)));

/** `1234567` → `1,234,567`. */
export const fmtInt = (x) => (x === undefined || x === null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
export const fmtMs = (x) => (x === undefined || x === null ? 'n/a' : `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`);
export const fmtRatio = (x) => (x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)}×`);

/** Prints a Markdown table (pastable into BENCHMARKS.md). */
export function printTable(headers, rows) {
  console.log(`| ${headers.join(' | ')} |`);
  console.log(`|${headers.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** The version of a pg_dump (`pg_dump` on the PATH by default), e.g. `18.6`; undefined when there is none. */
export function pgDumpVersion(pgDump = 'pg_dump') {
  try {
    return /(\d+\.\d+)/.exec(execFileSync(pgDump, ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

/** The major version of a pg_dump, undefined when there is none. */
export function pgDumpMajor(pgDump = 'pg_dump') {
  const v = pgDumpVersion(pgDump);
  return v === undefined ? undefined : Number(v.split('.')[0]);
}

export function withDb(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function connectTo(url, applicationName = 'zdm bench') {
  const c = new pg.Client({ connectionString: url, application_name: applicationName });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function sql(url, text, values) {
  const c = await connectTo(url);
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

/**
 * The server under test: `--database-url` (an admin URL: the bench creates and drops its own
 * databases there), else an embedded PostgreSQL of `--pg` (default `defaultMajor`), started here and
 * removed at the end, also on Ctrl-C.
 */
export async function startServer({ databaseUrl, major, settings, log = console.log }) {
  if (databaseUrl) return { url: databaseUrl, embedded: false, stop: async () => {} };
  log(`starting embedded PostgreSQL ${major} …`);
  const server = await startEmbedded({ major, ...(settings ? { settings } : {}) });
  const onSignal = () => {
    void server.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    url: server.url,
    embedded: true,
    stop: async () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await server.stop();
    },
  };
}

/** A fresh database `name` on the server of `adminUrl`; returns its URL. */
export async function freshDatabase(adminUrl, name) {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await sql(adminUrl, `CREATE DATABASE ${name}`);
  return withDb(adminUrl, name);
}

export async function dropDatabase(adminUrl, name) {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Facts about this machine and the server, recorded beside every result. */
export async function machineFacts(url) {
  const facts = {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    // Other work on the machine while the benchmark ran (1 and 15 min load averages at its end).
    loadAverage: os
      .loadavg()
      .filter((_, i) => i !== 1)
      .map((x) => round(x, 2)),
  };
  if (url) {
    const v = (await sql(url, `SELECT pg_catalog.current_setting('server_version') AS v`)).rows[0].v;
    facts.postgres = v.split(' ')[0];
  }
  return facts;
}

/** Recursively sorted keys: the same results always serialize to the same bytes layout. */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/** Writes bench/results/<name>.json (or `file`), keys sorted, two-space indent, final newline. */
export function writeResults(name, data, file) {
  const target = file ? path.resolve(file) : path.join(benchDir, 'results', `${name}.json`);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, `${JSON.stringify(sortKeys(data), null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), target)}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
