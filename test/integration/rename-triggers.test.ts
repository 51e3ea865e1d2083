/**
 * User triggers over a column that is renamed (`renamedFrom`) or whose type changes (`using`),
 * under the old-app + new-app workload (test/support/app-workload.ts): an audit trigger
 * `AFTER UPDATE OF <column>` and one `AFTER UPDATE … WHEN (NEW.<column> IS DISTINCT FROM
 * OLD.<column>)` must fire for every UPDATE of the column by either application version, in every
 * phase, with no failed statement.
 *
 * A rename: the new version's `UPDATE … SET label = …` does not name `name`, so a trigger `UPDATE
 * OF name` would not fire for it (the sync trigger's NEW.name := … does not count: UPDATE OF looks
 * at the statement's target list). Expand re-creates it `UPDATE OF name, label` (CREATE OR REPLACE
 * TRIGGER: SHARE ROW EXCLUSIVE, proven from pg_locks here); contract as the desired state has it.
 * `zdm rollback` before contract gives it back as it was.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { rollbackPlan } from '../../src/apply/rollback.js';
import { introspect } from '../../src/introspect/index.js';
import { fingerprint } from '../../src/model/canonical.js';
import { withoutJournal } from '../../src/model/objects.js';
import type { Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { AppWorkload } from '../support/app-workload.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';
import { heldLocks, relations } from '../support/observed-locks.js';

const ALLOW = ['long-running', 'fires-user-triggers', 'data-loss'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The audit table, the phase marker the audit function reads, and the function (the desired state has them too). */
const AUDIT_SQL = `
  DROP TABLE IF EXISTS public.acct, public.meter, public.audit, public.test_phase;
  DROP FUNCTION IF EXISTS public.audit_row();
  CREATE TABLE public.audit (who text NOT NULL, kind text NOT NULL, phase text NOT NULL, row_id bigint NOT NULL, v text);
  CREATE TABLE public.test_phase (p text NOT NULL);
  INSERT INTO public.test_phase VALUES ('before');
  CREATE FUNCTION public.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.audit VALUES (current_setting('application_name'), TG_ARGV[0], (SELECT p FROM public.test_phase), NEW.id, coalesce(to_jsonb(NEW) ->> TG_ARGV[1], to_jsonb(NEW) ->> TG_ARGV[2])); RETURN NEW; END$$;`;

const AUDIT_YAML = `      audit:
        columns:
          who: { type: text, nullable: false }
          kind: { type: text, nullable: false }
          phase: { type: text, nullable: false }
          row_id: { type: bigint, nullable: false }
          v: { type: text }
      test_phase:
        columns:
          p: { type: text, nullable: false }
    functions:
      audit_row:
        returns: trigger
        language: plpgsql
        body: "BEGIN INSERT INTO public.audit VALUES (current_setting('application_name'), TG_ARGV[0], (SELECT p FROM public.test_phase), NEW.id, coalesce(to_jsonb(NEW) ->> TG_ARGV[1], to_jsonb(NEW) ->> TG_ARGV[2])); RETURN NEW; END"
`;

describe('user triggers over a renamed or retyped column, under the old-app + new-app workload', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('rename triggers');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-rename-triggers-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function plan(name: string, yaml: string, rehearse = false): Promise<{ plan: Plan; file: string }> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, yaml);
    const made = await makePlan(db.client, {
      desiredPath: file,
      name,
      batchSize: 200,
      ...(rehearse ? { rehearse: true, scratchUrl: adminUrl() } : {}),
    });
    return { plan: made.plan, file };
  }
  const apply = (p: Plan, phase: 'expand' | 'backfill' | 'contract') =>
    applyPhase(db.client, p, { phase, allowHazards: [...ALLOW], pauseMs: 0, oldWritesQuietMs: 0 });
  const phase = (p: string) => db.exec(`UPDATE public.test_phase SET p = '${p}'`);
  const triggerDefs = async (table: string) =>
    (
      await db.query<{ d: string }>(
        `SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger WHERE tgrelid = '${table}'::regclass AND NOT tgisinternal AND tgname NOT LIKE '%zdm_sync' ORDER BY tgname`,
      )
    ).map((r) => r.d);

  /**
   * Every UPDATE the workload made is audited once by each audit trigger (`kinds`), under the role
   * that made it, with the value it wrote; and each role's updates were audited in each of `phases`.
   */
  async function expectAudited(
    w: AppWorkload,
    table: string,
    kinds: readonly string[],
    phases: Readonly<Record<string, readonly string[]>>,
  ): Promise<void> {
    const audit = await db.query<{ who: string; kind: string; phase: string; row_id: string; v: string }>(
      `SELECT who, kind, phase, row_id, v FROM public.audit WHERE who LIKE 'zdm-test-%'`,
    );
    for (const [role, inPhases] of Object.entries(phases)) {
      const made = w
        .updates()
        .filter((u) => u.role === role)
        .map((u) => `${u.id}=${u.value}`)
        .sort();
      expect(made.length, `${role} made updates on ${table}`).toBeGreaterThan(10);
      for (const kind of kinds) {
        const mine = audit.filter((a) => a.who === `zdm-test-${role}` && a.kind === kind);
        const audited = mine.map((a) => `${a.row_id}=${a.v}`).sort();
        // Not toEqual on the lists (thousands of entries): what is missing, and what is extra.
        const missing = made.filter((x) => !audited.includes(x));
        const extra = audited.filter((x) => !made.includes(x));
        expect(
          { role, kind, missing: missing.length, extra: extra.length, firstMissing: missing.slice(0, 3) },
          `${kind} audited every update of ${role}`,
        ).toEqual({ role, kind, missing: 0, extra: 0, firstMissing: [] });
        expect(audited.length).toBe(made.length);
        for (const p of inPhases) {
          expect(
            mine.filter((a) => a.phase === p).length,
            `${kind} audited updates of ${role} after ${p}`,
          ).toBeGreaterThan(0);
        }
      }
    }
  }

  it('a rename: UPDATE OF and WHEN audit triggers (AFTER, and BEFORE after the sync trigger) fire for both versions in every phase; contract re-creates them as desired', async () => {
    await db.exec(`
      ${AUDIT_SQL}
      CREATE TABLE public.acct (id bigint PRIMARY KEY, name text NOT NULL);
      INSERT INTO public.acct SELECT g, 'acct ' || g FROM generate_series(1, 2000) g;
      CREATE TRIGGER acct_of AFTER UPDATE OF name ON public.acct FOR EACH ROW EXECUTE FUNCTION public.audit_row('of', 'label', 'name');
      CREATE TRIGGER acct_when AFTER UPDATE ON public.acct FOR EACH ROW WHEN (NEW.name IS DISTINCT FROM OLD.name) EXECUTE FUNCTION public.audit_row('when', 'label', 'name');
      CREATE TRIGGER acct_zz_before BEFORE UPDATE OF name ON public.acct FOR EACH ROW WHEN (NEW.name IS DISTINCT FROM OLD.name) EXECUTE FUNCTION public.audit_row('before', 'label', 'name');
      COMMENT ON TRIGGER acct_of ON public.acct IS 'audits name writes';
      ANALYZE public.acct;`);
    const desired = `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      acct:
        columns:
          id: { type: bigint, nullable: false }
          label: { type: text, nullable: false, renamedFrom: name }
        primaryKey: { columns: [id] }
${AUDIT_YAML}    triggers:
      acct:
        acct_of: { timing: after, events: [update], columns: [label], forEach: row, function: audit_row, arguments: [of, label, name], comment: audits name writes }
        acct_when: { timing: after, events: [update], forEach: row, when: NEW.label IS DISTINCT FROM OLD.label, function: audit_row, arguments: [when, label, name] }
        acct_zz_before: { timing: before, events: [update], columns: [label], forEach: row, when: NEW.label IS DISTINCT FROM OLD.label, function: audit_row, arguments: [before, label, name] }
`;
    const { plan: p, file } = await plan('rename-audit', desired);
    const initial = new Map(
      (await db.query<{ id: string; name: string }>('SELECT id, name FROM public.acct')).map((r) => [
        Number(r.id),
        r.name,
      ]),
    );
    const w = new AppWorkload(db.url, { schema: 'public', name: 'acct' }, 'id', initial);
    const old = await w.start('old-app', 'name', 3);
    await sleep(150);
    await apply(p, 'expand');
    await phase('expand');
    await w.start('new-app', 'label', 3);
    await sleep(300);
    await apply(p, 'backfill');
    await phase('backfill');
    await sleep(300);
    await w.stopGroup(old);
    await apply(p, 'contract');
    await phase('contract');
    await sleep(300);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    console.log(
      `rename under audit triggers (PostgreSQL ${db.major}): ${report.statements} statements ${JSON.stringify(report.byRole)}, ` +
        `p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, 0 failed`,
    );
    await expectAudited(w, 'public.acct', ['of', 'when', 'before'], {
      'old-app': ['before', 'expand', 'backfill'],
      'new-app': ['expand', 'backfill', 'contract'],
    });
    const rows = await db.query<{ id: string; label: string }>('SELECT id, label FROM public.acct');
    expect(rows.length).toBe(w.expected().size);
    expect(rows.filter((r) => w.expected().get(Number(r.id)) !== r.label)).toEqual([]);
    expect(await triggerDefs('public.acct')).toEqual([
      "CREATE TRIGGER acct_of AFTER UPDATE OF label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('of', 'label', 'name')",
      "CREATE TRIGGER acct_when AFTER UPDATE ON public.acct FOR EACH ROW WHEN ((new.label IS DISTINCT FROM old.label)) EXECUTE FUNCTION audit_row('when', 'label', 'name')",
      "CREATE TRIGGER acct_zz_before BEFORE UPDATE OF label ON public.acct FOR EACH ROW WHEN ((new.label IS DISTINCT FROM old.label)) EXECUTE FUNCTION audit_row('before', 'label', 'name')",
    ]);
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  });

  it('a type change with `using`: UPDATE OF and WHEN audit triggers fire for both versions in every phase', async () => {
    await db.exec(`
      ${AUDIT_SQL}
      CREATE TABLE public.meter (id bigint PRIMARY KEY, v text NOT NULL);
      INSERT INTO public.meter SELECT g, g::text FROM generate_series(1, 2000) g;
      CREATE TRIGGER meter_of AFTER UPDATE OF v ON public.meter FOR EACH ROW EXECUTE FUNCTION public.audit_row('of', 'v', 'v');
      CREATE TRIGGER meter_when AFTER UPDATE ON public.meter FOR EACH ROW WHEN (NEW.v IS DISTINCT FROM OLD.v) EXECUTE FUNCTION public.audit_row('when', 'v', 'v');
      ANALYZE public.meter;`);
    const desired = `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      meter:
        columns:
          id: { type: bigint, nullable: false }
          v: { type: integer, nullable: false, using: v::integer }
        primaryKey: { columns: [id] }
${AUDIT_YAML}    triggers:
      meter:
        meter_of: { timing: after, events: [update], columns: [v], forEach: row, function: audit_row, arguments: [of, v, v] }
        meter_when: { timing: after, events: [update], forEach: row, when: NEW.v IS DISTINCT FROM OLD.v, function: audit_row, arguments: [when, v, v] }
`;
    const { plan: p, file } = await plan('retype-audit', desired);
    const initial = new Map(
      (await db.query<{ id: string; v: string }>('SELECT id, v FROM public.meter')).map((r) => [Number(r.id), r.v]),
    );
    const w = new AppWorkload(db.url, { schema: 'public', name: 'meter' }, 'id', initial, (n) => n + 10_000);
    // Both versions write `v` by name.
    const old = await w.start('old-app', 'v', 3);
    await sleep(150);
    await apply(p, 'expand');
    await phase('expand');
    const neu = await w.start('new-app', 'v', 3);
    await sleep(300);
    await apply(p, 'backfill');
    await phase('backfill');
    await sleep(300);
    await apply(p, 'contract');
    await phase('contract');
    await sleep(300);
    await w.stopGroup(old);
    await w.stopGroup(neu);
    const report = await w.stop();
    expect(report.failures).toEqual([]);
    console.log(
      `type change under audit triggers (PostgreSQL ${db.major}): ${report.statements} statements ${JSON.stringify(report.byRole)}, ` +
        `p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms, 0 failed`,
    );
    await expectAudited(w, 'public.meter', ['of', 'when'], {
      'old-app': ['before', 'expand', 'backfill', 'contract'],
      'new-app': ['expand', 'backfill', 'contract'],
    });
    expect(await triggerDefs('public.meter')).toEqual([
      "CREATE TRIGGER meter_of AFTER UPDATE OF v ON public.meter FOR EACH ROW EXECUTE FUNCTION audit_row('of', 'v', 'v')",
      "CREATE TRIGGER meter_when AFTER UPDATE ON public.meter FOR EACH ROW WHEN ((new.v IS DISTINCT FROM old.v)) EXECUTE FUNCTION audit_row('when', 'v', 'v')",
    ]);
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  });
  it('the widening: SHARE ROW EXCLUSIVE (pg_locks), comment and enabled state kept, a disabled trigger left alone; zdm rollback before contract puts the triggers back as they were', async () => {
    await db.exec(`
      ${AUDIT_SQL}
      CREATE TABLE public.acct (id bigint PRIMARY KEY, name text NOT NULL);
      INSERT INTO public.acct SELECT g, 'acct ' || g FROM generate_series(1, 300) g;
      CREATE TRIGGER acct_of AFTER UPDATE OF name ON public.acct FOR EACH ROW EXECUTE FUNCTION public.audit_row('of', 'label', 'name');
      CREATE TRIGGER acct_always AFTER INSERT OR UPDATE OF name ON public.acct FOR EACH ROW EXECUTE FUNCTION public.audit_row('always', 'label', 'name');
      ALTER TABLE public.acct ENABLE ALWAYS TRIGGER acct_always;
      CREATE TRIGGER acct_off AFTER UPDATE OF name ON public.acct FOR EACH ROW EXECUTE FUNCTION public.audit_row('off', 'label', 'name');
      ALTER TABLE public.acct DISABLE TRIGGER acct_off;
      COMMENT ON TRIGGER acct_of ON public.acct IS 'audits name writes';`);
    const desired = `
version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      acct:
        columns:
          id: { type: bigint, nullable: false }
          label: { type: text, nullable: false, renamedFrom: name }
        primaryKey: { columns: [id] }
${AUDIT_YAML}    triggers:
      acct:
        acct_of: { timing: after, events: [update], columns: [label], forEach: row, function: audit_row, arguments: [of, label, name], comment: audits name writes }
        acct_always: { timing: after, events: [insert, update], columns: [label], forEach: row, function: audit_row, arguments: [always, label, name], enabled: always }
        acct_off: { timing: after, events: [update], columns: [label], forEach: row, function: audit_row, arguments: [off, label, name], enabled: disabled }
        acct_new: { timing: after, events: [update], columns: [label], forEach: row, function: audit_row, arguments: [new, label, name], comment: new in this plan }
`;
    // Rehearsed: each step's locks read from pg_locks on a scratch copy (a step taking a lock it
    // does not declare fails the plan).
    const { plan: p, file } = await plan('widen-rollback', desired, true);
    const widening = p.phases[0]!.steps.filter((s) => s.kind === 'sql' && s.undo !== undefined);
    expect(widening.map((s) => s.summary).sort()).toEqual([
      "create trigger acct_new on public.acct with UPDATE OF label, name while name and label are kept in sync (both application versions' updates fire it)",
      "replace trigger acct_always on public.acct with UPDATE OF name, label while name and label are kept in sync (both application versions' updates fire it)",
      "replace trigger acct_of on public.acct with UPDATE OF name, label while name and label are kept in sync (both application versions' updates fire it)",
    ]);
    const state = async () => ({
      schema: fingerprint(withoutJournal(await introspect(db.client))),
      triggers: await db.query(
        `SELECT tgname, tgenabled, pg_get_triggerdef(t.oid) AS def, obj_description(t.oid, 'pg_trigger') AS comment
           FROM pg_trigger t WHERE tgrelid = 'public.acct'::regclass AND NOT tgisinternal ORDER BY tgname`,
      ),
    });
    const before = await state();
    await apply(p, 'expand');
    const expanded = (await state()).triggers.filter((t) => !String(t.tgname).endsWith('zdm_sync'));
    expect(expanded).toEqual([
      {
        tgname: 'acct_always',
        tgenabled: 'A',
        def: "CREATE TRIGGER acct_always AFTER INSERT OR UPDATE OF name, label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('always', 'label', 'name')",
        comment: null,
      },
      {
        tgname: 'acct_new',
        tgenabled: 'O',
        def: "CREATE TRIGGER acct_new AFTER UPDATE OF label, name ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('new', 'label', 'name')",
        comment: 'new in this plan',
      },
      {
        tgname: 'acct_of',
        tgenabled: 'O',
        def: "CREATE TRIGGER acct_of AFTER UPDATE OF name, label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('of', 'label', 'name')",
        comment: 'audits name writes',
      },
      {
        tgname: 'acct_off',
        tgenabled: 'D',
        def: "CREATE TRIGGER acct_off AFTER UPDATE OF name ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('off', 'label', 'name')",
        comment: null,
      },
    ]);
    // Each widening step's locks, read from pg_locks inside a transaction rolled back (run again
    // once expand has added the column: CREATE OR REPLACE TRIGGER locks alike whether or not it changes it).
    const existing = await relations(db.client);
    for (const step of widening) {
      const rehearsed = p.rehearsal?.rehearsed ? p.rehearsal.steps.find((r) => r.id === step.id) : undefined;
      expect(
        rehearsed?.locks.map((l) => `${l.mode} on ${l.relation}`),
        step.summary,
      ).toEqual(['SHARE ROW EXCLUSIVE on public.acct']);
      // The replaced ones again on the database itself (a new one exists now: it cannot be created twice).
      if (step.kind !== 'sql' || step.summary.startsWith('create')) continue;
      await db.exec('BEGIN');
      try {
        for (const q of step.sql) await db.exec(q);
        expect(await heldLocks(db.client, existing), step.summary).toEqual(
          step.locks.map((l) => `${l.mode} on ${l.relation}`),
        );
        expect(step.locks.map((l) => l.mode)).toEqual(['SHARE ROW EXCLUSIVE']);
      } finally {
        await db.exec('ROLLBACK');
      }
    }
    // The new version's update fires the widened triggers (not the disabled one), and so does the old version's.
    await db.exec(`UPDATE public.acct SET label = 'x' WHERE id = 1; UPDATE public.acct SET name = 'y' WHERE id = 2`);
    expect(
      (await db.query(`SELECT row_id, kind FROM public.audit WHERE row_id IN (1, 2) ORDER BY row_id, kind`)).map(
        (r) => `${r.row_id} ${r.kind}`,
      ),
    ).toEqual(['1 always', '1 new', '1 of', '2 always', '2 new', '2 of']);
    await apply(p, 'backfill');
    const r = await rollbackPlan(db.client, p);
    expect(r.undone.some((u) => u.sql.some((q) => q.startsWith('CREATE OR REPLACE TRIGGER acct_of ')))).toBe(true);
    expect(await state()).toEqual(before);
    // Applied again to the end: contract creates every trigger as the desired state has it.
    await apply(p, 'expand');
    await apply(p, 'backfill');
    await apply(p, 'contract');
    expect(await triggerDefs('public.acct')).toEqual([
      "CREATE TRIGGER acct_always AFTER INSERT OR UPDATE OF label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('always', 'label', 'name')",
      "CREATE TRIGGER acct_new AFTER UPDATE OF label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('new', 'label', 'name')",
      "CREATE TRIGGER acct_of AFTER UPDATE OF label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('of', 'label', 'name')",
      "CREATE TRIGGER acct_off AFTER UPDATE OF label ON public.acct FOR EACH ROW EXECUTE FUNCTION audit_row('off', 'label', 'name')",
    ]);
    expect((await makePlan(db.client, { desiredPath: file })).empty).toBe(true);
  });
});
