/**
 * The locks the plan declares for functions, procedures and triggers, proven from pg_locks (see
 * test/support/observed-locks.ts): the relations that existed before each step must be exactly the
 * declared ones, each held in exactly the declared mode at its strongest. Function steps lock no
 * table; CREATE [OR REPLACE] TRIGGER and ENABLE/DISABLE take SHARE ROW EXCLUSIVE, COMMENT ON TRIGGER
 * SHARE UPDATE EXCLUSIVE, DROP TRIGGER ACCESS EXCLUSIVE.
 *
 * And what the techniques promise: a writer is never blocked by a function being replaced, and a
 * trigger replaced with CREATE OR REPLACE TRIGGER is never missing: every row written during the
 * apply went through the old or the new trigger.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { useLockScenarios } from '../support/observed-locks.js';
import { startWorkload } from '../support/workload.js';

const TABLE = `    tables:
      doc:
        columns:
          id: { type: integer, nullable: false }
          body: { type: text }
          mark: { type: text }
        primaryKey: { columns: [id] }
`;

const TOUCH = `    functions:
      touch:
        returns: trigger
        language: plpgsql
        body: "BEGIN NEW.mark := 'new'; RETURN NEW; END"
`;

describe('locks of function, procedure and trigger steps, from pg_locks', () => {
  const { scenario, db } = useLockScenarios('routine locks');

  const DOC = `CREATE TABLE doc (id int PRIMARY KEY, body text, mark text);`;
  const OLD_TOUCH = `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.mark := 'old'; RETURN NEW; END$$;`;

  it.for([
    [
      'create a function, an overload, a procedure and a trigger with a comment',
      DOC,
      `${TABLE}${TOUCH}      gross(numeric):
        arguments: [ { name: n, type: numeric } ]
        returns: numeric
        language: sql
        body: SELECT n * 1.2
      gross(numeric, numeric):
        arguments: [ { name: n, type: numeric }, { name: rate, type: numeric, default: 0.2 } ]
        returns: numeric
        language: sql
        volatility: immutable
        body: RETURN n * (1 + rate)
    procedures:
      bump:
        language: sql
        body: BEGIN ATOMIC UPDATE public.doc SET body = body; END
    triggers:
      doc:
        doc_touch:
          timing: before
          events: [insert, update]
          forEach: row
          function: touch
          comment: marks rows
`,
    ],
    [
      'replace a function (CREATE OR REPLACE) and a trigger (CREATE OR REPLACE TRIGGER), disable another',
      `${DOC} ${OLD_TOUCH}
       CREATE TRIGGER doc_touch BEFORE INSERT ON doc FOR EACH ROW EXECUTE FUNCTION touch();
       CREATE TRIGGER doc_other AFTER INSERT ON doc FOR EACH ROW EXECUTE FUNCTION touch();`,
      `${TABLE}${TOUCH}    triggers:
      doc:
        doc_touch:
          timing: before
          events: [insert, update]
          columns: [body]
          forEach: row
          when: NEW.body IS NOT NULL
          function: touch
        doc_other:
          timing: after
          events: [insert]
          forEach: row
          function: touch
          enabled: disabled
`,
    ],
    [
      'a function whose result type changes: dropped and created again with its trigger',
      `${DOC} CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
       CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$;
       CREATE TRIGGER doc_touch BEFORE INSERT ON doc FOR EACH ROW EXECUTE FUNCTION touch();`,
      `${TABLE}${TOUCH}      f:
        arguments: [ { name: x, type: integer } ]
        returns: bigint
        language: sql
        body: " SELECT x "
    triggers:
      doc:
        doc_touch:
          timing: before
          events: [insert]
          forEach: row
          function: touch
`,
    ],
    [
      'replace a constraint trigger (dropped and created in one transaction); drop a trigger and a function',
      `${DOC} ${OLD_TOUCH} CREATE FUNCTION gone() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
       CREATE CONSTRAINT TRIGGER doc_late AFTER INSERT ON doc FOR EACH ROW EXECUTE FUNCTION touch();
       CREATE TRIGGER doc_gone AFTER DELETE ON doc FOR EACH ROW EXECUTE FUNCTION gone();`,
      `${TABLE}${TOUCH}    triggers:
      doc:
        doc_late:
          timing: after
          events: [insert, update]
          forEach: row
          function: touch
          constraint: true
          deferrable: true
`,
    ],
  ] as const)('%s', async ([name, before, desired]) => {
    const { observed, file } = await scenario(name, before, desired);
    for (const o of observed) expect(o.held, o.step).toEqual(o.declared);
    // The database now is the desired state: a second plan is empty.
    const again = await makePlan(db().client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(again.plan.phases.flatMap((p) => p.steps.map((s) => s.summary))).toEqual([]);
  });
});

describe('writers while functions and triggers are replaced', () => {
  let db: TestDatabase;
  let dir: string;
  let writer: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase('routine writers');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-routine-writers-'));
    await db.exec(`
      CREATE TABLE doc (id int PRIMARY KEY, body text, mark text);
      CREATE SEQUENCE doc_ids;
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.mark := 'old'; RETURN NEW; END$$;
      CREATE TRIGGER doc_touch BEFORE INSERT ON doc FOR EACH ROW EXECUTE FUNCTION touch();
    `);
    writer = await db.connect();
  });
  afterAll(async () => {
    await writer?.end().catch(() => {});
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('never blocks writers and never leaves a row without the trigger', async () => {
    const file = path.join(dir, 'doc.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    comment: standard public schema
    sequences:
      doc_ids: {}
${TABLE}${TOUCH}    triggers:
      doc:
        doc_touch:
          timing: before
          events: [insert, update]
          forEach: row
          function: touch
`,
    );
    const made = await makePlan(db.client, { desiredPath: file, scratchUrl: adminUrl() });
    expect(made.plan.phases[0]!.steps.map((s) => s.summary)).toEqual([
      'replace function public.touch',
      'replace trigger doc_touch on public.doc',
    ]);
    const load = startWorkload(
      writer,
      () => ({ sql: `INSERT INTO doc (id, body) VALUES (nextval('doc_ids'), 'x')` }),
      2,
    );
    await new Promise((r) => setTimeout(r, 100));
    await applyPhase(db.client, made.plan, { phase: 'expand' });
    await new Promise((r) => setTimeout(r, 100));
    const during = await load.stop();
    expect(during.errors).toEqual([]);
    expect(during.statements).toBeGreaterThan(20);
    expect(during.maxMs, `a writer waited ${during.maxMs} ms`).toBeLessThan(200);
    const rows = await db.query<{ mark: string | null; n: string }>(
      'SELECT mark, count(*) AS n FROM doc GROUP BY mark ORDER BY mark',
    );
    // Every row went through the trigger, old or new: none is unmarked.
    expect(rows.map((r) => r.mark)).toEqual(['new', 'old']);
  }, 60_000);
});
