import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { PlanFileError } from '../../../src/plan/errors.js';
import { defaultPlanPath, parsePlan, planId, serializePlan, slugify } from '../../../src/plan/file.js';
import { PLAN_SCHEMA } from '../../../src/plan/plan-schema.js';
import type { Plan } from '../../../src/plan/types.js';
import { check, col, customers, fk, index, orders, tables, users } from './builders.js';
import { plan } from './helpers.js';

const SCHEMA_FILE = new URL('../../../schemas/plan.schema.json', import.meta.url);

/** A plan with every kind of field: sql and backfill steps, locks, hazards, concurrentIndex. */
function richPlan(): Plan {
  const live = tables(customers, orders, users, table2());
  const desired = tables(
    customers,
    {
      ...orders,
      checks: [check('chk_orders_amount_positive', 'amount > 0')],
      foreignKeys: [fk('fk_orders_customer', ['customer_id'], 'customers')],
      indexes: [index('idx_orders_customer_id', ['customer_id'])],
    },
    { ...users, columns: [...users.columns, col('token', 'uuid', { nullable: false, default: 'gen_random_uuid()' })] },
  );
  return plan(live, desired).plan;
}
const table2 = () => ({ ...users, name: 'old_users' });

describe('plan file', () => {
  test('schemas/plan.schema.json is the plan schema (ZDM_WRITE_SCHEMAS=1 rewrites it)', () => {
    if (process.env.ZDM_WRITE_SCHEMAS === '1') writeFileSync(SCHEMA_FILE, `${JSON.stringify(PLAN_SCHEMA, null, 2)}\n`);
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(PLAN_SCHEMA)));
  });

  test('the schema compiles in strict mode and accepts a plan', () => {
    const validate = new Ajv({ strict: true, allErrors: true }).compile(PLAN_SCHEMA);
    expect(validate(JSON.parse(JSON.stringify(richPlan())))).toBe(true);
  });

  test('every property in the schema has a description', () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.properties) {
        for (const [k, v] of Object.entries(o.properties as Record<string, Record<string, unknown>>)) {
          if (typeof v.description !== 'string') missing.push(`${path}.${k}`);
        }
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${path}.${k}`);
    };
    walk(PLAN_SCHEMA, '');
    for (const [k, v] of Object.entries(PLAN_SCHEMA.definitions))
      if (typeof v.description !== 'string') missing.push(k);
    expect(missing).toEqual([]);
  });

  test('same inputs, same bytes', () => {
    expect(serializePlan(richPlan())).toBe(serializePlan(richPlan()));
    expect(serializePlan(plan(tables(users), tables(users)).plan)).toBe(
      serializePlan(plan(tables(users), tables(users)).plan),
    );
  });

  test('an empty plan has the three phases, present and empty', () => {
    const r = plan(tables(users, orders), tables(orders, users));
    expect(r.plan.phases.map((p) => [p.name, p.steps, p.before === p.after, p.objects])).toEqual([
      ['expand', [], true, {}],
      ['backfill', [], true, {}],
      ['contract', [], true, {}],
    ]);
    const text = serializePlan(r.plan);
    expect(text).toContain('  - name: backfill');
    expect(parsePlan(text, 'empty.plan.yaml')).toEqual(r.plan);
  });

  test('the written YAML starts with the schema header and reads back equal', () => {
    const p = richPlan();
    const text = serializePlan(p);
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../node_modules/zdm/schemas/plan.schema.json');
    expect(text).not.toMatch(/[&*]a\d/); // no YAML anchors/aliases
    expect(parsePlan(text, 'p.plan.yaml')).toEqual(p);
  });

  /** Every leaf of the plan (but the checksum), as a path. */
  function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
    if (value === null || typeof value !== 'object') return [path];
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }

  const p = richPlan();
  const paths = leaves(p).filter((path) => path[0] !== 'checksum');

  test(`the checksum detects an edit of any field (${paths.length} fields)`, () => {
    expect(paths.length).toBeGreaterThan(100);
    const text = serializePlan(p);
    for (const path of paths) {
      const doc = parseDocument(text);
      const old = doc.getIn(path);
      const edited = typeof old === 'number' ? old + 1 : typeof old === 'boolean' ? !old : `${String(old)}x`;
      doc.setIn(path, edited);
      let error: unknown;
      try {
        parsePlan(doc.toString({ lineWidth: 0 }), 'edited.plan.yaml');
      } catch (e) {
        error = e;
      }
      expect(error, path.join('.')).toBeInstanceOf(PlanFileError);
      const message = (error as PlanFileError).message;
      expect(message, path.join('.')).toMatch(/^edited\.plan\.yaml(:\d+:\d+)?: /);
    }
  });

  test('an edited SQL statement: checksum mismatch, naming the file and both checksums', () => {
    const text = serializePlan(p).replace('CHECK (amount > 0) NOT VALID', 'CHECK (amount > 1) NOT VALID');
    expect(() => parsePlan(text, 'plans/x.plan.yaml')).toThrowError(
      /^plans\/x\.plan\.yaml:\d+:\d+: checksum: checksum mismatch: the plan was edited after it was written \(expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}\)$/,
    );
  });

  test('YAML syntax errors are located by line', () => {
    const text = serializePlan(p).replace('transaction: true', 'transaction: [true');
    let error: PlanFileError | undefined;
    try {
      parsePlan(text, 'bad.plan.yaml');
    } catch (e) {
      error = e as PlanFileError;
    }
    expect(error).toBeInstanceOf(PlanFileError);
    expect(error?.file).toBe('bad.plan.yaml');
    expect(error?.issues[0]?.line).toBeGreaterThan(10);
  });

  test.each([
    [
      'an unknown hazard',
      (t: string) => t.replace('hazards: []', 'hazards:\n          - explodes'),
      /phases\[0\]\.steps\[0\]\.hazards\[0\]: must be one of: "data-loss"/,
    ],
    [
      'an unknown property',
      (t: string) => t.replace('transaction: true', 'transaction: true\n        retries: 3'),
      /phases\[0\]\.steps\[\d\]\.retries: unknown property/,
    ],
    [
      'a missing property',
      (t: string) => t.replace(/\n {8}summary: [^\n]*/, ''),
      /phases\[0\]\.steps\[0\]: missing property "summary"/,
    ],
    [
      'a wrong lock mode',
      (t: string) => t.replace('mode: SHARE UPDATE EXCLUSIVE', 'mode: SUE'),
      /\.mode: must be one of/,
    ],
  ])('schema errors are located by line: %s', (_name, edit, message) => {
    const text = edit(serializePlan(p));
    let error: PlanFileError | undefined;
    try {
      parsePlan(text, 'bad.plan.yaml');
    } catch (e) {
      error = e as PlanFileError;
    }
    expect(error).toBeInstanceOf(PlanFileError);
    expect(error!.message).toMatch(/^bad\.plan\.yaml:\d+:\d+: /);
    expect(error!.message).toMatch(message);
    const issue = error?.issues.find((i) => message.test(`${i.path}: ${i.message}`));
    const line = text.split('\n')[(issue?.line ?? 0) - 1] ?? '';
    expect(line.trim().length).toBeGreaterThan(0);
  });

  test('default path and id', () => {
    expect(planId('2026-11-25T12:00:00.123Z', 'Rename display_name!')).toBe('20261125T120000Z-rename-display-name');
    expect(defaultPlanPath('2026-11-25T12:00:00Z', 'add orders check')).toBe(
      'plans/20261125T120000Z-add-orders-check.plan.yaml',
    );
    expect(slugify('***')).toBe('plan');
  });
});
