/**
 * Why zdm adds a partition to a partitioned table with `CREATE TABLE … (LIKE …)` + `ATTACH PARTITION`
 * and detaches with `DETACH … CONCURRENTLY`: the locks each takes on the parent, read from pg_locks
 * (run on 14 and 18: `ZDM_TEST_PG_VERSION=14`), and writes that go through meanwhile.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import { makePlan } from '../../src/workflow/plan.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

async function locksOf(c: pg.Client, pid: number): Promise<string[]> {
  const r = await c.query<{ l: string }>(
    `SELECT c.relname || ':' || l.mode AS l FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation' AND c.relname LIKE 'ev%' AND c.relkind IN ('r', 'p')
      ORDER BY 1`,
    [pid],
  );
  return r.rows.map((x) => x.l);
}

describe('partition management locks', () => {
  let db: TestDatabase;
  let other: pg.Client;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('partition_locks');
    other = await db.connect();
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-partition-locks-'));
    await db.exec(`
      CREATE TABLE ev (id bigint NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE ev_2026 PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO ev SELECT g, date '2025-01-01' + (g % 700) FROM generate_series(1, 2000) g;`);
  });
  afterAll(async () => {
    await other?.end().catch(() => {});
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('CREATE TABLE … PARTITION OF takes ACCESS EXCLUSIVE on the parent; LIKE + ATTACH only SHARE UPDATE EXCLUSIVE', async () => {
    const pid = (await db.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await db.exec('BEGIN');
    await db.exec(`CREATE TABLE ev_2027 PARTITION OF ev FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')`);
    const partitionOf = await locksOf(other, pid);
    await db.exec('ROLLBACK');
    expect(partitionOf).toContain('ev:AccessExclusiveLock');

    await db.exec('BEGIN');
    await db.exec('CREATE TABLE ev_2027 (LIKE ev INCLUDING DEFAULTS INCLUDING CONSTRAINTS)');
    await db.exec(`ALTER TABLE ev ATTACH PARTITION ev_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')`);
    const attach = await locksOf(other, pid);
    await db.exec('ROLLBACK');
    expect(attach).toContain('ev:ShareUpdateExclusiveLock');
    // (LIKE ev reads the parent's definition: ACCESS SHARE.)
    expect(attach).not.toContain('ev:AccessExclusiveLock');
    console.log(
      `PostgreSQL ${db.major}: PARTITION OF → ${partitionOf.join(', ')}; LIKE + ATTACH → ${attach.join(', ')}`,
    );
  });

  it('the planned new partition is attached while another session has an open write on the parent', async () => {
    const file = path.join(dir, 'add.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      ev:
        columns:
          id: { type: bigint, nullable: false }
          at: { type: date, nullable: false }
        primaryKey: { name: ev_pkey, columns: [id, at] }
        partitionBy: { strategy: range, columns: [at] }
        partitions:
          ev_2025: { from: ['2025-01-01'], to: ['2026-01-01'] }
          ev_2026: { from: ['2026-01-01'], to: ['2027-01-01'] }
          ev_2027: { from: ['2027-01-01'], to: ['2028-01-01'] }
`,
    );
    const made = await makePlan(db.client, { desiredPath: file });
    const sql = made.plan.phases
      .flatMap((p) => p.steps)
      .flatMap((s) => s.sql)
      .join('\n');
    expect(sql).toContain('(LIKE public.ev');
    expect(sql).toContain('ATTACH PARTITION public.ev_2027');
    await other.query('BEGIN');
    await other.query(`INSERT INTO ev VALUES (99999, '2025-06-01')`);
    try {
      // ROW EXCLUSIVE (the open INSERT) does not conflict with SHARE UPDATE EXCLUSIVE: no wait.
      const t0 = performance.now();
      await applyPhase(db.client, made.plan, { phase: 'expand', lockTimeoutMs: 500, maxLockRetries: 0 });
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      await other.query('ROLLBACK');
    }
  });

  it('DETACH PARTITION … CONCURRENTLY waits for older transactions without locking the parent: writes go on', async () => {
    const detacher = await db.connect();
    const reader = await db.connect();
    try {
      const pid = (await detacher.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // An open transaction that read the parent: DETACH CONCURRENTLY waits for it to end.
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT count(*) FROM ev');
      const detach = detacher.query('ALTER TABLE ev DETACH PARTITION ev_2026 CONCURRENTLY').then(
        () => undefined,
        (e: unknown) => e,
      );
      // It marks the partition detached (under SHARE UPDATE EXCLUSIVE on the parent, which ordinary
      // reads and writes do not conflict with), commits, and waits for older snapshots holding no
      // lock on the parent at all.
      let waiting = false;
      for (let i = 0; i < 200 && !waiting; i++) {
        const a = await other.query<{ w: string | null }>(
          'SELECT wait_event AS w FROM pg_stat_activity WHERE pid = $1',
          [pid],
        );
        waiting = a.rows[0]?.w === 'virtualxid';
        if (!waiting) await new Promise((r) => setTimeout(r, 20));
      }
      expect(waiting).toBe(true);
      const seen = await locksOf(other, pid);
      expect(seen).not.toContain('ev:AccessExclusiveLock');
      // Meanwhile the application writes to the parent.
      await other.query(`SET lock_timeout = '1s'`);
      await other.query(`INSERT INTO ev VALUES (100000, '2025-07-01')`);
      await reader.query('COMMIT');
      expect(await detach).toBeUndefined();
      console.log(
        `PostgreSQL ${db.major}: DETACH … CONCURRENTLY while waiting → table locks: ${seen.join(', ') || 'none'}`,
      );
      const parts = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_inherits WHERE inhparent = 'ev'::regclass`,
      );
      expect(parts[0]!.n).toBe('2');
    } finally {
      await detacher.end();
      await reader.end();
    }
  });
});

describe('a partition added next to a default partition', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase('partition_default_move');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-partition-move-'));
    await db.exec(`
      CREATE TABLE ev (id bigint NOT NULL, at date NOT NULL, note text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE ev_default PARTITION OF ev DEFAULT;
      INSERT INTO ev SELECT g, date '2025-01-01' + (g % 1000), 'n' || g FROM generate_series(1, 3000) g;`);
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes over the rows of the default partition it covers, in the same transaction as the ATTACH', async () => {
    const before = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ev_default WHERE at >= '2026-01-01' AND at < '2026-07-01'`,
    );
    expect(Number(before[0]!.n)).toBeGreaterThan(0);
    const file = path.join(dir, 'move.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      ev:
        columns:
          id: { type: bigint, nullable: false }
          at: { type: date, nullable: false }
          note: { type: text }
        primaryKey: { name: ev_pkey, columns: [id, at] }
        partitionBy: { strategy: range, columns: [at] }
        partitions:
          ev_2025: { from: ['2025-01-01'], to: ['2026-01-01'] }
          ev_2026h1: { from: ['2026-01-01'], to: ['2026-07-01'] }
          ev_default: { default: true }
`,
    );
    const total = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM ev');
    const made = await makePlan(db.client, { desiredPath: file });
    const [step] = made.plan.phases.flatMap((p) => p.steps);
    if (!step) throw new Error('no step');
    expect(step.sql.some((q) => q.startsWith('WITH moved AS (DELETE FROM public.ev_default'))).toBe(true);
    expect(step.hazards).toContain('blocks-reads');
    await applyPhase(db.client, made.plan, { phase: 'expand', allowHazards: ['blocks-reads'] });
    const moved = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM ev_2026h1');
    expect(moved[0]!.n).toBe(before[0]!.n);
    const after = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM ev');
    expect(after[0]!.n).toBe(total[0]!.n);
    for (const phase of ['backfill', 'contract'] as const) await applyPhase(db.client, made.plan, { phase });
    const again = await makePlan(db.client, { desiredPath: file });
    expect(again.empty).toBe(true);
  });
});
