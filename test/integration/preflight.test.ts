/**
 * The data preflight of `zdm plan` (src/workflow/preflight.ts) on a real server: existing rows that
 * would make a step fail — a CHECK they violate, foreign-key orphans, duplicates under a unique key,
 * NULLs under NOT NULL, a value a type change cannot convert — stop the plan with their count and up
 * to five of them by key, and leave the database untouched; clean data passes; a check that runs out
 * of its time budget puts the `data-unchecked` hazard on the step it guards.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/introspect/index.js';
import { fingerprint as schemaFingerprint } from '../../src/model/canonical.js';
import { makePlan } from '../../src/workflow/plan.js';
import { type CheckOutcome, PreflightError } from '../../src/workflow/preflight.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const BASE = `
  CREATE TABLE customer (id int PRIMARY KEY, email text, country text);
  CREATE TABLE product (id int PRIMARY KEY, price numeric, code text, customer_id int);
`;

const schemaYaml = (customer: string, product: string) => `version: 1
schemas:
  public:
    tables:
      customer:
        columns:
          id: { type: integer, nullable: false }
${customer}
        primaryKey: { columns: [id] }
      product:
        columns:
          id: { type: integer, nullable: false }
${product}
        primaryKey: { columns: [id] }
`;
const CUSTOMER = `          email: { type: text }
          country: { type: text }`;
const PRODUCT = `          price: { type: numeric }
          code: { type: text }
          customer_id: { type: integer }`;

describe('data preflight', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('preflight');
    await db.exec(`${BASE}
      INSERT INTO customer VALUES (1, 'a@x', 'fr'), (2, 'b@x', NULL), (3, 'a@x', 'de'), (4, 'c@x', NULL), (5, 'b@x', 'it');
      INSERT INTO product VALUES (1, 10, '17', 1), (2, -3, '42', 9), (3, 0, 'x7', 2), (4, 5, NULL, 8), (5, 7, '8', NULL);
    `);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-preflight-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const plan = async (name: string, customer: string, product: string, budgetMs = 60_000) => {
    const f = path.join(dir, `${name}.yaml`);
    await writeFile(f, schemaYaml(customer, product));
    return makePlan(db.client, { desiredPath: f, preflight: { budgetMs } });
  };
  const fingerprint = async () => schemaFingerprint(await introspect(db.client));

  /** The PreflightError of a plan that must be refused, after checking that nothing changed. */
  const refused = async (name: string, customer: string, product: string): Promise<PreflightError> => {
    const before = await fingerprint();
    const err = await plan(name, customer, product).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PreflightError);
    expect(await fingerprint()).toBe(before);
    return err as PreflightError;
  };

  it('a CHECK that existing rows violate: refused with the count and the rows by primary key', async () => {
    const err = await refused(
      'check',
      CUSTOMER,
      `${PRODUCT}
        checks:
          price_positive: { expression: price > 0 }`,
    );
    expect(err.violations).toHaveLength(1);
    const v = err.violations[0]!;
    expect(v.check.object).toBe('check public.product.price_positive');
    expect(v.count).toBe(2);
    expect(v.rows.map((r) => JSON.parse(r))).toEqual([{ id: 2 }, { id: 3 }]);
    // The expression as PostgreSQL normalized it.
    expect(err.message).toContain(
      'check public.product.price_positive: 2 rows for which CHECK ((price > (0)::numeric)) is false',
    );
    expect(err.message).toContain('id=2');
    expect(err.exitCode).toBe(1);
  });

  it('foreign-key orphans: refused, NULL keys pass (MATCH SIMPLE)', async () => {
    const err = await refused(
      'fk',
      CUSTOMER,
      `${PRODUCT}
        foreignKeys:
          product_customer_fk: { columns: [customer_id], references: { table: customer, columns: [id] } }`,
    );
    const v = err.violations[0]!;
    expect(v.check.object).toBe('foreign key public.product.product_customer_fk');
    expect(v.count).toBe(2);
    expect(v.rows.map((r) => JSON.parse(r))).toEqual([{ id: 2 }, { id: 4 }]);
  });

  it('duplicates under a new unique constraint: the duplicated values and how many rows hold each', async () => {
    const err = await refused(
      'unique',
      `${CUSTOMER}
        uniqueConstraints:
          customer_email_key: { columns: [email] }`,
      PRODUCT,
    );
    const v = err.violations[0]!;
    expect(v.check.object).toBe('unique constraint public.customer.customer_email_key');
    expect(v.count).toBe(4);
    expect(v.rows.map((r) => JSON.parse(r))).toEqual([
      { email: 'a@x', rows: 2 },
      { email: 'b@x', rows: 2 },
    ]);
    expect(err.message).toContain('email="a@x" (2 rows)');
  });

  it('NULLs under a column made NOT NULL: refused, naming the rows', async () => {
    const err = await refused(
      'notnull',
      `          email: { type: text }
          country: { type: text, nullable: false }`,
      PRODUCT,
    );
    const v = err.violations[0]!;
    expect(v.check.object).toBe('column public.customer.country');
    expect(v.count).toBe(2);
    expect(v.rows.map((r) => JSON.parse(r))).toEqual([{ id: 2 }, { id: 4 }]);
  });

  it("a type change text → integer that one value cannot take: refused with the row and PostgreSQL's error", async () => {
    const err = await refused(
      'cast',
      CUSTOMER,
      `          price: { type: numeric }
          code: { type: integer }
          customer_id: { type: integer }`,
    );
    const v = err.violations.find((x) => x.check.kind === 'conversion')!;
    expect(v.check.object).toBe('column public.product.code');
    expect(v.count).toBe(1);
    const row = JSON.parse(v.rows[0]!) as { id: number; error: string };
    expect(row.id).toBe(3);
    expect(row.error).toMatch(/invalid input syntax for type integer: "x7"/);
  });

  it('several violations are reported together', async () => {
    const err = await refused(
      'several',
      `          email: { type: text }
          country: { type: text, nullable: false }`,
      `${PRODUCT}
        checks:
          price_positive: { expression: price > 0 }`,
    );
    expect(err.violations.map((v) => v.check.object).sort()).toEqual([
      'check public.product.price_positive',
      'column public.customer.country',
    ]);
  });

  it('clean data passes: the plan is written and each check says passed', async () => {
    const made = await plan(
      'clean',
      CUSTOMER,
      `${PRODUCT}
        checks:
          price_not_huge: { expression: price < 1000 }`,
    );
    expect(made.preflight.map((o: CheckOutcome) => [o.check.object, o.status])).toEqual([
      ['check public.product.price_not_huge', 'passed'],
    ]);
    expect(made.plan.phases.flatMap((p) => p.steps).some((s) => s.hazards.includes('data-unchecked'))).toBe(false);
  });

  it('a check that runs out of its time budget is not skipped silently: its step carries data-unchecked', async () => {
    await db.exec(`CREATE TABLE big (id int PRIMARY KEY, v int);
      INSERT INTO big SELECT g, g FROM generate_series(1, 200000) g;`);
    try {
      const f = path.join(dir, 'budget.yaml');
      await writeFile(
        f,
        `${schemaYaml(CUSTOMER, PRODUCT)}      big:
        columns:
          id: { type: integer, nullable: false }
          v: { type: integer }
        primaryKey: { columns: [id] }
        checks:
          big_v_slow: { expression: "v > 0 AND pg_catalog.pg_sleep(0.001) IS NOT NULL" }
`,
      );
      const made = await makePlan(db.client, { desiredPath: f, preflight: { budgetMs: 300 } });
      const outcome = made.preflight.find((o) => o.check.object === 'check public.big.big_v_slow')!;
      expect(outcome.status).toBe('unchecked');
      const guarded = made.plan.phases
        .flatMap((p) => p.steps)
        .filter((s) => s.hazards.includes('data-unchecked'))
        .map((s) => s.sql.join(' '));
      expect(guarded.length).toBeGreaterThan(0);
      expect(guarded.every((s) => s.includes('big_v_slow'))).toBe(true);
      expect(made.warnings.join('\n')).toMatch(
        /data preflight: check public\.big\.big_v_slow not checked: it did not finish/,
      );
    } finally {
      await db.exec('DROP TABLE big');
    }
  });

  it('names with quotes and spaces are quoted in every query', async () => {
    await db.exec(`CREATE SCHEMA "we ird"; CREATE TABLE "we ird"."Order ""Items""" ("the id" int PRIMARY KEY, "Price €" int);
      INSERT INTO "we ird"."Order ""Items""" VALUES (1, 5), (2, -1), (3, NULL);`);
    try {
      const f = path.join(dir, 'weird.yaml');
      await writeFile(
        f,
        `${schemaYaml(CUSTOMER, PRODUCT)}  we ird:
    tables:
      'Order "Items"':
        columns:
          the id: { type: integer, nullable: false }
          Price €: { type: integer, nullable: false }
        primaryKey: { columns: [the id] }
        checks:
          'positive "price"': { expression: '"Price €" > 0' }
`,
      );
      const err = await makePlan(db.client, { desiredPath: f }).then(
        () => undefined,
        (e: unknown) => e as PreflightError,
      );
      expect(err).toBeInstanceOf(PreflightError);
      expect(err!.violations.map((v) => [v.check.object, v.count, v.rows.map((r) => JSON.parse(r))])).toEqual([
        ['column we ird.Order "Items".Price €', 1, [{ 'the id': 3 }]],
        ['check we ird.Order "Items".positive "price"', 1, [{ 'the id': 2 }]],
      ]);
    } finally {
      await db.exec('DROP SCHEMA "we ird" CASCADE');
    }
  });

  it('skipped with preflight: false (zdm plan --no-preflight)', async () => {
    const f = path.join(dir, 'off.yaml');
    await writeFile(
      f,
      schemaYaml(
        CUSTOMER,
        `${PRODUCT}
        checks:
          price_positive: { expression: price > 0 }`,
      ),
    );
    const made = await makePlan(db.client, { desiredPath: f, preflight: false });
    expect(made.preflight).toEqual([]);
    expect(made.empty).toBe(false);
  });
});
