/**
 * A concurrent application workload on an `orders (id identity, customer_id, amount, status,
 * created_at)` table for the partition swap tests: each worker owns the existing ids
 * `id % workers = k` and the ids it inserts, updates (amount, status, and `created_at`, which moves a row to another partition) and
 * deletes them, and keeps a record of what each of its rows must be. `compare` checks the table
 * against the record with EXCEPT both ways.
 */
import type pg from 'pg';

export interface OrderRow {
  readonly customer_id: number;
  readonly amount: string;
  readonly status: string;
  readonly created_at: string;
}

export interface PartitionWorkloadReport {
  readonly statements: number;
  readonly errors: readonly string[];
  readonly maxMs: number;
  readonly inserts: number;
  readonly updates: number;
  readonly keyMoves: number;
  readonly deletes: number;
}

export interface PartitionWorkload {
  stop(): Promise<PartitionWorkloadReport>;
  /** The expected rows, by id. */
  readonly record: ReadonlyMap<number, OrderRow>;
}

/** A random instant between `from` and `to` (ISO), to the second. */
function randomTime(rand: () => number, from: number, to: number): string {
  return new Date(Math.floor((from + rand() * (to - from)) / 1000) * 1000).toISOString();
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Starts `clients.length` workers on `table` (schema-qualified SQL name). The record starts from
 * the rows the table has now.
 */
export async function startPartitionWorkload(
  clients: readonly pg.Client[],
  table: string,
  options: { readonly from: Date; readonly to: Date; readonly pauseMs?: number; readonly seed?: number } = {
    from: new Date('2024-01-01T00:00:00Z'),
    to: new Date('2027-01-01T00:00:00Z'),
  },
): Promise<PartitionWorkload> {
  const record = new Map<number, OrderRow>();
  const first = clients[0]!;
  const rows = await first.query<{ id: string } & OrderRow>(
    `SELECT id::text, customer_id, amount::text, status, created_at FROM ${table}`,
  );
  for (const r of rows.rows) {
    record.set(Number(r.id), {
      customer_id: r.customer_id,
      amount: r.amount,
      status: r.status,
      created_at: new Date(r.created_at).toISOString(),
    });
  }
  const from = options.from.getTime();
  const to = options.to.getTime();
  const errors: string[] = [];
  let statements = 0;
  let maxMs = 0;
  let inserts = 0;
  let updates = 0;
  let keyMoves = 0;
  let deletes = 0;
  let running = true;
  const n = clients.length;
  const loops = clients.map(async (c, k) => {
    const rand = prng((options.seed ?? 1) * 1000 + k);
    const own = [...record.keys()].filter((id) => id % n === k);
    const timed = async <T extends pg.QueryResultRow>(sql: string, values: unknown[]) => {
      const t0 = performance.now();
      statements++;
      try {
        return await c.query<T>(sql, values);
      } catch (err) {
        errors.push(`${(err as Error).message} [${sql}]`);
        return null;
      } finally {
        maxMs = Math.max(maxMs, performance.now() - t0);
      }
    };
    while (running) {
      const op = rand();
      if (op < 0.35 || own.length === 0) {
        const row: OrderRow = {
          customer_id: 1 + Math.floor(rand() * 50),
          amount: `${1 + Math.floor(rand() * 500)}.00`,
          status: 'pending',
          created_at: randomTime(rand, from, to),
        };
        // The new id is this worker's: the others only touch ids in their own lists.
        const r = await timed<{ id: string }>(
          `INSERT INTO ${table} (customer_id, amount, status, created_at) VALUES ($1, $2, $3, $4) RETURNING id::text`,
          [row.customer_id, row.amount, row.status, row.created_at],
        );
        if (r) {
          const id = Number(r.rows[0]!.id);
          record.set(id, row);
          own.push(id);
          inserts++;
        }
      } else if (op < 0.8) {
        const id = own[Math.floor(rand() * own.length)]!;
        const old = record.get(id)!;
        const move = rand() < 0.4;
        const row: OrderRow = {
          ...old,
          amount: `${1 + Math.floor(rand() * 500)}.00`,
          status: (['pending', 'active', 'shipped'] as const)[Math.floor(rand() * 3)]!,
          created_at: move ? randomTime(rand, from, to) : old.created_at,
        };
        const r = await timed(`UPDATE ${table} SET amount = $2, status = $3, created_at = $4 WHERE id = $1`, [
          id,
          row.amount,
          row.status,
          row.created_at,
        ]);
        if (r) {
          record.set(id, row);
          updates++;
          if (move) keyMoves++;
        }
      } else {
        const i = Math.floor(rand() * own.length);
        const id = own[i]!;
        const r = await timed(`DELETE FROM ${table} WHERE id = $1`, [id]);
        if (r) {
          record.delete(id);
          own.splice(i, 1);
          deletes++;
        }
      }
      if ((options.pauseMs ?? 2) > 0) await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 2));
    }
  });
  return {
    record,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { statements, errors, maxMs, inserts, updates, keyMoves, deletes };
    },
  };
}

/** Rows of `table` not in the record, and rows of the record not in `table` (EXCEPT both ways). */
export async function compareWithRecord(
  c: pg.Client,
  table: string,
  record: ReadonlyMap<number, OrderRow>,
): Promise<{ missing: number; extra: number; rows: number }> {
  await c.query('DROP TABLE IF EXISTS pg_temp.zdm_expected');
  await c.query(
    'CREATE TEMP TABLE zdm_expected (id bigint, customer_id bigint, amount numeric(10,2), status text, created_at timestamptz)',
  );
  const entries = [...record.entries()];
  for (let i = 0; i < entries.length; i += 5000) {
    const chunk = entries.slice(i, i + 5000);
    await c.query(
      `INSERT INTO zdm_expected SELECT * FROM unnest($1::int8[], $2::int8[], $3::numeric[], $4::text[], $5::timestamptz[])`,
      [
        chunk.map(([id]) => id),
        chunk.map(([, r]) => r.customer_id),
        chunk.map(([, r]) => r.amount),
        chunk.map(([, r]) => r.status),
        chunk.map(([, r]) => r.created_at),
      ],
    );
  }
  const cols = 'id, customer_id, amount, status::text, created_at';
  const r = await c.query<{ missing: string; extra: string; rows: string }>(
    `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM zdm_expected EXCEPT SELECT ${cols} FROM ${table}) x) AS missing,
            (SELECT count(*) FROM (SELECT ${cols} FROM ${table} EXCEPT SELECT ${cols} FROM zdm_expected) y) AS extra,
            (SELECT count(*) FROM ${table}) AS rows`,
  );
  const row = r.rows[0]!;
  return { missing: Number(row.missing), extra: Number(row.extra), rows: Number(row.rows) };
}
