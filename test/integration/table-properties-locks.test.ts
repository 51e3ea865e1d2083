/**
 * The locks the table-property steps declare are the locks PostgreSQL takes. Each step the planner
 * makes for a change of identity options, storage parameters, row level security, replica identity or
 * a comment runs inside a transaction, and the relation locks its backend holds are read from
 * pg_locks before the rollback: per relation, the strongest mode held must be the declared one, and
 * no other relation may be locked. Where a step declares SHARE UPDATE EXCLUSIVE, a writer and a reader
 * on other connections go through while the step's transaction still holds it.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/introspect/index.js';
import type { DatabaseModel, Table } from '../../src/model/types.js';
import { planChanges } from '../../src/plan/planner.js';
import { LOCK_MODES, type LockMode, type SqlStep } from '../../src/plan/types.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { timed } from '../support/workload.js';

const PG_MODES: Readonly<Record<string, LockMode>> = {
  AccessShareLock: 'ACCESS SHARE',
  RowShareLock: 'ROW SHARE',
  RowExclusiveLock: 'ROW EXCLUSIVE',
  ShareUpdateExclusiveLock: 'SHARE UPDATE EXCLUSIVE',
  ShareLock: 'SHARE',
  ShareRowExclusiveLock: 'SHARE ROW EXCLUSIVE',
  ExclusiveLock: 'EXCLUSIVE',
  AccessExclusiveLock: 'ACCESS EXCLUSIVE',
};
const strength = (m: LockMode): number => LOCK_MODES.indexOf(m);

const SETUP = `
  CREATE TABLE public.t (
    id integer GENERATED ALWAYS AS IDENTITY,
    code text NOT NULL,
    doc tsvector,
    CONSTRAINT t_pkey PRIMARY KEY (id),
    CONSTRAINT t_code_len CHECK (length(code) < 100)
  );
  CREATE UNIQUE INDEX t_code_key ON public.t (code);
  CREATE INDEX t_doc ON public.t USING gin (doc);
  INSERT INTO public.t (code) SELECT 'c' || g FROM generate_series(1, 100) g;`;

/** The live model with table `t` changed by `fn`. */
function withT(m: DatabaseModel, fn: (t: Table) => Table): DatabaseModel {
  return {
    ...m,
    schemas: m.schemas.map((s) =>
      s.name === 'public' ? { ...s, tables: s.tables.map((t) => (t.name === 't' ? fn(t) : t)) } : s,
    ),
  };
}

describe('table properties: declared locks are the locks PostgreSQL takes', () => {
  let db: TestDatabase;
  let other: pg.Client;
  let live: DatabaseModel;
  beforeAll(async () => {
    db = await freshDatabase('table property locks');
    other = await db.connect();
    await db.exec(SETUP);
    live = await introspect(db.client);
  });
  afterAll(async () => {
    await other?.end();
    await db?.drop();
  });

  /** Relation → strongest mode this backend holds, for relations of schema public. */
  async function heldLocks(): Promise<Record<string, LockMode>> {
    const rows = await db.query<{ relation: string; mode: string }>(
      `SELECT n.nspname || '.' || c.relname AS relation, l.mode
       FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND n.nspname = 'public'`,
    );
    const out: Record<string, LockMode> = {};
    for (const r of rows) {
      const mode = PG_MODES[r.mode]!;
      const had = out[r.relation];
      if (had === undefined || strength(mode) > strength(had)) out[r.relation] = mode;
    }
    return out;
  }

  function stepsFor(desired: DatabaseModel, from: DatabaseModel = live): (SqlStep & { phase: string })[] {
    const { plan } = planChanges(from, desired, {
      id: 'p-locks',
      createdAt: '2026-11-25T12:00:00Z',
      zdmVersion: '0.1.0',
      desiredSha256: `sha256:${'ab'.repeat(32)}`,
      serverVersion: `PostgreSQL ${db.major}`,
    });
    return plan.phases.flatMap((p) => p.steps.map((s) => ({ ...(s as SqlStep), phase: p.name })));
  }

  /**
   * Runs the step's SQL in a transaction, compares the locks held with the declared ones, runs
   * `meanwhile` while they are held, and rolls back.
   */
  async function proveLocks(
    step: SqlStep,
    meanwhile?: () => Promise<void>,
    undeclared: Readonly<Record<string, LockMode>> = {},
  ): Promise<void> {
    expect(step.kind).toBe('sql');
    expect(step.transaction).toBe(true);
    await db.exec('BEGIN');
    try {
      for (const s of step.sql) await db.exec(s);
      const held = await heldLocks();
      const declared = Object.fromEntries(step.locks.map((l) => [l.relation, l.mode]));
      expect(held, `${step.summary}\n${step.sql.join('\n')}`).toEqual({ ...declared, ...undeclared });
      await meanwhile?.();
    } finally {
      await db.exec('ROLLBACK');
    }
  }

  /** An INSERT and a SELECT on another connection finish at once. */
  async function trafficGoesOn(): Promise<void> {
    const insert = await timed(
      other,
      "INSERT INTO public.t (code) VALUES ('while-held ' || pg_catalog.clock_timestamp())",
    );
    const select = await timed(other, 'SELECT count(*) FROM public.t');
    expect(insert.error).toBeUndefined();
    expect(select.error).toBeUndefined();
    expect(insert.ms).toBeLessThan(1000);
    expect(select.ms).toBeLessThan(1000);
  }

  it('identity sequence options: ALTER COLUMN … SET …, ACCESS EXCLUSIVE on the table, expand', async () => {
    const steps = stepsFor(
      withT(live, (t) => ({
        ...t,
        columns: t.columns.map((c) =>
          c.name === 'id'
            ? { ...c, identityOptions: { increment: '5', maxValue: '1000000', cache: '20', cycle: true } }
            : c,
        ),
      })),
    );
    expect(steps.map((s) => [s.phase, s.sql])).toEqual([
      [
        'expand',
        ['ALTER TABLE public.t ALTER COLUMN id SET INCREMENT BY 5 SET MAXVALUE 1000000 SET CACHE 20 SET CYCLE'],
      ],
    ]);
    // The identity sequence is locked too, as ALTER SEQUENCE locks it; the model does not name it
    // (it is part of its column), and every INSERT that draws from it waits for the table's lock first.
    await proveLocks(steps[0]!, undefined, { 'public.t_id_seq': 'SHARE ROW EXCLUSIVE' });
  });

  it('CLUSTER ON and SET WITHOUT CLUSTER: SHARE UPDATE EXCLUSIVE on the table (and the index marked), reads and writes go on, no row moves', async () => {
    const on = stepsFor(withT(live, (t) => ({ ...t, clusterOn: 't_code_key' })));
    expect(on.map((s) => [s.phase, s.sql])).toEqual([['expand', ['ALTER TABLE public.t CLUSTER ON t_code_key']]]);
    expect(on[0]!.locks).toEqual([
      { relation: 'public.t', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'instant' },
      { relation: 'public.t_code_key', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'instant' },
    ]);
    const before = await db.query<{ f: string }>(`SELECT pg_relation_filenode('public.t')::text AS f`);
    await proveLocks(on[0]!, trafficGoesOn);
    await db.exec('ALTER TABLE public.t CLUSTER ON t_pkey');
    try {
      const clustered = await introspect(db.client);
      const off = stepsFor(
        withT(clustered, ({ clusterOn: _was, ...t }) => t),
        clustered,
      );
      expect(off.map((s) => s.sql)).toEqual([['ALTER TABLE public.t SET WITHOUT CLUSTER']]);
      await proveLocks(off[0]!, trafficGoesOn);
    } finally {
      await db.exec('ALTER TABLE public.t SET WITHOUT CLUSTER');
    }
    // A catalog mark: the table was not rewritten.
    expect(await db.query<{ f: string }>(`SELECT pg_relation_filenode('public.t')::text AS f`)).toEqual(before);
  });

  it('column attribute options and statistics target: SHARE UPDATE EXCLUSIVE on the table, reads and writes go on', async () => {
    const steps = stepsFor(
      withT(live, (t) => ({
        ...t,
        columns: t.columns.map((c) =>
          c.name === 'code'
            ? { ...c, options: { n_distinct: '-0.5', n_distinct_inherited: '100' }, statistics: 1000 }
            : c,
        ),
      })),
    );
    expect(steps.map((s) => [s.phase, s.sql])).toEqual([
      ['expand', ['ALTER TABLE public.t ALTER COLUMN code SET (n_distinct = -0.5, n_distinct_inherited = 100)']],
      ['expand', ['ALTER TABLE public.t ALTER COLUMN code SET STATISTICS 1000']],
    ]);
    for (const s of steps) {
      expect(s.locks).toEqual([{ relation: 'public.t', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'instant' }]);
      await proveLocks(s, trafficGoesOn);
    }
  });

  it('table storage parameters: SHARE UPDATE EXCLUSIVE on the table, reads and writes go on', async () => {
    const steps = stepsFor(
      withT(live, (t) => ({
        ...t,
        with: { fillfactor: '80', autovacuum_enabled: 'false', 'toast.autovacuum_enabled': 'false' },
      })),
    );
    expect(steps.map((s) => s.phase)).toEqual(['expand']);
    expect(steps[0]!.locks).toEqual([{ relation: 'public.t', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'instant' }]);
    await proveLocks(steps[0]!, trafficGoesOn);
  });

  it('index storage parameters: SHARE UPDATE EXCLUSIVE on the index alone (btree); ACCESS EXCLUSIVE on it for gin fastupdate', async () => {
    const steps = stepsFor(
      withT(live, (t) => ({
        ...t,
        indexes: t.indexes.map((i) =>
          i.name === 't_code_key'
            ? { ...i, with: { fillfactor: '70', deduplicate_items: 'off' } }
            : { ...i, with: { fastupdate: 'off' } },
        ),
      })),
    );
    expect(steps.map((s) => [s.phase, s.locks])).toEqual([
      ['expand', [{ relation: 'public.t_code_key', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'instant' }]],
      ['expand', [{ relation: 'public.t_doc', mode: 'ACCESS EXCLUSIVE', hold: 'instant' }]],
    ]);
    await proveLocks(steps[0]!, trafficGoesOn);
    await proveLocks(steps[1]!);
  });

  it('row level security and replica identity: ACCESS EXCLUSIVE on the table (and SHARE on the identity index)', async () => {
    const steps = stepsFor(
      withT(live, (t) => ({
        ...t,
        rowLevelSecurity: true,
        forceRowLevelSecurity: true,
        replicaIdentity: { kind: 'index', index: 't_code_key' },
      })),
    );
    expect(steps.map((s) => [s.phase, s.sql])).toEqual([
      ['contract', ['ALTER TABLE public.t ENABLE ROW LEVEL SECURITY']],
      ['contract', ['ALTER TABLE public.t FORCE ROW LEVEL SECURITY']],
      ['contract', ['ALTER TABLE public.t REPLICA IDENTITY USING INDEX t_code_key']],
    ]);
    for (const s of steps) await proveLocks(s);
    const full = stepsFor(withT(live, (t) => ({ ...t, replicaIdentity: { kind: 'full' } })));
    expect(full.map((s) => [s.phase, s.sql])).toEqual([['expand', ['ALTER TABLE public.t REPLICA IDENTITY FULL']]]);
    await proveLocks(full[0]!);
  });

  it('comments: COMMENT ON CONSTRAINT takes ACCESS SHARE on the table, COMMENT ON INDEX SHARE UPDATE EXCLUSIVE on the index', async () => {
    const constraint = stepsFor(
      withT(live, (t) => ({ ...t, checks: t.checks.map((c) => ({ ...c, comment: 'fits the label printer' })) })),
    );
    expect(constraint.map((s) => [s.phase, s.sql])).toEqual([
      ['expand', ["COMMENT ON CONSTRAINT t_code_len ON public.t IS 'fits the label printer'"]],
    ]);
    await proveLocks(constraint[0]!, trafficGoesOn);
    const index = stepsFor(
      withT(live, (t) => ({
        ...t,
        indexes: t.indexes.map((i) => (i.name === 't_doc' ? { ...i, comment: 'search' } : i)),
      })),
    );
    expect(index.map((s) => s.sql)).toEqual([["COMMENT ON INDEX public.t_doc IS 'search'"]]);
    await proveLocks(index[0]!, trafficGoesOn);
  });
});
