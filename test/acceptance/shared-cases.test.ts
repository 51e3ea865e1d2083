/**
 * The convergence cases of ../shared/cases (or ZDM_CASES_DIR), read at run time: a case folder added
 * there is a new test with no code change. For each case, on the test server (PostgreSQL 18 in
 * `npm test`, 14 in CI's second pass), through the code paths of the CLI:
 *
 * 1. before.sql is loaded into a fresh database A, after.sql into a fresh database B;
 * 2. `zdm pull B --out DIR/` (introspect + writeDesiredStateFiles), then `zdm plan` A against DIR
 *    (makePlan), and the plan goes through its file format (serializePlan → parsePlan) as between
 *    `zdm plan` and `zdm apply`;
 * 3. `zdm apply` expand, backfill, contract on A (applyPhase), allowing exactly the hazards the
 *    plan declares;
 * 4. A's schema must equal B's, a second `zdm plan --check` must find nothing to do, and check.sql
 *    (when the case has one) must return true.
 *
 * Referees of "A's schema equals B's", both compared as sets of lines (column order is not a
 * difference), with the lines only in A and only in B printed on failure:
 * - always: catalogDump (test/support/catalog-dump.ts), a dump read from the catalog with the
 *   server's own deparsers, independent of zdm's introspection;
 * - also `pg_dump --schema-only` (zdm's schema left out), where the machine's pg_dump can dump the
 *   server, i.e. its major version is at least the server's: the embedded PostgreSQL packages ship
 *   no pg_dump, and the machine's (15 here) refuses an 18 server, so it referees the PostgreSQL 14
 *   pass and not the 18 one. The test says which referees ran.
 *
 * What each case does today is in shared-cases.expect.yaml: `converges` (a case not listed),
 * `refused: REGEX` (zdm refuses it by design: `zdm plan` must fail with a message matching REGEX), or
 * `known-gap: REASON`. A known gap runs as `test.fails`: it passes while the case does not
 * converge, and fails the suite the day it does, so that its entry is removed. Nothing is skipped.
 * To see why a known gap fails (which lines differ, which step failed with which SQL), run it as an
 * ordinary test: `ZDM_SHARED_CASES_STRICT=1 npx vitest run test/acceptance/shared-cases.test.ts -t NAME`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { writeDesiredStateFiles } from '../../src/desired/index.js';
import { introspect } from '../../src/introspect/index.js';
import { parsePlan, serializePlan } from '../../src/plan/file.js';
import { type Hazard, PHASES, type Plan } from '../../src/plan/types.js';
import { schemaDiff } from '../../src/render/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { rehearsePlan } from '../../src/workflow/rehearse.js';
import { catalogDump, compareDumps, formatDifference } from '../support/catalog-dump.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { pgDumpFor, pgDumpLines } from '../support/pg-dump.js';
import { expectRehearsed, rehearsalSelector, suiteScratch } from '../support/rehearsal.js';
import {
  type CaseStatus,
  listSharedCases,
  loadExpectations,
  type SharedCase,
  sharedCasesDir,
  sharedCasesUnavailableReason,
  statusOn,
} from '../support/shared-cases.js';
import { unavailableOutsideCi } from '../support/shared-folder.js';
import { runSqlScript } from '../support/sql-script.js';
import { describePlan } from './cases.js';

const EXPECTATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'shared-cases.expect.yaml');
const STRICT = process.env.ZDM_SHARED_CASES_STRICT === '1';

/** A case that did not hold: the message says where it stopped (plan, apply, convergence) and why. */
class CaseFailure extends Error {
  override readonly name = 'CaseFailure';
}

/** Runs `sql` on the server's admin database. */
async function admin<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

async function serverMajor(): Promise<number> {
  const [r] = await admin<{ v: string }>(`SELECT pg_catalog.current_setting('server_version_num') AS v`);
  return Math.floor(Number(r!.v) / 10000);
}

async function load(db: TestDatabase, sql: string, file: string): Promise<void> {
  const { errors } = await runSqlScript(db.client, sql);
  if (errors.length > 0) {
    throw new Error(`${file} does not load:\n${errors.map((e) => `  ${e.statement}\n    → ${e.message}`).join('\n')}`);
  }
}

function declaredHazards(plan: Plan): Hazard[] {
  return [...new Set(plan.phases.flatMap((p) => p.steps.flatMap((s) => s.hazards)))];
}

/** The step an apply error names, with its SQL, for the failure message. */
function failedStep(plan: Plan, err: unknown): string {
  const stepId = (err as { details?: { stepId?: unknown } }).details?.stepId;
  const step = plan.phases.flatMap((p) => p.steps).find((s) => s.id === stepId);
  if (!step) return '';
  return `\nthe step: ${step.id} ${step.summary}\n${step.sql.map((q) => `    ${q}`).join('\n')}`;
}

const unavailable = unavailableOutsideCi(sharedCasesUnavailableReason(), 'shared-cases');
const cases = listSharedCases();
const major = unavailable ? 0 : await serverMajor();
const expectations = unavailable
  ? new Map()
  : loadExpectations(
      EXPECTATIONS,
      cases.map((c) => c.name),
    );
const pgDump = unavailable ? null : pgDumpFor(major);

function label(s: CaseStatus): string {
  switch (s.kind) {
    case 'converges':
      return 'converges';
    case 'refused':
      return `refused: ${s.error.source}`;
    case 'known-gap':
      // The issue only (`issue 11`); the reason is in the expectations file.
      return `known gap: ${/^[^:]*/.exec(s.reason)![0]}`;
  }
}

/** Roles are cluster-wide: the ones a case creates (CREATE ROLE name) and that did not exist before it. */
async function newRoles(c: SharedCase): Promise<string[]> {
  const named = [...`${c.before}\n${c.after}`.matchAll(/CREATE\s+ROLE\s+([a-z_][a-z0-9_]*)/gi)].map((m) =>
    m[1]!.toLowerCase(),
  );
  if (named.length === 0) return [];
  const existing = await admin<{ rolname: string }>(
    'SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY ($1::pg_catalog.text[])',
    [named],
  );
  return [...new Set(named)].filter((r) => !existing.some((e) => e.rolname === r));
}

/**
 * Cases whose rehearsal stops today, with what it says: steps taking locks the planner does not
 * declare (planner bugs rehearsal found; the entry goes when the technique declares the lock).
 */
const REHEARSAL_GAPS: Readonly<Record<string, string>> = {};

/** Which plans of the run are rehearsed, and where. */
const rehearse = rehearsalSelector();
const scratch = suiteScratch(major);

async function runCase(c: SharedCase, status: CaseStatus): Promise<void> {
  const roles = await newRoles(c);
  scratch.ahead();
  const a = await freshDatabase(`sc_${c.name}_a`);
  const b = await freshDatabase(`sc_${c.name}_b`);
  const dir = await mkdtemp(path.join(tmpdir(), `zdm-case-${c.name}-`));
  try {
    await load(a, c.before, `${c.name}/before.sql`);
    await load(b, c.after, `${c.name}/after.sql`);

    // zdm pull B --out DIR/
    const schemaDir = path.join(dir, 'schema');
    await mkdir(schemaDir);
    for (const [name, text] of writeDesiredStateFiles(await introspect(b.client))) {
      // The queries of views are in per-schema folders (<schema>/views/<view>.sql).
      await mkdir(path.dirname(path.join(schemaDir, name)), { recursive: true });
      await writeFile(path.join(schemaDir, name), text);
    }

    // zdm plan --schema DIR/ (on A)
    let made: Awaited<ReturnType<typeof makePlan>>;
    try {
      made = await makePlan(a.client, { desiredPath: schemaDir, name: 'shared-case', scratchUrl: adminUrl() });
    } catch (err) {
      const message = (err as Error).message;
      if (status.kind === 'refused') {
        expect(message, 'zdm plan refused, but not with the expected message').toMatch(status.error);
        return;
      }
      throw new CaseFailure(`zdm plan failed:\n${message}`);
    }
    if (status.kind === 'refused') {
      throw new CaseFailure(
        `zdm plan was expected to refuse (${status.error.source}) but planned:\n${describePlan(made.plan)}`,
      );
    }
    const plan = parsePlan(serializePlan(made.plan), 'shared-case.plan.yaml');
    const planText = `the plan:\n${describePlan(plan) || '  (no steps)'}`;

    // zdm plan's rehearsal (test/support/rehearsal.ts says which cases: every one, or every kind of step once)
    const gap = REHEARSAL_GAPS[c.name];
    if (gap !== undefined) {
      await expect(
        rehearsePlan(plan, made.live, made.desired, { scratch, models: made.models, scopeFallback: false }),
        'a planner gap rehearsal finds: when this fails, the gap is fixed; remove it from REHEARSAL_GAPS',
      ).rejects.toThrow(gap);
    } else if (rehearse(plan)) {
      try {
        expectRehearsed({
          ...plan,
          rehearsal: await rehearsePlan(plan, made.live, made.desired, {
            scratch,
            models: made.models,
            scopeFallback: false,
          }),
        });
      } catch (err) {
        throw new CaseFailure(`zdm plan's rehearsal failed: ${(err as Error).message}\n\n${planText}`);
      }
    }

    // zdm apply PLAN --phase expand|backfill|contract --allow-hazards <what the plan declares>
    const allowHazards = declaredHazards(plan);
    for (const phase of PHASES) {
      try {
        await applyPhase(a.client, plan, { phase, allowHazards, pauseMs: 0 });
      } catch (err) {
        throw new CaseFailure(
          `zdm apply --phase ${phase} failed: ${(err as Error).message}${failedStep(plan, err)}\n\n${planText}`,
        );
      }
    }

    const problems: string[] = [];
    const diff = compareDumps(await catalogDump(a.client), await catalogDump(b.client));
    if (diff.onlyInA.length + diff.onlyInB.length > 0) {
      problems.push(
        `the schemas differ (catalog dump; A = before.sql migrated, B = after.sql):\n${formatDifference(diff)}`,
      );
    }
    if (pgDump?.usable) {
      const d = compareDumps(await pgDumpLines(pgDump, a.url), await pgDumpLines(pgDump, b.url));
      if (d.onlyInA.length + d.onlyInB.length > 0) {
        problems.push(`the schemas differ (pg_dump ${pgDump.major} --schema-only):\n${formatDifference(d)}`);
      }
    }
    const again = await makePlan(a.client, { desiredPath: schemaDir, name: 'check', scratchUrl: adminUrl() });
    if (!again.empty) {
      problems.push(
        `zdm plan --check after apply: exit 2, the database still differs:\n${schemaDiff(again.liveYaml, again.desiredYaml)}\n${describePlan(again.plan)}`,
      );
    }
    if (c.check) {
      const got = await a.client.query<Record<string, unknown>>(c.check).then(
        (res) => res.rows.map((row) => Object.values(row)),
        (err: Error) => `error: ${err.message}`,
      );
      if (JSON.stringify(got) !== '[[true]]') {
        problems.push(`check.sql did not return true: ${JSON.stringify(got)}\n  ${c.check.trim()}`);
      }
    }
    if (problems.length > 0) throw new CaseFailure(`${problems.join('\n\n')}\n\n${planText}`);
  } finally {
    await a.drop();
    await b.drop();
    await rm(dir, { recursive: true, force: true });
    for (const r of roles) await admin(`DROP ROLE IF EXISTS "${r}"`);
  }
}

describe.skipIf(unavailable !== null)(`convergence cases of ${sharedCasesDir()} (PostgreSQL ${major})`, () => {
  afterAll(async () => {
    await scratch.close();
    console.log(
      `shared-cases: PostgreSQL ${major}, referees: catalog dump` +
        (pgDump?.usable ? ` and pg_dump ${pgDump.major}` : `; pg_dump not used: ${pgDump?.reason}`),
    );
  });

  test('the folder has cases, and the expectations file names only them', () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const name of expectations.keys()) expect(cases.map((c) => c.name)).toContain(name);
  });

  for (const c of cases) {
    const status = statusOn(expectations.get(c.name), major);
    const run = status.kind === 'known-gap' && !STRICT ? test.fails : test;
    run(`${c.name} (${label(status)})`, () => runCase(c, status), 180_000);
  }
});
