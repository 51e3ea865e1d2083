#!/usr/bin/env node
// npm run bench:traffic [-- --rows 1000000] [-- --rate 200] [-- --connections 4] [-- --baseline-seconds 10]
//                       [-- --lock-timeout-ms 200] [-- --pg 18 | --database-url URL] [-- --light]
//
// Traffic during apply. A steady application workload — reads by primary key (50%), inserts (25%)
// and updates by primary key (25%) of `orders`, --rate statements/s over --connections connections,
// open loop (latency counted from when each statement was due) — runs while each scenario goes
// through all its phases: the desired state is written as YAML, planned by the real planner
// (makePlan, as `zdm plan` does) and applied phase by phase (applyPhase, as `zdm apply` does). Every
// scenario starts from an identical copy of the database (CREATE DATABASE … TEMPLATE).
//
// Reported per scenario and phase: statements, errors (must be 0), p50/p99/max latency, and the
// ratios against the same workload with no apply running (baseline, measured first in the same run).
// After each scenario a second plan must be empty, `orders` must hold the loaded rows plus the
// application's committed inserts (nothing lost or duplicated by a swap; the application never
// deletes), and every row the application updated must hold the value of its last update (no write
// lost by a sync trigger, a backfill or a swap).
//
// For contrast, the naive versions of some scenarios run on a fresh copy under the same workload
// (the old application version throughout): their max stall and errors are shown beside zdm's. One
// statement each — ALTER COLUMN TYPE rewrites the table under ACCESS EXCLUSIVE; a plain RENAME
// COLUMN is instant but breaks the running version — and one transaction for the partition swap
// (lock, create the partitioned table, copy, drop, rename).
//
// The application, per scenario (each scenario's `workload` says which):
// - every scenario but rename-column runs one application version throughout: it names no column
//   the scenario changes in a way it would notice (integer → bigint keeps the name `id`, and the
//   application reads and updates by `id` whichever its type; the partition swap keeps the name
//   `orders` and every column, and reads and updates by `id`, which is no longer the whole primary
//   key afterwards (id, created_at) but still finds the row).
// - rename-column (`status` → `state`) deploys like a real application: the old version (reads and
//   updates `status`) until expand is done; then a rolling deploy, half of the connections on the
//   new version (reads and updates `state`) during backfill, both versions at once, the sync
//   trigger keeping the two columns equal; then all of them on the new version, and contract starts
//   only once no old-version statement is in flight (as a deploy waits for the old pods to drain).
//   Inserts name neither column (the default fills it) in both versions.
//
// long-reader: the CHECK scenario beside a reporting transaction that holds ACCESS SHARE on orders for
// --reader-seconds (6) from half a second before expand (BEGIN; SELECT count(*); SELECT pg_sleep(6);
// COMMIT on its own connection), the most common way a migration stalls an application in
// production: an ALTER TABLE queued behind the report makes every application statement on the table
// queue behind it. Its naive contrast is the same instant ALTER with no lock_timeout.
//
// The table is set up with an `integer` identity primary key (the kind of table that needs the
// integer → bigint change); created_at runs back one second per row from the setup time.
//
// --light (CI): a small table, a short baseline, every ready scenario, no naive runs; exits 1 when
// any application statement failed, a scenario failed, left a non-empty second plan, a wrong row
// count or a lost update, or zdm's max stall exceeded 2 × the lock timeout. Writes
// bench/results/traffic.json (--light: bench/results/traffic-light.json).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyPhase, DEFAULTS } from '../dist/apply/index.js';
import { writeDesiredState } from '../dist/desired/write.js';
import { introspect } from '../dist/introspect/index.js';
import { withoutJournal } from '../dist/model/objects.js';
import { PHASES } from '../dist/plan/types.js';
import { makePlan } from '../dist/workflow/plan.js';
import {
  connectTo,
  dropDatabase,
  fmtInt,
  fmtMs,
  fmtRatio,
  freshDatabase,
  machineFacts,
  parseFlags,
  printTable,
  round,
  sleep,
  sql,
  startServer,
  withDb,
  writeResults,
} from './lib/common.mjs';
import { startWorkload, summarize } from './lib/workload.mjs';

const flags = parseFlags({
  light: { type: 'boolean', default: false, help: 'CI mode: small table, short run, exit 1 on any failure' },
  rows: { type: 'number', help: 'rows in orders (default 1,000,000; --light 20,000)' },
  rate: { type: 'number', default: 200, help: 'application statements per second, all connections together' },
  connections: { type: 'number', default: 4, help: 'application connections' },
  'baseline-seconds': { type: 'number', help: 'length of the no-apply baseline (default 10; --light 3)' },
  'lock-timeout-ms': { type: 'number', help: "zdm apply --lock-timeout (default: zdm's own, 200)" },
  scenarios: { type: 'string', help: 'comma-separated scenario names to run (default: all ready ones)' },
  'no-naive': { type: 'boolean', default: false, help: 'skip the naive contrast runs' },
  out: { type: 'string', help: 'write the results there instead of bench/results/traffic.json' },
  'reader-seconds': {
    type: 'number',
    help: 'long-reader: how long the reporting transaction holds its lock (default 6; --light 3)',
  },
  pg: { type: 'number', default: 18, help: 'major version of the embedded PostgreSQL' },
  'database-url': { type: 'string', help: 'an existing server (admin URL: the bench creates its own databases)' },
});
const light = flags.light;
const rows = flags.rows ?? (light ? 20_000 : 1_000_000);
const baselineSeconds = flags['baseline-seconds'] ?? (light ? 3 : 10);
/** zdm apply's defaults unless --lock-timeout-ms is given (the bench measures what a user gets). */
const lockTimeoutMs = flags['lock-timeout-ms'] ?? DEFAULTS.lockTimeoutMs;
const CUSTOMERS = 10_000;
/** Setup time, whole seconds: the newest row's created_at, and the partition swap's bounds. */
const T0 = Math.floor(Date.now() / 1000) * 1000;
/** A timestamptz literal (UTC) `ms` after the epoch, as PostgreSQL prints a partition bound. */
const ts = (ms) =>
  `'${new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '+00')}'`;

const SETUP = `
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
  id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL,
  amount numeric(10,2) NOT NULL,
  status text NOT NULL DEFAULT 'new',
  note text,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name) SELECT 'customer ' || g FROM pg_catalog.generate_series(1, ${CUSTOMERS}) AS g;
INSERT INTO orders (customer_id, amount, status, note, created_at)
  SELECT 1 + g % ${CUSTOMERS}, 1 + g % 500, 'new', 'order ' || g, timestamptz ${ts(T0)} - g * interval '1 second'
    FROM pg_catalog.generate_series(1, ${rows}) AS g;
`;

/**
 * The application: valid for the schema before, during and after every scenario (so an error is
 * zdm's fault). `status` is the name of the status column the version knows: `status` for the old
 * version, `state` for the new one (rename-column only).
 */
function appStatement(n, i, status = 'status') {
  const r = (i * 7919 + n * 104729) % 1_000_003;
  const id = 1 + (r % rows);
  switch (i % 4) {
    case 0:
    case 2:
      return { kind: 'read', sql: `SELECT id, customer_id, amount, ${status} FROM orders WHERE id = $1`, values: [id] };
    case 1:
      return {
        kind: 'insert',
        sql: 'INSERT INTO orders (customer_id, amount, note) VALUES ($1, $2, $3)',
        values: [1 + (r % CUSTOMERS), 1 + (r % 500), `app ${n}-${i}`],
      };
    default:
      return {
        kind: 'update',
        sql: `UPDATE orders SET ${status} = $2 WHERE id = $1`,
        values: [id, i % 8 === 3 ? 'paid' : 'shipped'],
      };
  }
}

// ---- Scenarios: data. `edit` turns the live model into the desired one; `naive` is the one-statement
// way a migration tool without online techniques would do it. `pending` scenarios are listed (and
// reported as pending) until the planner supports them: give them an `edit` and drop `pending`.

const mapTable = (model, name, f) => ({
  ...model,
  schemas: model.schemas.map((s) =>
    s.name !== 'public' ? s : { ...s, tables: s.tables.map((t) => (t.name === name ? f(t) : t)) },
  ),
});
const index = (name, column) => ({
  kind: 'index',
  name,
  unique: false,
  method: 'btree',
  keys: [{ column, descending: false }],
  include: [],
  nullsNotDistinct: false,
  valid: true,
});

/**
 * The partition swap's partitions: the older and the newer half of the loaded rows, the orders of the
 * next 30 days (the application's inserts) and a default partition. [name, from, to] as literals.
 */
const PARTITIONS = [
  ['orders_older', ts(T0 - (rows + 1) * 1000), ts(T0 - Math.floor(rows / 2) * 1000)],
  ['orders_recent', ts(T0 - Math.floor(rows / 2) * 1000), ts(T0)],
  ['orders_current', ts(T0), ts(T0 + 30 * 86_400_000)],
  ['orders_default'],
];

/** orders partitioned in one transaction, as a tool without online techniques does it (the partition swap's naive run, and the unpartition scenario's starting point). */
const PARTITION_IN_ONE_TRANSACTION = [
  'BEGIN',
  'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE',
  'CREATE TABLE orders_p (LIKE orders INCLUDING DEFAULTS INCLUDING IDENTITY, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)',
  ...PARTITIONS.map(
    ([name, from, to]) =>
      `CREATE TABLE ${name} PARTITION OF orders_p ${from === undefined ? 'DEFAULT' : `FOR VALUES FROM (${from}) TO (${to})`}`,
  ),
  'INSERT INTO orders_p OVERRIDING SYSTEM VALUE SELECT * FROM orders',
  "SELECT setval(pg_get_serial_sequence('orders_p', 'id'), (SELECT max(id) FROM orders))",
  'DROP TABLE orders',
  'ALTER TABLE orders_p RENAME TO orders',
  'COMMIT',
].join(';\n');

/** The primary key of orders once partitioned (it must hold the partition key). */
const PK_ID_CREATED_AT = {
  kind: 'primaryKey',
  columns: ['id', 'created_at'],
  include: [],
  deferrable: false,
  initiallyDeferred: false,
};

const addCheck = (m) =>
  mapTable(m, 'orders', (t) => ({
    ...t,
    checks: [
      ...t.checks,
      { kind: 'check', name: 'chk_orders_amount_positive', expression: 'amount > 0', noInherit: false, valid: true },
    ],
  }));

/** How long the long-reader scenario's reporting transaction holds ACCESS SHARE on orders. */
const READER_SECONDS = flags['reader-seconds'] ?? (light ? 3 : 6);

/**
 * A reporting transaction, as a BI tool or a forgotten psql session runs one: `BEGIN; SELECT count(*)
 * FROM orders; SELECT pg_sleep(N); COMMIT` on its own connection. It holds ACCESS SHARE on orders
 * (and on the indexes its plan opened) from the count to the commit. Resolves once the sleep has
 * started and half a second has passed (the report is running when zdm arrives); `done` settles
 * when it has committed (or failed: `error`).
 */
async function longReader(url) {
  const c = await connectTo(url, 'zdm bench report');
  await c.query('BEGIN');
  await c.query('SELECT count(*) FROM orders');
  const started = performance.now();
  const done = c
    .query('SELECT pg_catalog.pg_sleep($1)', [READER_SECONDS])
    .then(() => c.query('COMMIT'))
    .then(
      () => ({ heldMs: round(performance.now() - started) }),
      (err) => ({
        heldMs: round(performance.now() - started),
        error: err instanceof Error ? err.message : String(err),
      }),
    )
    .finally(() => c.end().catch(() => {}));
  await sleep(500);
  return { done };
}

export const SCENARIOS = [
  {
    name: 'check',
    title: 'CHECK (amount > 0): NOT VALID, then VALIDATE',
    edit: addCheck,
    naive: 'ALTER TABLE orders ADD CONSTRAINT chk_orders_amount_positive CHECK (amount > 0)',
  },
  {
    name: 'long-reader',
    title: `CHECK (amount > 0) NOT VALID, then VALIDATE, beside a ${READER_SECONDS} s reporting transaction on orders`,
    workload:
      `one application version throughout; from 0.5 s before expand, a reporting transaction holds ACCESS SHARE on orders ` +
      `for ${READER_SECONDS} s (BEGIN; SELECT count(*) FROM orders; SELECT pg_sleep(${READER_SECONDS}); COMMIT)`,
    edit: addCheck,
    beforePhase: { expand: longReader },
    // Without zdm: the same instant ALTER (NOT VALID: no scan) with no lock_timeout, beside the same report.
    naive: 'ALTER TABLE orders ADD CONSTRAINT chk_orders_amount_positive CHECK (amount > 0) NOT VALID',
    naiveNote: `no lock_timeout, beside the same ${READER_SECONDS} s reporting transaction`,
    beforeNaive: longReader,
  },
  {
    name: 'foreign-key',
    title: 'FK orders.customer_id → customers.id, with its index',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        indexes: [...t.indexes, index('idx_orders_customer_id', 'customer_id')],
        foreignKeys: [
          ...t.foreignKeys,
          {
            kind: 'foreignKey',
            name: 'fk_orders_customer',
            columns: ['customer_id'],
            references: { schema: 'public', table: 'customers', columns: ['id'] },
            onUpdate: 'no action',
            onDelete: 'no action',
            match: 'simple',
            deferrable: false,
            initiallyDeferred: false,
            valid: true,
          },
        ],
      })),
    naive: 'ALTER TABLE orders ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)',
  },
  {
    name: 'index',
    title: 'index on orders (created_at), CONCURRENTLY',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({ ...t, indexes: [...t.indexes, index('idx_orders_created_at', 'created_at')] })),
    naive: 'CREATE INDEX idx_orders_created_at ON orders (created_at)',
  },
  {
    name: 'set-not-null',
    title: 'orders.note SET NOT NULL, through a validated CHECK',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        columns: t.columns.map((c) => (c.name === 'note' ? { ...c, nullable: false } : c)),
      })),
    naive: 'ALTER TABLE orders ALTER COLUMN note SET NOT NULL',
  },
  {
    name: 'add-column-not-null-default',
    title: 'new column flagged boolean NOT NULL DEFAULT false',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        columns: [
          ...t.columns,
          { kind: 'column', name: 'flagged', type: 'boolean', nullable: false, default: 'false' },
        ],
      })),
  },
  {
    name: 'rename-column',
    title: 'rename orders.status to state (new column, two-way sync trigger, backfill, drop the old one)',
    workload:
      'old app version (status) until expand is done; during backfill half the connections on the new version (state); ' +
      'all on the new version, old statements drained, before contract',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        columns: t.columns.map((c) => (c.name === 'status' ? { ...c, name: 'state', renamedFrom: 'status' } : c)),
      })),
    // The new application version is deployed between phases, as the plan's workflow says.
    afterPhase: {
      expand: (app) => app.deploy(Math.ceil(flags.connections / 2)),
      backfill: async (app) => {
        app.deploy(flags.connections);
        await app.drained();
      },
    },
    // The naive rename is instant, but the running (old) application version fails from that instant
    // until the new version is out: counted here over the 500 ms after the statement.
    naive: 'ALTER TABLE orders RENAME COLUMN status TO state',
    naiveNote: 'the old app version fails from then on; counted over 500 ms',
    statusAfter: 'state',
  },
  {
    name: 'integer-to-bigint',
    title: 'orders.id (identity primary key) integer → bigint (shadow column, two-way sync trigger, backfill, swap)',
    workload: 'one application version throughout (it reads and updates by id, whichever its type)',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        columns: t.columns.map((c) => (c.name === 'id' ? { ...c, type: 'bigint' } : c)),
      })),
    naive: 'ALTER TABLE orders ALTER COLUMN id TYPE bigint',
  },
  {
    name: 'integer-to-bigint-swap',
    title:
      'orders.id (identity primary key) integer → bigint through a new table (--type-changes swap: shadow table with the bigint key, sync trigger, copy through COPY, verify, swap)',
    workload: 'one application version throughout (it reads and updates by id, whichever its type)',
    plan: { typeChanges: 'swap' },
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        columns: t.columns.map((c) => (c.name === 'id' ? { ...c, type: 'bigint' } : c)),
      })),
  },
  {
    name: 'partition-swap',
    title: 'orders becomes partitioned by range of created_at (shadow table, sync trigger, copy, verify, swap)',
    workload:
      'one application version throughout (reads and updates by id: after the swap id alone is no longer the primary key, (id, created_at) is)',
    edit: (m) =>
      mapTable(m, 'orders', (t) => ({
        ...t,
        primaryKey: { ...t.primaryKey, columns: ['id', 'created_at'] },
        partitionBy: { strategy: 'range', columns: ['created_at'] },
        partitions: PARTITIONS.map(([name, from, to]) => ({
          kind: 'partition',
          schema: t.schema,
          name,
          bound: from === undefined ? { kind: 'default' } : { kind: 'range', from: [from], to: [to] },
          uniqueConstraints: [],
          checks: [],
          foreignKeys: [],
          exclusionConstraints: [],
          indexes: [],
          partitions: [],
        })),
      })),
    // What a tool without online techniques does: build the partitioned table and copy the rows into
    // it while holding the live one, in one transaction.
    naiveLabel:
      'BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; CREATE TABLE orders_p (…) PARTITION BY RANGE (created_at) and its 4 partitions; ' +
      'INSERT INTO orders_p … SELECT * FROM orders; DROP TABLE orders; ALTER TABLE orders_p RENAME TO orders; COMMIT',
    naive: PARTITION_IN_ONE_TRANSACTION,
  },
  {
    name: 'partitioned-key',
    title:
      "a primary key (id, created_at) added to orders, partitioned and with rows: per partition CREATE UNIQUE INDEX CONCURRENTLY and the partition's key USING INDEX, then the parent's ADD CONSTRAINT attaches them",
    workload: 'one application version throughout (reads and updates by id)',
    // orders partitioned with no primary key, on the scenario's copy, before the workload starts.
    prepare: PARTITION_IN_ONE_TRANSACTION.replace(', PRIMARY KEY (id, created_at)', ''),
    edit: (m) => mapTable(m, 'orders', (t) => ({ ...t, primaryKey: { ...PK_ID_CREATED_AT, name: 'orders_pkey' } })),
  },
  {
    name: 'unpartition',
    title:
      'orders, partitioned by range of created_at, becomes a plain table again (the partition swap in reverse: plain shadow, sync trigger on the partitioned table, copy, verify, swap)',
    workload: 'one application version throughout (reads and updates by id; the primary key stays (id, created_at))',
    // Run on the scenario's copy of the database before the workload starts and the plan is made.
    prepare: PARTITION_IN_ONE_TRANSACTION,
    edit: (m) =>
      mapTable(m, 'orders', (t) => {
        const { partitionBy: _key, ...plain } = t;
        return { ...plain, partitions: [] };
      }),
  },
];

const TEMPLATE = 'zdm_bench_traffic_tmpl';
const RUN_DB = 'zdm_bench_traffic_run';

async function copyDatabase(adminUrl, major) {
  await dropDatabase(adminUrl, RUN_DB);
  // FILE_COPY: a file-level copy (the default before 15), much faster than WAL_LOG for one big table.
  await sql(adminUrl, `CREATE DATABASE ${RUN_DB} TEMPLATE ${TEMPLATE}${major >= 15 ? ' STRATEGY = FILE_COPY' : ''}`);
  return withDb(adminUrl, RUN_DB);
}

/**
 * The application as the workload runs it: every connection on the old version until `deploy(k)`
 * moves connections 0..k-1 to the new one (rename-column: `state` instead of `status`).
 * `drained()` resolves once no old-version statement is in flight: a connection runs one statement
 * at a time, so once each has issued a new-version statement, its old-version ones are done.
 */
function app() {
  const version = new Array(flags.connections).fill('old');
  const issued = new Array(flags.connections).fill('old');
  const statements = { old: 0, new: 0 };
  return {
    rate: flags.rate,
    connections: flags.connections,
    statements,
    next: (n, i) => {
      issued[n] = version[n];
      statements[version[n]]++;
      return appStatement(n, i, version[n] === 'new' ? 'state' : 'status');
    },
    deploy(k) {
      for (let n = 0; n < k; n++) version[n] = 'new';
    },
    async drained() {
      while (issued.some((v) => v === 'old')) await sleep(2);
    },
  };
}

async function runScenario(adminUrl, major, scenario, tmp) {
  const url = await copyDatabase(adminUrl, major);
  const c = await connectTo(url, 'zdm bench apply');
  try {
    if (scenario.prepare) await c.query(scenario.prepare);
    const live = withoutJournal(await introspect(c));
    const desiredFile = path.join(tmp, `${scenario.name}.yaml`);
    writeFileSync(desiredFile, writeDesiredState(scenario.edit(live), { schemaPath: '' }));
    const made = await makePlan(c, { desiredPath: desiredFile, name: scenario.name, ...scenario.plan });
    if (made.empty) throw new Error(`${scenario.name}: the plan is empty`);
    const allowHazards = [...new Set(made.plan.phases.flatMap((p) => p.steps.flatMap((s) => s.hazards)))];
    const application = app();
    const workload = await startWorkload(url, application);
    await sleep(300);
    const phases = [];
    /** Settles when each session a scenario started beside the application (a report) has ended. */
    const sessions = [];
    let failure;
    try {
      for (const phase of PHASES) {
        const from = performance.now();
        const steps = made.plan.phases.find((p) => p.name === phase)?.steps ?? [];
        const side = await scenario.beforePhase?.[phase]?.(url);
        if (side) sessions.push(side.done);
        try {
          await applyPhase(c, made.plan, {
            phase,
            ...(flags['lock-timeout-ms'] === undefined ? {} : { lockTimeoutMs }),
            allowHazards,
            // The contract gate: the old version drains right before contract (as a deploy waits
            // for its old pods), seconds before; the default quiet period (1 h) would refuse it.
            oldWritesQuietMs: 0,
            // As zdm apply does: a second session watches concurrent builds while they wait.
            sideConnection: () => connectTo(url, 'zdm bench apply (watching a wait)'),
          });
        } catch (err) {
          failure = `${phase}: ${err instanceof Error ? err.message : String(err)}`;
        }
        phases.push({
          phase,
          from,
          to: performance.now(),
          steps: steps.map((s) => s.summary),
          locks: [...new Set(steps.flatMap((s) => s.locks.map((l) => `${l.mode} (${l.hold})`)))],
        });
        if (failure) break;
        await scenario.afterPhase?.[phase]?.(application);
      }
      await sleep(300);
    } finally {
      await workload.stop();
    }
    const reports = await Promise.all(sessions);
    const again = failure ? undefined : await makePlan(c, { desiredPath: desiredFile, ...scenario.plan });
    // No row lost or duplicated on the way (the application never deletes): the loaded rows plus the
    // application's committed inserts.
    const inserted = workload.samples.filter((x) => x.kind === 'insert' && !x.error).length;
    const count = Number((await c.query('SELECT count(*) AS n FROM orders')).rows[0].n);
    const updates = await lostUpdates(c, workload.samples, failure ? undefined : (scenario.statusAfter ?? 'status'));
    return {
      scenario: scenario.name,
      title: scenario.title,
      workload: scenario.workload,
      ...(scenario.afterPhase ? { statementsByAppVersion: application.statements } : {}),
      failure,
      secondPlanEmpty: again?.empty,
      ...(reports.length ? { reports } : {}),
      rows: { expected: rows + inserted, actual: count },
      updates,
      phases: phases.map((p) => ({
        phase: p.phase,
        durationMs: round(p.to - p.from),
        steps: p.steps,
        locks: p.locks,
        ...summarize(workload.samples, p.from, p.to),
      })),
      all: summarize(workload.samples, phases[0]?.from, phases.at(-1)?.to),
    };
  } finally {
    await c.end();
  }
}

/**
 * Whether every row the application updated holds the value of its last update (a sync trigger, a
 * backfill or a swap that lost a write shows here). Rows whose last update overlapped in time with
 * another one of a different value are left out: which of the two committed last is unknown.
 */
async function lostUpdates(c, samples, column) {
  if (!column) return undefined;
  const byId = new Map();
  for (const s of samples) {
    if (s.kind !== 'update' || s.error) continue;
    const [id, value] = s.values;
    if (!byId.has(id)) byId.set(id, []);
    byId.get(id).push({ from: s.due, to: s.due + s.ms, value });
  }
  const expected = new Map();
  for (const [id, us] of byId) {
    us.sort((a, b) => a.to - b.to);
    const last = us.at(-1);
    if (us.some((u) => u !== last && u.value !== last.value && u.to > last.from)) continue;
    expected.set(id, last.value);
  }
  const r = await c.query(`SELECT id, ${column} AS v FROM orders WHERE id = ANY($1::bigint[])`, [[...expected.keys()]]);
  const found = new Map(r.rows.map((x) => [Number(x.id), x.v]));
  const wrong = [...expected].filter(([id, v]) => found.get(id) !== v);
  return {
    checked: expected.size,
    wrong: wrong.length,
    ...(wrong.length
      ? { examples: wrong.slice(0, 5).map(([id, v]) => ({ id, expected: v, actual: found.get(id) ?? null })) }
      : {}),
  };
}

async function runNaive(adminUrl, major, scenario) {
  const url = await copyDatabase(adminUrl, major);
  const c = await connectTo(url, 'zdm bench naive');
  try {
    const workload = await startWorkload(url, app());
    await sleep(500);
    const side = await scenario.beforeNaive?.(url);
    const from = performance.now();
    let error;
    try {
      await c.query(scenario.naive);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const to = performance.now();
    await sleep(500);
    await workload.stop();
    await side?.done;
    return {
      scenario: scenario.name,
      statement: scenario.naive,
      label: scenario.naiveLabel ?? scenario.naive,
      note: scenario.naiveNote,
      durationMs: round(to - from),
      error,
      ...summarize(workload.samples, from - 1, to + 500),
    };
  } finally {
    await c.end();
  }
}

const cleanSummary = (s) => ({
  statements: s.statements,
  errors: s.errors,
  ...(s.errorMessages.length ? { errorMessages: s.errorMessages } : {}),
  p50Ms: round(s.p50Ms),
  p99Ms: round(s.p99Ms),
  maxMs: round(s.maxMs),
});

async function main() {
  const unknown = flags.scenarios?.split(',').filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown?.length) {
    throw new Error(
      `--scenarios: no scenario ${unknown.join(', ')} (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`,
    );
  }
  const server = await startServer({ databaseUrl: flags['database-url'], major: flags.pg });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zdm-bench-traffic-'));
  const t0 = performance.now();
  let exitCode = 0;
  try {
    const major = Math.floor(
      Number((await sql(server.url, 'SHOW server_version_num')).rows[0].server_version_num) / 10000,
    );
    const wanted = flags.scenarios?.split(',');
    const ready = SCENARIOS.filter((s) => !s.pending && (!wanted || wanted.includes(s.name)));
    const pending = SCENARIOS.filter((s) => s.pending);
    const l0 = performance.now();
    const tmplUrl = await freshDatabase(server.url, TEMPLATE);
    await sql(tmplUrl, SETUP);
    await sql(tmplUrl, 'VACUUM (FREEZE, ANALYZE) customers, orders');
    console.log(
      `orders: ${fmtInt(rows)} rows, customers: ${fmtInt(CUSTOMERS)}, loaded in ${((performance.now() - l0) / 1000).toFixed(1)} s`,
    );

    // Baseline: the same workload on a fresh copy, nothing else running.
    const baseUrl = await copyDatabase(server.url, major);
    const w = await startWorkload(baseUrl, app());
    await sleep(baselineSeconds * 1000);
    const baseline = summarize(await w.stop());
    console.log(
      `baseline (${baselineSeconds} s, no apply): ${baseline.statements} statements, ${baseline.errors} errors, ` +
        `p50 ${fmtMs(baseline.p50Ms)}, p99 ${fmtMs(baseline.p99Ms)}, max ${fmtMs(baseline.maxMs)}`,
    );

    const results = [];
    for (const s of ready) {
      const r = await runScenario(server.url, major, s, tmp);
      results.push(r);
      console.log(
        `${s.name}: ${r.failure ? `FAILED (${r.failure})` : 'applied'}; ${r.all.statements} statements, ${r.all.errors} errors, ` +
          `max ${fmtMs(r.all.maxMs)}; phases ${r.phases.map((p) => `${p.phase} ${fmtMs(p.durationMs)}`).join(', ')}` +
          (r.secondPlanEmpty === false ? '; second plan NOT empty' : '') +
          (r.rows.actual !== r.rows.expected ? `; ${r.rows.actual} rows in orders, expected ${r.rows.expected}` : '') +
          (r.updates?.wrong ? `; ${r.updates.wrong} of ${r.updates.checked} updated rows lost their last update` : '') +
          (r.statementsByAppVersion
            ? `; statements by app version: old ${r.statementsByAppVersion.old}, new ${r.statementsByAppVersion.new}`
            : ''),
      );
    }
    const naive = [];
    if (!light && !flags['no-naive']) {
      for (const s of ready.filter((x) => x.naive)) {
        const n = await runNaive(server.url, major, s);
        naive.push(n);
        console.log(
          `naive ${s.name}: ${n.label} took ${fmtMs(n.durationMs)}` +
            `${n.error ? ` (failed: ${n.error})` : ''}; app max ${fmtMs(n.maxMs)}, ${n.errors} app errors`,
        );
      }
    }
    await dropDatabase(server.url, RUN_DB);
    await dropDatabase(server.url, TEMPLATE);

    const facts = await machineFacts(server.url);
    console.log(
      `\nPostgreSQL ${facts.postgres}, ${facts.cores} cores, ${facts.memoryGiB} GiB, node ${facts.node}; orders ${fmtInt(rows)} rows; ` +
        `${flags.rate} statements/s over ${flags.connections} connections (50% reads, 25% inserts, 25% updates); lock timeout ${lockTimeoutMs} ms`,
    );
    const ratio = (x, b) => (x !== undefined && b ? fmtRatio(x / b) : 'n/a');
    printTable(
      [
        'scenario',
        'phase',
        'duration',
        'statements',
        'errors',
        'p50',
        'p99',
        'max',
        'p99 / baseline',
        'max / baseline',
      ],
      [
        [
          'baseline (no apply)',
          '—',
          `${baselineSeconds} s`,
          fmtInt(baseline.statements),
          baseline.errors,
          fmtMs(baseline.p50Ms),
          fmtMs(baseline.p99Ms),
          fmtMs(baseline.maxMs),
          '1.00×',
          '1.00×',
        ],
        ...results.flatMap((r) =>
          r.phases.map((p) => [
            r.scenario,
            `${p.phase} (${p.steps.length} steps)`,
            fmtMs(p.durationMs),
            fmtInt(p.statements),
            p.errors,
            fmtMs(p.p50Ms),
            fmtMs(p.p99Ms),
            fmtMs(p.maxMs),
            ratio(p.p99Ms, baseline.p99Ms),
            ratio(p.maxMs, baseline.maxMs),
          ]),
        ),
      ],
    );
    if (naive.length) {
      console.log(
        '\nNaive versions (one statement; one transaction for the partition swap) on the same table, same workload: the longest the application waited',
      );
      printTable(
        [
          'scenario',
          'naive statement',
          'its duration',
          'app max (naive)',
          'app max (zdm, all phases)',
          'errors naive / zdm',
        ],
        naive.map((n) => {
          const z = results.find((r) => r.scenario === n.scenario);
          return [
            n.scenario,
            `\`${n.label}\`${n.note ? ` (${n.note})` : ''}`,
            fmtMs(n.durationMs),
            fmtMs(n.maxMs),
            fmtMs(z?.all.maxMs),
            `${n.errors} / ${z?.all.errors ?? 'n/a'}`,
          ];
        }),
      );
    }
    if (pending.length)
      console.log(
        `\npending scenarios (${pending.map((p) => p.pending)[0]}): ${pending.map((p) => p.name).join(', ')}`,
      );

    const zdmMax = Math.max(0, ...results.map((r) => r.all.maxMs ?? 0));
    const zdmErrors = results.reduce((n, r) => n + r.all.errors, 0);
    const failures = results.filter(
      (r) => r.failure || r.secondPlanEmpty === false || r.rows.actual !== r.rows.expected || r.updates?.wrong,
    );
    const bound = 2 * lockTimeoutMs;
    const verdict = {
      applicationErrors: zdmErrors,
      zdmMaxStallMs: round(zdmMax),
      maxStallBoundMs: bound,
      failedScenarios: failures.map((f) => f.scenario),
      ok: zdmErrors === 0 && zdmMax <= bound && failures.length === 0,
    };
    console.log(
      `\n${verdict.ok ? 'OK' : 'FAILED'}: ${zdmErrors} failed application statements during zdm applies; ` +
        `zdm max stall ${fmtMs(zdmMax)} (bound ${bound} ms = 2 × lock timeout)` +
        (failures.length ? `; scenarios that failed: ${verdict.failedScenarios.join(', ')}` : ''),
    );
    if (light && !verdict.ok) exitCode = 1;
    writeResults(
      light ? 'traffic-light' : 'traffic',
      {
        benchmark: light ? 'traffic --light' : 'traffic',
        command: `npm run bench:traffic${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
        date: new Date().toISOString(),
        machine: facts,
        settings: {
          rows,
          customers: CUSTOMERS,
          rate: flags.rate,
          connections: flags.connections,
          baselineSeconds,
          lockTimeoutMs,
        },
        baseline: cleanSummary(baseline),
        scenarios: results.map((r) => ({
          scenario: r.scenario,
          title: r.title,
          workload: r.workload,
          statementsByAppVersion: r.statementsByAppVersion,
          ...(r.failure ? { failure: r.failure } : {}),
          secondPlanEmpty: r.secondPlanEmpty,
          ...(r.reports ? { reports: r.reports } : {}),
          rows: r.rows,
          updates: r.updates,
          all: cleanSummary(r.all),
          phases: r.phases.map((p) => ({
            phase: p.phase,
            durationMs: p.durationMs,
            steps: p.steps,
            locks: p.locks,
            ...cleanSummary(p),
            p99VsBaseline: p.p99Ms && baseline.p99Ms ? round(p.p99Ms / baseline.p99Ms, 2) : null,
            maxVsBaseline: p.maxMs && baseline.maxMs ? round(p.maxMs / baseline.maxMs, 2) : null,
          })),
        })),
        naive: naive.map((n) => ({
          scenario: n.scenario,
          statement: n.statement,
          note: n.note,
          durationMs: n.durationMs,
          ...(n.error ? { error: n.error } : {}),
          ...cleanSummary(n),
          zdmMaxMs: round(results.find((r) => r.scenario === n.scenario)?.all.maxMs),
        })),
        pending: pending.map((p) => ({ scenario: p.name, title: p.title, status: p.pending })),
        verdict,
        totalSeconds: round((performance.now() - t0) / 1000, 0),
      },
      flags.out,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await server.stop();
  }
  process.exitCode = exitCode;
}

await main();
