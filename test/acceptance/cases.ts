/**
 * Planner cases as data: one YAML file per object kind in `cases/`, each a list of cases of one shape
 * (see README.md next to this file). The live schema of a case is given one of two ways:
 * - `before`: SQL run on an empty database. acceptance.test.ts (next to this file) runs these
 *   against a server: plan, apply every phase, converge, empty second plan, data check.
 * - `live`: a desired-state document describing the live schema, loaded through the desired-state
 *   loader. test/unit/plan/cases.test.ts plans these from models, without a database.
 * Both runners check the plan with `expectPlan` below: one `ExpectedStep`, one assertion loop.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { HAZARDS, type Hazard, PHASES, type PhaseName, type Plan, type Step } from '../../src/plan/types.js';

export interface ExpectedStep {
  /** Regex (unanchored) the step's summary must match. */
  readonly summary: RegExp;
  readonly kind?: Step['kind'];
  /** Exactly these hazards, in this order (default: none). */
  readonly hazards: readonly Hazard[];
  /** Each regex must match the step's statement of the same position; the counts must agree. */
  readonly sql?: readonly RegExp[];
  /** Exactly these locks, written `MODE on schema.table (hold)`. */
  readonly locks?: readonly string[];
  /** Whether the step runs in one transaction. */
  readonly transaction?: boolean;
}

/** The steps of each phase, in order; a phase left out of the file has none. */
export type ExpectedPlan = Readonly<Record<PhaseName, readonly ExpectedStep[]>>;

interface CaseBase {
  /** `<kind>/<name>`: the file it comes from and its name there. */
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  /** The desired state, a complete YAML document (version 1). */
  readonly desired: string;
  readonly expect: ExpectedPlan;
  /** Warnings of the plan, each matched by one regex in order; none listed: the plan must have none. */
  readonly warnings: readonly RegExp[];
}

/** A case whose live schema is made by SQL on a server. */
export interface ServerCase extends CaseBase {
  readonly liveFrom: 'sql';
  /** SQL run on the empty database before planning. */
  readonly before: string;
  readonly allowHazards: readonly Hazard[];
  /** before.sql inserts rows: the harness checks that some table really has at least 1000. */
  readonly rows: boolean;
  /** SQL returning one boolean (`true`) when the data is intact after the contract phase. */
  readonly dataCheck?: string;
  /** Run only on servers of at least (at most) this major version. */
  readonly minVersion?: number;
  readonly maxVersion?: number;
  /** Run only where these extensions are available (pg_available_extensions). */
  readonly extensions: readonly string[];
}

/** A case whose live schema is a desired-state document, planned without a database. */
export interface ModelCase extends CaseBase {
  readonly liveFrom: 'document';
  /** The live schema, a complete desired-state document (version 1). */
  readonly live: string;
  /** Live row counts by `schema.table` (the planner only uses 0: an empty table). */
  readonly rowCounts?: Readonly<Record<string, number>>;
  /** The server version the plan is made for, e.g. `PostgreSQL 18.1`. */
  readonly serverVersion?: string;
  /** `schema.index` names of live indexes that are INVALID (a failed concurrent build). */
  readonly invalidIndexes: readonly string[];
}

export type PlannerCase = ServerCase | ModelCase;

const CASES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');

const COMMON_KEYS = ['name', 'desired', 'expect', 'warnings'];
const SERVER_KEYS = new Set([
  ...COMMON_KEYS,
  'before',
  'allowHazards',
  'rows',
  'dataCheck',
  'minVersion',
  'maxVersion',
  'extensions',
]);
const MODEL_KEYS = new Set([...COMMON_KEYS, 'live', 'rowCounts', 'serverVersion', 'invalidIndexes']);
const STEP_KEYS = new Set(['summary', 'kind', 'hazards', 'sql', 'locks', 'transaction']);
const STEP_KINDS: readonly Step['kind'][] = ['sql', 'backfill', 'copy', 'verify'];

class CaseFileError extends Error {
  override readonly name = 'CaseFileError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new CaseFileError(`${where}: expected a list of strings`);
  }
  return v as string[];
}

function regex(source: string, where: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new CaseFileError(`${where}: ${(err as Error).message}`);
  }
}

function hazardList(v: unknown, where: string): Hazard[] {
  const list = stringList(v, where);
  for (const h of list) {
    if (!(HAZARDS as readonly string[]).includes(h)) throw new CaseFileError(`${where}: unknown hazard ${h}`);
  }
  return list as Hazard[];
}

function parseStep(v: unknown, where: string): ExpectedStep {
  if (!isRecord(v)) {
    throw new CaseFileError(`${where}: expected a map { summary, hazards?, kind?, sql?, locks?, transaction? }`);
  }
  for (const k of Object.keys(v)) if (!STEP_KEYS.has(k)) throw new CaseFileError(`${where}: unknown key ${k}`);
  if (typeof v.summary !== 'string') throw new CaseFileError(`${where}.summary: expected a regex string`);
  if (v.kind !== undefined && !(STEP_KINDS as readonly unknown[]).includes(v.kind)) {
    throw new CaseFileError(`${where}.kind: expected one of ${STEP_KINDS.join(', ')}`);
  }
  if (v.transaction !== undefined && typeof v.transaction !== 'boolean') {
    throw new CaseFileError(`${where}.transaction: expected true or false`);
  }
  return {
    summary: regex(v.summary, `${where}.summary`),
    hazards: hazardList(v.hazards, `${where}.hazards`),
    ...(v.kind !== undefined ? { kind: v.kind as Step['kind'] } : {}),
    ...(v.sql !== undefined
      ? { sql: stringList(v.sql, `${where}.sql`).map((s, i) => regex(s, `${where}.sql[${i}]`)) }
      : {}),
    ...(v.locks !== undefined ? { locks: stringList(v.locks, `${where}.locks`) } : {}),
    ...(v.transaction !== undefined ? { transaction: v.transaction } : {}),
  };
}

function parseExpect(expect: unknown, at: string): ExpectedPlan {
  if (!isRecord(expect)) throw new CaseFileError(`${at}.expect: expected a map of phases`);
  for (const k of Object.keys(expect)) {
    if (!(PHASES as readonly string[]).includes(k)) throw new CaseFileError(`${at}.expect: unknown phase ${k}`);
  }
  const phases = {} as Record<PhaseName, ExpectedStep[]>;
  for (const phase of PHASES) {
    const steps = expect[phase] ?? [];
    if (!Array.isArray(steps)) throw new CaseFileError(`${at}.expect.${phase}: expected a list of steps`);
    phases[phase] = steps.map((s, i) => parseStep(s, `${at}.expect.${phase}[${i}]`));
  }
  return phases;
}

function parseServerCase(base: CaseBase, v: Record<string, unknown>, at: string): ServerCase {
  for (const k of Object.keys(v)) {
    if (!SERVER_KEYS.has(k)) throw new CaseFileError(`${at}: unknown key ${k} for a case with \`before\``);
  }
  if (typeof v.before !== 'string') throw new CaseFileError(`${at}.before: expected SQL text`);
  if (v.rows !== undefined && typeof v.rows !== 'boolean') throw new CaseFileError(`${at}.rows: expected a boolean`);
  if (v.dataCheck !== undefined && typeof v.dataCheck !== 'string') {
    throw new CaseFileError(`${at}.dataCheck: expected SQL text`);
  }
  for (const k of ['minVersion', 'maxVersion'] as const) {
    if (v[k] !== undefined && !Number.isInteger(v[k])) throw new CaseFileError(`${at}.${k}: expected a major version`);
  }
  return {
    ...base,
    liveFrom: 'sql',
    before: v.before,
    allowHazards: hazardList(v.allowHazards, `${at}.allowHazards`),
    rows: v.rows === true,
    ...(typeof v.dataCheck === 'string' ? { dataCheck: v.dataCheck } : {}),
    ...(typeof v.minVersion === 'number' ? { minVersion: v.minVersion } : {}),
    ...(typeof v.maxVersion === 'number' ? { maxVersion: v.maxVersion } : {}),
    extensions: stringList(v.extensions, `${at}.extensions`),
  };
}

function parseModelCase(base: CaseBase, v: Record<string, unknown>, at: string): ModelCase {
  for (const k of Object.keys(v)) {
    if (!MODEL_KEYS.has(k)) throw new CaseFileError(`${at}: unknown key ${k} for a case with \`live\``);
  }
  if (typeof v.live !== 'string') throw new CaseFileError(`${at}.live: expected a YAML document as text`);
  let rowCounts: Record<string, number> | undefined;
  if (v.rowCounts !== undefined) {
    if (!isRecord(v.rowCounts) || Object.values(v.rowCounts).some((n) => !Number.isInteger(n))) {
      throw new CaseFileError(`${at}.rowCounts: expected a map of schema.table to a row count`);
    }
    rowCounts = v.rowCounts as Record<string, number>;
  }
  if (v.serverVersion !== undefined && typeof v.serverVersion !== 'string') {
    throw new CaseFileError(`${at}.serverVersion: expected e.g. PostgreSQL 18.1`);
  }
  return {
    ...base,
    liveFrom: 'document',
    live: v.live,
    ...(rowCounts ? { rowCounts } : {}),
    ...(typeof v.serverVersion === 'string' ? { serverVersion: v.serverVersion } : {}),
    invalidIndexes: stringList(v.invalidIndexes, `${at}.invalidIndexes`),
  };
}

function parseCase(kind: string, v: unknown, where: string): PlannerCase {
  if (!isRecord(v)) throw new CaseFileError(`${where}: expected a map`);
  const { name, desired } = v;
  if (typeof name !== 'string' || name === '') throw new CaseFileError(`${where}.name: expected a string`);
  const at = `${where} (${name})`;
  if (typeof desired !== 'string') throw new CaseFileError(`${at}.desired: expected a YAML document as text`);
  if ((v.before === undefined) === (v.live === undefined)) {
    throw new CaseFileError(`${at}: give the live schema as exactly one of \`before\` (SQL) and \`live\` (a document)`);
  }
  const base: CaseBase = {
    id: `${kind}/${name}`,
    kind,
    name,
    desired,
    expect: parseExpect(v.expect, at),
    warnings: stringList(v.warnings, `${at}.warnings`).map((s, i) => regex(s, `${at}.warnings[${i}]`)),
  };
  return v.before !== undefined ? parseServerCase(base, v, at) : parseModelCase(base, v, at);
}

/** Every case of every `cases/<kind>.yaml`, in file then list order. Case ids are unique. */
export function loadCases(dir: string = CASES_DIR): PlannerCase[] {
  const out: PlannerCase[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const kind = file.replace(/\.yaml$/, '');
    let doc: unknown;
    try {
      doc = parse(readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      throw new CaseFileError(`${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(doc)) throw new CaseFileError(`${file}: expected a list of cases`);
    doc.forEach((c, i) => {
      out.push(parseCase(kind, c, `${file}[${i}]`));
    });
  }
  const seen = new Set<string>();
  for (const c of out) {
    if (seen.has(c.id)) throw new CaseFileError(`duplicate case ${c.id}`);
    seen.add(c.id);
  }
  return out;
}

export const serverCases = (cases: readonly PlannerCase[]): ServerCase[] =>
  cases.filter((c): c is ServerCase => c.liveFrom === 'sql');
export const modelCases = (cases: readonly PlannerCase[]): ModelCase[] =>
  cases.filter((c): c is ModelCase => c.liveFrom === 'document');

/** One line per step, the way a reviewer reads a plan: for assertion messages. */
export function describePlan(plan: Plan): string {
  return plan.phases
    .flatMap((p) =>
      p.steps.map(
        (s) =>
          `  ${p.name} ${s.id} [${s.kind}${s.transaction ? '' : ', no transaction'}] ${s.summary}  hazards=[${s.hazards.join(',')}]\n` +
          s.sql.map((q) => `      ${q}`).join('\n'),
      ),
    )
    .join('\n');
}

export function lockText(s: Step): string[] {
  return s.locks.map((l) => `${l.mode} on ${l.relation} (${l.hold})`);
}

/**
 * The plan has exactly the expected steps, phase by phase (count, order, summary, hazards; kind, SQL,
 * locks and transaction where given), and exactly the expected warnings.
 */
export function expectPlan(
  plan: Plan,
  warnings: readonly string[],
  expected: Pick<CaseBase, 'expect' | 'warnings'>,
): void {
  const shown = `plan:\n${describePlan(plan)}`;
  for (const phase of PHASES) {
    const steps = plan.phases.find((p) => p.name === phase)?.steps ?? [];
    const want = expected.expect[phase];
    expect(
      steps.map((s) => s.summary),
      `${phase}: ${want.length} step(s) expected\n${shown}`,
    ).toHaveLength(want.length);
    steps.forEach((s, i) => {
      const w = want[i]!;
      const at = `${phase} step ${i + 1}\n${shown}`;
      expect(s.summary, at).toMatch(w.summary);
      expect(s.hazards, `${at}\nhazards`).toEqual(w.hazards);
      if (w.kind) expect(s.kind, `${at}\nkind`).toBe(w.kind);
      if (w.sql) {
        expect(s.sql, `${at}\nSQL statements`).toHaveLength(w.sql.length);
        w.sql.forEach((re, j) => {
          expect(s.sql[j], `${at}\nSQL statement ${j + 1}`).toMatch(re);
        });
      }
      if (w.locks) expect(lockText(s), `${at}\nlocks`).toEqual(w.locks);
      if (w.transaction !== undefined) expect(s.transaction, `${at}\ntransaction`).toBe(w.transaction);
    });
  }
  expect(warnings.length, `warnings: ${JSON.stringify(warnings)}`).toBe(expected.warnings.length);
  warnings.forEach((w, i) => {
    expect(w, `warning ${i + 1}`).toMatch(expected.warnings[i]!);
  });
}
