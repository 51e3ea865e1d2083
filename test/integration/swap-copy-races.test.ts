/**
 * A partition swap's copy racing the application's writes, compared row by row with the live table
 * after the copy: UPDATEs, DELETEs, key-changing UPDATEs (which move the row to another partition) and
 * INSERTs behind, inside and ahead of the batch being copied, issued while a batch's transaction is
 * held open (the `beforeBatchCommit` seam: the batch's rows are read and inserted, not committed).
 *
 * What must hold whatever guard the copy uses against a concurrent writer: no row of the live table is
 * missing from the shadow, no row the live table no longer has (a DELETE, the old key of an UPDATE that
 * changed it) is left in the shadow, every row has its latest values, and no application statement fails.
 * The cases common to both guards run twice: under `repair` (the rows read on a second connection and
 * streamed in by COPY) and under `for-share` (another unique constraint: the anti-join's INSERT reads
 * the rows FOR SHARE in the batch's transaction).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPhase } from '../../src/apply/index.js';
import type { ApplyTestHooks } from '../../src/apply/types.js';
import type { Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

/** 2,000 rows, even ids 2…4000: odd ids are free for inserts inside the ranges being copied. */
const SETUP = `
CREATE TABLE items (id bigint PRIMARY KEY, v integer NOT NULL, pad text NOT NULL);
INSERT INTO items SELECT g * 2, 0, repeat('x', 20) FROM generate_series(1, 2000) g;
ANALYZE items;
`;

const DESIRED = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      items:
        columns:
          id: { type: bigint, nullable: false }
          v: { type: integer, nullable: false }
          pad: { type: text, nullable: false }
        primaryKey: { name: items_pkey, columns: [id] }
        partitionBy: { strategy: range, columns: [id] }
        partitions:
          items_p1: { from: ['0'], to: ['1000'] }
          items_p2: { from: ['1000'], to: ['2000'] }
          items_p3: { from: ['2000'], to: ['3000'] }
          items_p4: { from: ['3000'], to: ['4000'] }
          items_default: { default: true }
`;

/**
 * `repair` (the desired table unique on its key only) or `for-share` (another unique constraint: the
 * batches read the rows FOR SHARE, in their own transaction).
 */
type Guard = 'repair' | 'for-share';
const FOR_SHARE_SETUP = 'ALTER TABLE items ADD CONSTRAINT items_id_pad_key UNIQUE (id, pad);';
const FOR_SHARE_DESIRED = '        uniqueConstraints:\n          items_id_pad_key: { columns: [id, pad] }\n';

const ALLOW = ['long-running', 'data-loss'] as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zdm-swap-races-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function planFor(db: TestDatabase, batchSize: number, guard: Guard = 'repair'): Promise<Plan> {
  const file = path.join(dir, `${db.name}.yaml`);
  await writeFile(
    file,
    guard === 'repair' ? DESIRED : DESIRED.replace('        partitionBy:', `${FOR_SHARE_DESIRED}        partitionBy:`),
  );
  const made = await makePlan(db.client, { scratchUrl: adminUrl(), desiredPath: file, batchSize });
  const kinds = made.plan.phases.map((p) => p.steps.map((s) => s.kind));
  expect(kinds[1]!.slice(0, 2)).toEqual(['copy', 'verify']);
  const copy = made.plan.phases[1]!.steps[0];
  expect(copy?.kind === 'copy' && [copy.guard, copy.insert]).toEqual([
    guard,
    guard === 'repair' ? 'copy' : 'anti-join',
  ]);
  return made.plan;
}

/** Rows of one table missing from the other, both ways, over every column. */
async function difference(db: TestDatabase): Promise<{ missing: number; extra: number; rows: unknown[] }> {
  const r = await db.query<{ missing: string; extra: string }>(
    `SELECT (SELECT count(*) FROM (TABLE items EXCEPT ALL TABLE items_zdm_shadow) a)::text AS missing,
            (SELECT count(*) FROM (TABLE items_zdm_shadow EXCEPT ALL TABLE items) b)::text AS extra`,
  );
  const rows = await db.query(
    `(SELECT 'live only' AS side, * FROM (TABLE items EXCEPT ALL TABLE items_zdm_shadow) a)
     UNION ALL (SELECT 'shadow only', * FROM (TABLE items_zdm_shadow EXCEPT ALL TABLE items) b) ORDER BY 2 LIMIT 20`,
  );
  return { missing: Number(r[0]!.missing), extra: Number(r[0]!.extra), rows };
}

/** A statement of the application on its own connection: its error (if any) is recorded, never thrown. */
function write(c: pg.Client, sql: string, errors: string[]): Promise<boolean> {
  return c.query(sql).then(
    () => true,
    (e: unknown) => {
      errors.push(`${sql}: ${String(e)}`);
      return false;
    },
  );
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The backfill phase (copy, verify, the rest), its error as a string (the verify step's when rows differ). */
async function backfill(db: TestDatabase, plan: Plan, hooks: ApplyTestHooks) {
  return applyPhase(db.client, plan, {
    phase: 'backfill',
    allowHazards: [...ALLOW],
    pauseMs: 0,
    // A second connection, as the CLI gives: the batches' rows are read there and streamed in by COPY.
    sideConnection: () => db.connect(),
    testHooks: hooks,
  }).then(
    () => null,
    (e: unknown) => String(e),
  );
}

describe.each<Guard>([
  'repair',
  'for-share',
])('a partition swap copy while the application writes the rows being copied (%s guard)', (guard) => {
  let db: TestDatabase;
  let clients: pg.Client[] = [];
  beforeEach(async () => {
    db = await freshDatabase('swap_races');
    await db.exec(SETUP + (guard === 'repair' ? '' : FOR_SHARE_SETUP));
    clients = [];
    for (let i = 0; i < 8; i++) clients.push(await db.connect());
  });
  afterEach(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await db?.drop();
  });

  it('loses no delete, update, key change or insert made while a batch is open', async () => {
    const plan = await planFor(db, 100, guard);
    await applyPhase(db.client, plan, { phase: 'expand' });
    const errors: string[] = [];
    const pending: Promise<boolean>[] = [];
    const [w1, w2, w3, w4, w5, w6, w7, w8] = clients;
    const err = await backfill(db, plan, {
      beforeBatchCommit: async (_step, batchesDone) => {
        if (batchesDone === 0) {
          // Batch 1 holds ids 2…200, read and inserted into the shadow, not committed.
          pending.push(
            write(w1!, 'DELETE FROM items WHERE id = 10', errors),
            write(w2!, 'UPDATE items SET v = 7 WHERE id = 20', errors),
            write(w3!, 'UPDATE items SET id = 100030, v = 3 WHERE id = 30', errors), // out of the range, another partition
            write(w4!, 'UPDATE items SET id = 41, v = 4 WHERE id = 40', errors), // inside the range, a free key
            write(w5!, "INSERT INTO items VALUES (51, 5, 'inserted inside')", errors),
            write(w6!, "INSERT INTO items VALUES (211, 6, 'inserted ahead')", errors),
            write(w7!, 'UPDATE items SET v = 8 WHERE id = 350', errors), // ahead: the trigger's row meets the later batch
            write(w8!, 'DELETE FROM items WHERE id = 360', errors), // ahead
          );
          await settle(300);
        } else if (batchesDone === 1) {
          // Batch 2 starts at id 202 (it may be smaller than 100 rows: the application waited for
          // batch 1, so it is halved; 202…220 are in it whatever its size).
          pending.push(
            write(w1!, 'DELETE FROM items WHERE id = 2', errors), // behind
            write(w2!, 'UPDATE items SET v = 9 WHERE id = 4', errors), // behind
            write(w3!, "INSERT INTO items VALUES (10, 10, 'inserted again')", errors), // behind, a deleted key again
            write(w4!, 'UPDATE items SET id = 33, v = 11 WHERE id = 204', errors), // from this batch to behind it
            write(w5!, 'DELETE FROM items WHERE id = 206', errors),
            write(w6!, 'UPDATE items SET v = 12 WHERE id = 208', errors),
            write(w7!, 'UPDATE items SET id = 100210 WHERE id = 210', errors),
            write(w8!, 'DELETE FROM items WHERE id = 211', errors), // inserted during batch 1, copied by this one
          );
          await settle(300);
        }
      },
    });
    await Promise.all(pending);
    expect(errors).toEqual([]);
    expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
    expect(err).toBeNull();
    const n = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM items');
    expect(n[0]!.n).toBe(String(2000 - 5 + 3));
  }, 120_000);

  if (guard === 'repair')
    it.each([
      ['read on a second connection and streamed in by COPY', true],
      ['inserted by an anti-join, without a second connection', false],
    ])(
      'redoes ON CONFLICT DO NOTHING a batch that meets a copy the trigger wrote beside it (%s)',
      async (_how, side) => {
        const plan = await planFor(db, 100);
        const copy = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'copy');
        expect(copy?.kind === 'copy' && copy.insert).toBe('copy');
        await applyPhase(db.client, plan, { phase: 'expand' });
        const w = clients[0]!;
        const watcher = clients[1]!;
        const wPid = (await w.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        let committed: Promise<unknown> = Promise.resolve();
        const messages: string[] = [];
        const err = await applyPhase(db.client, plan, {
          phase: 'backfill',
          allowHazards: [...ALLOW],
          pauseMs: 0,
          ...(side ? { sideConnection: () => db.connect() } : {}),
          onEvent: (e) => messages.push(e.message),
          testHooks: {
            beforeBatchCommit: async (_step, batchesDone) => {
              if (batchesDone !== 0) return;
              // Ahead of batch 1 (ids 2…200), in batch 2: the trigger upserts the row into the shadow,
              // not committed, so batch 2's NOT EXISTS does not see it and its insert waits for it.
              await w.query('BEGIN');
              await w.query('UPDATE items SET v = 5 WHERE id = 250');
              // Committed once the copy waits for it: the batch's insert then fails on the unique key.
              committed = (async () => {
                for (;;) {
                  const r = await watcher.query<{ n: string }>(
                    `SELECT count(*)::text AS n FROM pg_locks w JOIN pg_locks h
                    ON h.locktype = 'transactionid' AND h.transactionid = w.transactionid AND h.granted AND h.pid = $1
                  WHERE w.locktype = 'transactionid' AND NOT w.granted`,
                    [wPid],
                  );
                  if (r.rows[0]!.n !== '0') break;
                  await settle(20);
                }
                await w.query('COMMIT');
              })();
            },
          },
        }).then(
          () => null,
          (e: unknown) => String(e),
        );
        await committed;
        expect(err).toBeNull();
        expect(
          messages.find((m) => /: copied \d+ rows/.test(m)),
          messages.join('\n'),
        ).toMatch(
          side
            ? /\(1999 rows in all\) \(20 batches streamed through COPY\); 1 batches redone ON CONFLICT DO NOTHING/
            : /\(1999 rows in all\); 1 batches redone ON CONFLICT DO NOTHING/,
        );
        expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
        const v = await db.query<{ v: number }>('SELECT v FROM items_zdm_shadow WHERE id = 250');
        expect(v).toEqual([{ v: 5 }]);
      },
      120_000,
    );

  if (guard === 'repair')
    it('loses no delete of a repeatable-read transaction whose snapshot is older than the batch', async () => {
      const plan = await planFor(db, 100);
      await applyPhase(db.client, plan, { phase: 'expand' });
      const errors: string[] = [];
      const [r] = clients;
      let pending: Promise<unknown> = Promise.resolve();
      const err = await backfill(db, plan, {
        beforeBatchCommit: async (_step, batchesDone) => {
          if (batchesDone === 0) {
            // Its snapshot is taken while batch 1 (ids 2…200) is not committed: it never sees the copies.
            await r!.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
            await r!.query('SELECT count(*) FROM items');
          } else if (batchesDone === 1) {
            // Not awaited: a guard may make the delete in the open batch wait for it.
            pending = write(r!, 'DELETE FROM items WHERE id = 60', errors)
              .then(() => write(r!, 'DELETE FROM items WHERE id = 250', errors)) // in the batch open now
              .then(() => write(r!, 'COMMIT', errors));
            await settle(300);
          }
        },
      });
      await pending;
      expect(errors).toEqual([]);
      expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
      expect(err).toBeNull();
    }, 120_000);

  if (guard === 'repair')
    it('without row locks: a delete of a row being copied does not wait for the batch, an update waits only for its copy', async () => {
      const plan = await planFor(db, 100);
      const copy = plan.phases.flatMap((p) => p.steps).find((s) => s.kind === 'copy');
      expect(copy?.kind === 'copy' && copy.guard).toBe('repair');
      await applyPhase(db.client, plan, { phase: 'expand' });
      const errors: string[] = [];
      const [d, u] = clients;
      let update: Promise<boolean> = Promise.resolve(true);
      const seen: Record<string, unknown> = {};
      const copier = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const err = await backfill(db, plan, {
        beforeBatchCommit: async (_step, batchesDone) => {
          if (batchesDone !== 0) return;
          // Batch 1 (ids 2…200) is read and copied, not committed. Its locks on the live table:
          seen.copier = await db.query<{ mode: string }>(
            `SELECT mode FROM pg_locks WHERE pid = $1 AND relation = 'items'::regclass ORDER BY mode`,
            [copier[0]!.pid],
          );
          // The delete finishes while the batch is open (its mirror's DELETE does not see the copy).
          const deleted = await Promise.race([
            write(d!, 'DELETE FROM items WHERE id = 12', errors),
            settle(2000).then(() => 'blocked'),
          ]);
          seen.deleted = deleted;
          // The update's mirror meets the batch's uncommitted copy: it waits for the batch's
          // transaction (a transactionid lock), not for a lock on the live row or table.
          update = write(u!, 'UPDATE items SET v = 77 WHERE id = 14', errors);
          await settle(300);
          seen.waits = await db.query<{ locktype: string; mode: string; holder: boolean }>(
            `SELECT w.locktype, w.mode, h.pid = $1 AS holder
             FROM pg_locks w JOIN pg_locks h ON h.locktype = w.locktype AND h.transactionid IS NOT DISTINCT FROM w.transactionid
                                            AND h.relation IS NOT DISTINCT FROM w.relation AND h.granted
            WHERE NOT w.granted AND w.pid <> pg_backend_pid()`,
            [copier[0]!.pid],
          );
        },
      });
      await update;
      expect(errors).toEqual([]);
      expect(seen.copier).toEqual([{ mode: 'AccessShareLock' }]);
      expect(seen.deleted).toBe(true);
      expect(seen.waits).toEqual([{ locktype: 'transactionid', mode: 'ShareLock', holder: true }]);
      expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
      expect(err).toBeNull();
      const v = await db.query<{ v: number }>('SELECT v FROM items_zdm_shadow WHERE id = 14');
      expect(v).toEqual([{ v: 77 }]);
    }, 120_000);

  if (guard === 'repair')
    it('a copy killed after its last batch, before removing what a racing delete left, removes it on the next run', async () => {
      const plan = await planFor(db, 500);
      await applyPhase(db.client, plan, { phase: 'expand' });
      const errors: string[] = [];
      const [d] = clients;
      // Killed with its backend (a failed step would be journaled failed and run again anyway).
      const applier = await db.connect();
      clients.push(applier);
      const pid = (await applier.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const killed = await applyPhase(applier, plan, {
        phase: 'backfill',
        allowHazards: [...ALLOW],
        pauseMs: 0,
        maxBatchMs: 600_000,
        sideConnection: () => db.connect(),
        testHooks: {
          beforeBatchCommit: async (_step, batchesDone) => {
            if (batchesDone === 0) await write(d!, 'DELETE FROM items WHERE id = 12', errors);
          },
          // 2,000 rows in batches of 500: the fifth finds none past the last key and ends the walk.
          afterBatch: async (_step, batches) => {
            if (batches !== 5) return;
            await db.query('SELECT pg_terminate_backend($1)', [pid]);
            throw new Error('killed after the last batch');
          },
        },
      }).then(
        () => null,
        (e: unknown) => String(e),
      );
      expect(killed).toMatch(/killed after the last batch|terminat/);
      expect(errors).toEqual([]);
      expect(await difference(db)).toMatchObject({ missing: 0, extra: 1 });
      expect(await backfill(db, plan, {})).toBeNull();
      expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
    }, 120_000);

  if (guard === 'repair')
    it('waits before its repair for a transaction holding an older snapshot, not for one idle without a snapshot', async () => {
      const plan = await planFor(db, 500);
      await applyPhase(db.client, plan, { phase: 'expand' });
      const [idle, old] = clients;
      // Read committed, idle in its transaction: no xid, no snapshot between statements.
      await idle!.query('BEGIN');
      await idle!.query('SELECT count(*) FROM items');
      // Repeatable read: its snapshot predates every batch.
      await old!.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await old!.query('SELECT count(*) FROM items');
      const warnings: string[] = [];
      let ended = 0;
      const run = applyPhase(db.client, plan, {
        phase: 'backfill',
        allowHazards: [...ALLOW],
        pauseMs: 0,
        sideConnection: () => db.connect(),
        onEvent: (e) => {
          if (e.type === 'warning') warnings.push(e.message);
        },
      }).then(() => {
        ended = performance.now();
      });
      const deadline = performance.now() + 60_000;
      while (!warnings.some((w) => /waiting for 1 transactions/.test(w)) && performance.now() < deadline)
        await settle(50);
      expect(warnings.find((w) => /waiting for/.test(w))).toMatch(
        new RegExp(`waiting for 1 transactions .* \\(pids ${(old as unknown as { processID: number }).processID}\\)`),
      );
      expect(ended).toBe(0);
      const committed = performance.now();
      await old!.query('COMMIT');
      await run;
      expect(ended).toBeGreaterThan(committed);
      await idle!.query('COMMIT');
      expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
    }, 120_000);

  it('loses nothing under writes aimed at the batch being copied, batch after batch', async () => {
    const plan = await planFor(db, 20, guard);
    await applyPhase(db.client, plan, { phase: 'expand' });
    const errors: string[] = [];
    const pending: Promise<boolean>[] = [];
    let fresh = 100_001;
    const deleted: number[] = [];
    let seed = 17;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const err = await backfill(db, plan, {
      beforeBatchCommit: async () => {
        // The batch's range starts past the highest key copied and committed so far.
        const r = await db.query<{ m: string | null }>(
          'SELECT max(id)::text AS m FROM items_zdm_shadow WHERE id < 5000',
        );
        const at = Number(r[0]!.m ?? 0);
        const near = () => at + 2 * (1 + random(30)) - 20; // behind, inside and ahead of the batch
        clients.forEach((c, i) => {
          const id = near();
          let sql: string;
          switch (i % 4) {
            case 0:
              sql = `UPDATE items SET v = v + 1 WHERE id = ${id}`;
              break;
            case 1:
              deleted.push(id);
              sql = `DELETE FROM items WHERE id = ${id}`;
              break;
            case 2:
              sql = `UPDATE items SET id = ${fresh++}, v = v + 100 WHERE id = ${id}`;
              break;
            default: {
              const again = deleted.length > 0 && random(2) === 0 ? deleted.shift()! : id + 1;
              sql = `INSERT INTO items VALUES (${again}, 1, 'new') ON CONFLICT DO NOTHING`;
            }
          }
          pending.push(write(c, sql, errors));
        });
        await settle(5 + random(20));
      },
    });
    await Promise.all(pending);
    expect(errors).toEqual([]);
    expect(await difference(db)).toEqual({ missing: 0, extra: 0, rows: [] });
    expect(err).toBeNull();
  }, 180_000);
});

describe('a partition swap copy streamed through COPY', () => {
  let db: TestDatabase;
  afterEach(async () => {
    await db?.drop();
  });

  it("keeps every value exactly, whatever the database's date, interval and float output settings", async () => {
    db = await freshDatabase('swap_copy_text');
    await db.exec(`
      CREATE TABLE m (id bigint PRIMARY KEY, f float8 NOT NULL, r real NOT NULL, d date NOT NULL, i interval NOT NULL, t timestamp NOT NULL);
      INSERT INTO m SELECT g, g / 3.0::float8 + 0.1, g / 7.0::real, date '2026-01-01' + g, g * interval '1 day 1 second', timestamp '2026-01-13 10:00' + g * interval '1 hour'
        FROM generate_series(1, 500) g;
      ANALYZE m;`);
    // A new connection (the copy's reader) prints floats rounded and dates day first.
    const dbName = (await db.query<{ d: string }>('SELECT current_database() AS d'))[0]!.d;
    await db.exec(
      `ALTER DATABASE "${dbName}" SET extra_float_digits = 0; ALTER DATABASE "${dbName}" SET DateStyle = 'SQL, DMY';` +
        ` ALTER DATABASE "${dbName}" SET IntervalStyle = 'sql_standard';`,
    );
    const file = path.join(dir, 'swap-copy-text.yaml');
    await writeFile(
      file,
      `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      m:
        columns:
          id: { type: bigint, nullable: false }
          f: { type: double precision, nullable: false }
          r: { type: real, nullable: false }
          d: { type: date, nullable: false }
          i: { type: interval, nullable: false }
          t: { type: timestamp without time zone, nullable: false }
        primaryKey: { name: m_pkey, columns: [id] }
        partitionBy: { strategy: range, columns: [id] }
        partitions:
          m_p1: { from: ['0'], to: ['250'] }
          m_p2: { from: ['250'], to: ['1000'] }
          m_default: { default: true }
`,
    );
    const made = await makePlan(db.client, { scratchUrl: adminUrl(), desiredPath: file, batchSize: 100 });
    const copy = made.plan.phases[1]!.steps.find((st) => st.kind === 'copy');
    expect(copy?.kind === 'copy' && copy.insert).toBe('copy');
    await applyPhase(db.client, made.plan, { phase: 'expand' });
    const messages: string[] = [];
    await applyPhase(db.client, made.plan, {
      phase: 'backfill',
      allowHazards: [...ALLOW],
      pauseMs: 0,
      sideConnection: () => db.connect(),
      onEvent: (e) => messages.push(e.message),
    });
    expect(messages.find((m) => /: copied \d+ rows/.test(m))).toMatch(/\(6 batches streamed through COPY\)/);
    // Compared as values, not as text (which the same rounding would make equal).
    const differ = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM m FULL JOIN m_zdm_shadow s USING (id)
        WHERE (m.f, m.r, m.d, m.i, m.t) IS DISTINCT FROM (s.f, s.r, s.d, s.i, s.t)`,
    );
    expect(differ).toEqual([{ n: '0' }]);
  }, 120_000);
});
