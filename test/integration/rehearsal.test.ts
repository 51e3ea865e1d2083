/**
 * `zdm plan`'s rehearsal (src/workflow/rehearse.ts) on a real server: the plan applied by the apply
 * engine to a scratch copy of the live schema, each step's locks read from pg_locks.
 *
 * - A normal plan gets a rehearsal section: every step, the locks observed equal to the declared
 *   ones (a concurrent index build's included, read by the watcher session), the live database
 *   untouched and no scratch database left behind.
 * - A planner bug simulated — a step whose declared lock is weaker than the lock its SQL takes, a
 *   step whose SQL fails — stops the rehearsal naming the step, its SQL and PostgreSQL's message:
 *   through the library (the plan altered), and through the built CLI (the step's SQL swapped in the
 *   driver by test/support/cli-fault.mjs), where no plan file is written and zdm exits 4.
 * - The checksum covers the section: a plan whose rehearsal was edited is refused by `zdm apply`.
 * - `--no-rehearse` writes a plan that says it was not rehearsed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { applyPlan } from '../../src/apply/index.js';
import { writeDesiredState } from '../../src/desired/write.js';
import { introspect } from '../../src/introspect/index.js';
import { fingerprint } from '../../src/model/canonical.js';
import { withoutJournal } from '../../src/model/objects.js';
import { withChecksum } from '../../src/plan/checksum.js';
import { parsePlan } from '../../src/plan/file.js';
import { HAZARDS, type Plan, type SqlStep, type Step } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { RehearsalError, rehearsePlan } from '../../src/workflow/rehearse.js';
import { ScratchError } from '../../src/workflow/scratch.js';
import { projectRoot, runCli } from '../support/cli.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const DESIRED = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      orders:
        columns:
          id: { type: bigint, nullable: false }
          amount: { type: numeric, nullable: false }
          note: { type: text }
          status: { type: text, default: "'new'::text" }
        primaryKey: { columns: [id] }
        checks:
          amount_positive: { expression: "amount > 0" }
        indexes:
          orders_amount_idx: { columns: [amount] }
    views:
      big_orders:
        definition: SELECT id, amount FROM orders WHERE amount > 100
`;

const ADD_COLUMN = `ALTER TABLE public.orders ADD COLUMN status text DEFAULT 'new'::text`;
const BUILD_INDEX = 'CREATE INDEX CONCURRENTLY orders_amount_idx ON public.orders (amount)';
const VALIDATE = 'ALTER TABLE public.orders VALIDATE CONSTRAINT amount_positive';

const lockSet = (locks: readonly { relation: string; mode: string }[]) =>
  locks.map((l) => `${l.mode} on ${l.relation}`).sort();

function stepWithSql(plan: Plan, sql: string): SqlStep {
  const step = plan.phases.flatMap((p) => p.steps).find((s) => s.sql.includes(sql));
  if (step?.kind !== 'sql') throw new Error(`no SQL step runs ${sql}`);
  return step;
}

/** The plan with `change` applied to the step that runs `sql` (a planner bug, simulated). */
function alterStep(plan: Plan, sql: string, change: (s: SqlStep) => SqlStep): Plan {
  return withChecksum({
    ...plan,
    phases: plan.phases.map((p) => ({
      ...p,
      steps: p.steps.map((s): Step => (s.kind === 'sql' && s.sql.includes(sql) ? change(s) : s)),
    })),
  });
}

const faultEnv = (from: string, to: string): NodeJS.ProcessEnv => ({
  NODE_OPTIONS: `--import=${pathToFileURL(path.join(projectRoot, 'test/support/cli-fault.mjs')).href}`,
  ZDM_TEST_FAULT: 'sql-rewrite',
  ZDM_TEST_SQL_FROM: from,
  ZDM_TEST_SQL_TO: to,
});

describe('zdm plan rehearses the plan on a scratch copy of the live schema', () => {
  let db: TestDatabase;
  let dir: string;
  let schema: string;
  beforeAll(async () => {
    db = await freshDatabase('rehearsal');
    await db.exec(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric NOT NULL, note text);
      CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
      INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g;`);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rehearsal-'));
    schema = path.join(dir, 'schema.yaml');
    await writeFile(schema, DESIRED);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(['plan', '--schema', schema, '--database-url', db.url, ...args], { env });

  it('records every step with the locks it took, equal to the declared ones, and leaves the live database as it was', async () => {
    const before = fingerprint(await introspect(db.client));
    const made = await makePlan(db.client, { desiredPath: schema, scratchUrl: adminUrl(), rehearse: true });
    const r = made.plan.rehearsal;
    if (!r?.rehearsed) throw new Error('the plan was not rehearsed');
    expect(r.server).toMatch(new RegExp(`^PostgreSQL ${Math.floor(made.live.server!.versionNum / 10000)}\\.`));
    const steps = made.plan.phases.flatMap((p) => p.steps);
    expect(r.steps.map((s) => s.id)).toEqual(steps.map((s) => s.id));
    // The steps this scenario is about, so that the comparison below is not vacuous.
    expect(stepWithSql(made.plan, ADD_COLUMN).transaction).toBe(true);
    expect(stepWithSql(made.plan, BUILD_INDEX).transaction).toBe(false);
    for (const [i, step] of steps.entries()) {
      expect(lockSet(r.steps[i]!.locks), `${step.id} ${step.summary}`).toEqual(lockSet(step.locks));
    }
    expect(lockSet(r.steps.find((s) => s.id === stepWithSql(made.plan, BUILD_INDEX).id)!.locks)).toEqual([
      'SHARE UPDATE EXCLUSIVE on public.orders',
    ]);
    expect(fingerprint(await introspect(db.client))).toBe(before);
    const left = await db.client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'zdm\\_scratch\\_%'`);
    expect(left.rows).toEqual([]);
  });

  it('stops on a step whose declared lock is weaker than the lock it takes, naming the step and its SQL', async () => {
    const made = await makePlan(db.client, { desiredPath: schema });
    const buggy = alterStep(made.plan, ADD_COLUMN, (s) => ({
      ...s,
      locks: s.locks.map((l) => ({ ...l, mode: 'SHARE UPDATE EXCLUSIVE' })),
    }));
    const err = await rehearsePlan(buggy, made.live, made.desired, { scratchUrl: adminUrl() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalError);
    const e = err as RehearsalError;
    const id = stepWithSql(made.plan, ADD_COLUMN).id;
    expect(e.stepId).toBe(id);
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain(`step ${id} (`);
    expect(e.message).toContain('took ACCESS EXCLUSIVE on public.orders');
    expect(e.message).toContain('(SHARE UPDATE EXCLUSIVE on public.orders) do not cover');
    expect(e.message).toContain(ADD_COLUMN);
    expect(e.message).toContain('this is a zdm bug');
  });

  it('stops on a step whose SQL fails, with PostgreSQL’s message', async () => {
    const made = await makePlan(db.client, { desiredPath: schema });
    const failing = 'ALTER TABLE public.orders ADD COLUMN amount numeric';
    const buggy = alterStep(made.plan, ADD_COLUMN, (s) => ({ ...s, sql: [failing] }));
    const err = await rehearsePlan(buggy, made.live, made.desired, { scratchUrl: adminUrl() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalError);
    const e = err as RehearsalError;
    expect(e.stepId).toBe(stepWithSql(made.plan, ADD_COLUMN).id);
    expect(e.message).toContain('column "amount" of relation "orders" already exists');
    expect(e.message).toContain(failing);
    expect(e.message).toContain('this is a zdm bug');
  });

  it('a live schema the scratch server cannot build: the copy stops naming the one statement that failed, not its whole step', async () => {
    const made = await makePlan(db.client, { desiredPath: schema });
    // What a scratch server without an extension the live schema uses would meet: a type it lacks.
    const unbuildable = {
      ...made.live,
      schemas: made.live.schemas.map((sc) => ({
        ...sc,
        tables: sc.tables.map((t) =>
          t.name === 'orders'
            ? { ...t, columns: t.columns.map((c) => (c.name === 'note' ? { ...c, type: 'zdm_missing_type' } : c)) }
            : t,
        ),
      })),
    };
    const err = await rehearsePlan(made.plan, unbuildable, made.desired, {
      scratchUrl: adminUrl(),
      scopeFallback: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScratchError);
    const message = (err as Error).message;
    expect(message).toMatch(/^cannot copy the live schema to the scratch database to rehearse the plan: /);
    expect(message).toContain('type "zdm_missing_type" does not exist');
    // The statement named is the CREATE TABLE alone: the step's other statements, and the
    // BEGIN/COMMIT its statements were sent in as one query, are not in the message.
    const named = /, in:\n([\s\S]*?)\n\(give --scratch-url/.exec(message)?.[1] ?? '';
    expect(named.trim()).toMatch(/^CREATE TABLE public\.orders \(/);
    expect(named).toContain('zdm_missing_type');
    expect(named).not.toMatch(/\bBEGIN\b|\bCOMMIT\b|;\n/);
    const left = await db.client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'zdm\\_scratch\\_%'`);
    expect(left.rows).toEqual([]);
  });

  it('stops when the schema after contract is not the desired state (a change the planner left out), saying what differs', async () => {
    const made = await makePlan(db.client, { desiredPath: schema });
    // Every phase's post-check passes (the plan is consistent with itself), but the desired state
    // wants one more column: what a planner that forgot a change would write.
    const wanted = {
      ...made.desired,
      schemas: made.desired.schemas.map((sc) => ({
        ...sc,
        tables: sc.tables.map((t) =>
          t.name === 'orders'
            ? { ...t, columns: [...t.columns, { ...t.columns.find((c) => c.name === 'note')!, name: 'forgotten' }] }
            : t,
        ),
      })),
    };
    const err = await rehearsePlan(made.plan, made.live, wanted, { scratchUrl: adminUrl() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalError);
    expect((err as Error).message).toMatch(
      /after contract the scratch schema still differs from the desired state \(1 changes left/,
    );
    expect((err as Error).message).toContain('forgotten');
  });

  it('applies the phases with one read of the schema each: a phase after the first takes the previous post-check as its drift check', async () => {
    const made = await makePlan(db.client, { desiredPath: schema });
    const drift: string[] = [];
    const scratch = await freshDatabase('rehearsal sole writer');
    try {
      await scratch.exec(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric NOT NULL, note text);
        CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;`);
      await applyPlan(scratch.client, made.plan, {
        allowHazards: HAZARDS,
        pauseMs: 0,
        soleWriter: true,
        onEvent: (e) => {
          if (e.type === 'check' && e.check === 'drift') drift.push(e.message);
        },
      });
    } finally {
      await scratch.drop();
    }
    const phases = made.plan.phases.map((p) => p.name);
    expect(phases.length).toBeGreaterThan(1);
    expect(drift).toEqual(
      phases.map((p, i) =>
        i === 0
          ? `${p}: the live schema is the planned one`
          : `${p}: the live schema is the planned one (read by the previous phase's post-check)`,
      ),
    );
  });

  it('zdm plan writes the rehearsal, under the checksum: apply refuses the plan once the section is edited', async () => {
    const out = path.join(dir, 'rehearsed.plan.yaml');
    const r = await cli(['--out', out]);
    expect(r.stderr).toMatch(
      /^rehearsal: \d+ steps applied to a scratch copy of the live schema \(the \d+ of its \d+ objects the plan needs\) on PostgreSQL \d+\.\d+ in \d+ ms, every lock taken as declared$/m,
    );
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    const plan = parsePlan(text, out);
    expect(plan.rehearsal?.rehearsed).toBe(true);
    const doc = parseDocument(text);
    doc.setIn(['rehearsal', 'steps', 0, 'durationMs'], 999_999);
    const edited = path.join(dir, 'edited.plan.yaml');
    await writeFile(edited, doc.toString({ lineWidth: 0 }));
    const applied = await runCli(['apply', edited, '--phase', 'expand', '--database-url', db.url]);
    expect(applied.stderr).toContain('checksum mismatch');
    expect(applied.code).toBe(1);
  });

  it('zdm plan --no-rehearse writes a plan that says it was not rehearsed', async () => {
    const out = path.join(dir, 'unrehearsed.plan.yaml');
    const r = await cli(['--out', out, '--no-rehearse']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('rehearsal: skipped (--no-rehearse)');
    expect(parsePlan(await readFile(out, 'utf8'), out).rehearsal).toEqual({ rehearsed: false });
  });

  it.each([
    {
      bug: 'a step that takes a stronger lock than it declares',
      from: VALIDATE,
      to: `LOCK TABLE public.orders IN SHARE ROW EXCLUSIVE MODE; ${VALIDATE}`,
      says: 'took SHARE ROW EXCLUSIVE on public.orders',
    },
    {
      bug: 'a step whose SQL fails',
      from: BUILD_INDEX,
      to: 'CREATE INDEX CONCURRENTLY orders_amount_idx ON public.orders (amount_typo)',
      says: 'column "amount_typo" does not exist',
    },
  ])('zdm plan stops on $bug: exit 4, the step named, no plan file written', async ({ from, to, says }) => {
    const out = path.join(dir, `bug-${says.length}.plan.yaml`);
    const r = await cli(['--out', out], faultEnv(from, to));
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(
      /rehearsal of the plan on a scratch copy of the live schema failed, nothing was written: step (expand|backfill|contract)\.\d+ \(/,
    );
    expect(r.stderr).toContain(says);
    expect(r.stderr).toContain(from);
    expect(r.stderr).toContain('this is a zdm bug');
    expect(existsSync(out)).toBe(false);
  });
});

describe('the rehearsal copies only what the plan needs (src/plan/scope.ts)', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rehearsal_scope');
    // 30 tables no plan here touches; orders, what it references, and what references or reads it.
    await db.exec(`CREATE TABLE customers (id bigint PRIMARY KEY, name text);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, amount numeric NOT NULL);
      CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders, qty int);
      CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
      CREATE FUNCTION helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
      -- Names helper() only at run time: nothing in the schema says the trigger needs it.
      CREATE FUNCTION note_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN EXECUTE 'SELECT ' || 'hel' || 'per()'; RETURN NEW; END $$;
      CREATE TRIGGER items_note BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION note_change();
      INSERT INTO customers VALUES (1, 'c');
      INSERT INTO orders SELECT g, 1, g FROM generate_series(1, 20) g;
      INSERT INTO items SELECT g, g, 1 FROM generate_series(1, 20) g;
      DO $$ BEGIN FOR i IN 1..30 LOOP EXECUTE format('CREATE TABLE other_%s (id int PRIMARY KEY, x text)', i); END LOOP; END $$;`);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rehearsal-scope-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A desired-state file: the live schema as zdm pull writes it, with `edit` applied to the text. */
  async function desired(edit: (yaml: string) => string): Promise<string> {
    const file = path.join(dir, `desired-${Math.random().toString(36).slice(2)}.yaml`);
    const pulled = writeDesiredState(withoutJournal(await introspect(db.client)), { schemaPath: '' });
    const edited = edit(pulled);
    expect(edited).not.toBe(pulled);
    await writeFile(file, edited);
    return file;
  }

  it('a CHECK on orders: the copy holds orders, the table it references, the table and the view that use it; not the 33 others', async () => {
    const file = await desired((y) =>
      y.replace(
        /(\n {6}orders:\n(?: {8}.*\n)*?)( {8}primaryKey:)/,
        '$1        checks:\n          amount_positive: { expression: "amount > 0" }\n$2',
      ),
    );
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl(), rehearse: true });
    expect(made.plan.phases.flatMap((p) => p.steps).map((s) => s.summary)).toContainEqual(
      expect.stringMatching(/amount_positive/),
    );
    const r = made.plan.rehearsal;
    if (!r?.rehearsed) throw new Error('the plan was not rehearsed');
    // customers, orders, items, big_orders of: those, helper, note_change, items_note and 30 others.
    expect(r.scope).toEqual({ objects: 4, of: 37 });
    expect(r.steps.length).toBe(made.plan.phases.flatMap((p) => p.steps).length);
  });

  it('a step that fails on the part (a function a trigger names at run time) is rehearsed again on the whole schema', async () => {
    // Renaming qty backfills items with live rows copied: each batch's UPDATE fires items_note, which
    // calls helper(), a function the part does not hold.
    const file = await desired((y) =>
      y.replace('\n          qty: { type: integer }', '\n          quantity: { type: integer, renamedFrom: qty }'),
    );
    const made = await makePlan(db.client, {
      desiredPath: file,
      scratchUrl: adminUrl(),
      rehearse: true,
      rehearseRows: 5,
    });
    const r = made.plan.rehearsal;
    if (!r?.rehearsed) throw new Error('the plan was not rehearsed');
    expect(r.scope, 'the whole schema was copied').toBeUndefined();
    expect(r.rows?.tables['public.items']).toBe(5);

    const err = await rehearsePlan(made.plan, made.live, made.desired, {
      scratchUrl: adminUrl(),
      models: made.models,
      rows: { limit: 5, live: db.client },
      scopeFallback: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RehearsalError);
    expect((err as Error).message).toMatch(/function hel(per)?\(\) does not exist/);
  });
});
