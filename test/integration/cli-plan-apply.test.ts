/**
 * `zdm plan`, `zdm apply`, `zdm status` and `zdm demo` driven through the built binary, as a user
 * would: the happy path, every output format, drift detection for CI, and bad input — an edited plan,
 * a drifted database, an unknown phase, a database that does not exist, hazards not allowed — each a
 * clear error with its exit code and nothing changed in the database.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const BEFORE = `
  CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
  CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    amount numeric(10,2) NOT NULL,
    legacy_note text
  );
  INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 100) g;
  INSERT INTO orders (customer_id, amount) SELECT 1 + g % 100, 1 + g % 50 FROM generate_series(1, 2000) g;
`;

const header = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      customers:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          email: { type: text, nullable: false }
        primaryKey: { columns: [id] }
`;

const WITH_CHECK = `${header}      orders:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          customer_id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
          legacy_note: { type: text }
        primaryKey: { columns: [id] }
        checks:
          chk_orders_amount_positive: { expression: amount > 0 }
`;

const DROP_NOTE = `${header}      orders:
        columns:
          id: { type: bigint, identity: always, nullable: false }
          customer_id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
        primaryKey: { columns: [id] }
        checks:
          chk_orders_amount_positive: { expression: amount > 0 }
`;

describe('zdm plan / apply / status (the built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  const constraints = async (): Promise<string[]> =>
    (
      await db.query<{ conname: string }>(
        `SELECT conname FROM pg_constraint WHERE conrelid = 'public.orders'::regclass AND contype = 'c' ORDER BY 1`,
      )
    ).map((r) => r.conname);
  const journalExists = async (): Promise<boolean> =>
    (await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'zdm'`))[0]!.n === '1';

  beforeAll(async () => {
    db = await freshDatabase('cli_plan_apply');
    await db.exec(BEFORE);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-cli-plan-'));
    await writeFile(path.join(dir, 'check.yaml'), WITH_CHECK);
    await writeFile(path.join(dir, 'drop.yaml'), DROP_NOTE);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan previews the diff and the phased steps, in every format, and writes the plan file', async () => {
    const planFile = path.join(dir, 'check.plan.yaml');
    const r = await runCli([
      'plan',
      '--schema',
      path.join(dir, 'check.yaml'),
      '--database-url',
      db.url,
      '--out',
      planFile,
      '--name',
      'orders-check',
    ]);
    expect(r.stderr).toContain(`wrote ${planFile}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+        checks:');
    expect(r.stdout).toMatch(/EXPAND \(1 step\)[\s\S]*ACCESS EXCLUSIVE on public\.orders \(instant\)/);
    expect(r.stdout).toMatch(/BACKFILL \(1 step\)[\s\S]*SHARE UPDATE EXCLUSIVE on public\.orders \(scan\)/);
    expect(r.stdout).not.toContain('\u001b[');
    const text = await readFile(planFile, 'utf8');
    expect(text).toContain('ADD CONSTRAINT chk_orders_amount_positive CHECK (amount > (0)::numeric) NOT VALID');
    expect(text).toMatch(/id: \d{8}T\d{6}Z-orders-check/);

    const sql = await runCli([
      'plan',
      '--schema',
      path.join(dir, 'check.yaml'),
      '-d',
      db.url,
      '--out',
      planFile,
      '-n',
      'orders-check',
      '--format',
      'sql',
    ]);
    expect(sql.stdout).toContain('ALTER TABLE public.orders VALIDATE CONSTRAINT chk_orders_amount_positive;');
    const md = await runCli([
      'plan',
      '--schema',
      path.join(dir, 'check.yaml'),
      '-d',
      db.url,
      '--out',
      planFile,
      '-n',
      'orders-check',
      '--format',
      'markdown',
    ]);
    expect(md.stdout).toContain('```sql');
    expect(md.stdout).toContain('```diff');
    const json = await runCli([
      'plan',
      '--schema',
      path.join(dir, 'check.yaml'),
      '-d',
      db.url,
      '--out',
      planFile,
      '-n',
      'orders-check',
      '--format',
      'json',
    ]);
    expect(JSON.parse(json.stdout).phases.map((p: { name: string }) => p.name)).toEqual([
      'expand',
      'backfill',
      'contract',
    ]);
  });

  it('plan points at the YAML line of an expression PostgreSQL rejects, and writes nothing', async () => {
    const bad = path.join(dir, 'typo.yaml');
    await writeFile(bad, WITH_CHECK.replace('amount > 0', 'amout > 0'));
    const r = await runCli(['plan', '--schema', bad, '-d', db.url, '--out', path.join(dir, 'typo.plan.yaml')]);
    expect(r.code).toBe(1);
    const line = WITH_CHECK.split('\n').findIndex((l) => l.includes('chk_orders_amount_positive')) + 1;
    expect(r.stderr).toContain(`${bad}:${line}:`);
    expect(r.stderr).toContain('schemas.public.tables.orders.checks.chk_orders_amount_positive');
    expect(r.stderr).toContain('column "amout" does not exist');
    await expect(readFile(path.join(dir, 'typo.plan.yaml'))).rejects.toThrow();
  });

  it('plan --check exits 2 on a difference and writes nothing', async () => {
    const r = await runCli([
      'plan',
      '--schema',
      path.join(dir, 'check.yaml'),
      '-d',
      db.url,
      '--check',
      '--out',
      path.join(dir, 'never.yaml'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('differs from the desired state');
    await expect(readFile(path.join(dir, 'never.yaml'))).rejects.toThrow();
  });

  it('apply refuses an edited plan, an unknown phase, a phase out of order, a missing database: nothing changes', async () => {
    const planFile = path.join(dir, 'check.plan.yaml');
    const good = await readFile(planFile, 'utf8');
    const tampered = path.join(dir, 'tampered.plan.yaml');
    await writeFile(tampered, good.replace('CHECK (amount > (0)::numeric)', 'CHECK (amount > (-1)::numeric)'));
    const t = await runCli(['apply', tampered, '--phase', 'expand', '-d', db.url]);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('checksum mismatch');
    expect(t.stderr).toContain(tampered);

    const u = await runCli(['apply', planFile, '--phase', 'shrink', '-d', db.url]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain('shrink');
    expect(u.stderr).toMatch(/expand|backfill|contract/);

    const o = await runCli(['apply', planFile, '--phase', 'backfill', '-d', db.url]);
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/expand/);

    const missing = new URL(db.url);
    missing.pathname = '/no_such_database_zdm';
    const m = await runCli(['apply', planFile, '--phase', 'expand', '-d', missing.toString()]);
    expect(m.code).toBe(3);
    expect(m.stderr).toContain('no_such_database_zdm');
    if (missing.password) expect(m.stderr).not.toContain(missing.password);

    expect(await constraints()).toEqual([]);
  });

  it('apply refuses a database that drifted since planning, naming the object', async () => {
    const planFile = path.join(dir, 'check.plan.yaml');
    await db.exec('ALTER TABLE orders ADD COLUMN drifted int');
    try {
      const r = await runCli(['apply', planFile, '--phase', 'expand', '-d', db.url]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('public.orders');
      expect(await constraints()).toEqual([]);
    } finally {
      await db.exec('ALTER TABLE orders DROP COLUMN drifted');
    }
  });

  it('apply --dry-run changes nothing; then expand, backfill, contract apply and a new plan is empty', async () => {
    const planFile = path.join(dir, 'check.plan.yaml');
    const dry = await runCli(['apply', planFile, '--phase', 'expand', '-d', db.url, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('NOT VALID');
    expect(await constraints()).toEqual([]);
    expect(await journalExists()).toBe(false);

    for (const phase of ['expand', 'backfill', 'contract']) {
      const r = await runCli(['apply', planFile, '--phase', phase, '-d', db.url]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(await constraints()).toEqual(['chk_orders_amount_positive']);
    const again = await runCli(['apply', planFile, '--phase', 'contract', '-d', db.url]);
    expect(again.code).toBe(0);

    const check = await runCli(['plan', '--schema', path.join(dir, 'check.yaml'), '-d', db.url, '--check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('matches');

    const status = await runCli(['status', '-d', db.url, '--json']);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.plans).toHaveLength(1);
    expect(report.plans[0].inFlight).toBe(false);
    const human = await runCli(['status', '-d', db.url]);
    expect(human.stdout).toMatch(/orders-check\s+\(complete\)/);
  });

  it('a data-loss step runs only when the hazard is allowed', async () => {
    const planFile = path.join(dir, 'drop.plan.yaml');
    const p = await runCli(['plan', '--schema', path.join(dir, 'drop.yaml'), '-d', db.url, '--out', planFile]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('data-loss');
    for (const phase of ['expand', 'backfill']) {
      expect((await runCli(['apply', planFile, '--phase', phase, '-d', db.url])).code).toBe(0);
    }
    const refused = await runCli(['apply', planFile, '--phase', 'contract', '-d', db.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--allow-hazards data-loss');
    const cols = async () =>
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'legacy_note' AND NOT attisdropped`,
        )
      )[0]!.n;
    expect(await cols()).toBe('1');
    const bad = await runCli(['apply', planFile, '--phase', 'contract', '-d', db.url, '--allow-hazards', 'data-los']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown hazard');
    const ok = await runCli(['apply', planFile, '--phase', 'contract', '-d', db.url, '--allow-hazards', 'data-loss']);
    expect(ok.code).toBe(0);
    expect(await cols()).toBe('0');
  });
});

describe('zdm demo', () => {
  it('walks through the shop scenarios on an embedded PostgreSQL with no failed application statement', async () => {
    const r = await runCli(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^\| \d\d-/.test(l));
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.split('|')[7]!.trim()).toBe('0');
    expect(r.stdout).toContain('a second plan is empty');
    expect(r.stdout).not.toContain('NOT empty');
  }, 120_000);
});
