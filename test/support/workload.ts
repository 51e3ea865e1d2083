/**
 * Measuring what the application would feel: timed statements on their own connections.
 */
import type pg from 'pg';

export interface Timed<T> {
  readonly ms: number;
  readonly value?: T;
  readonly error?: Error;
}

/** Runs one statement and measures its latency; never throws (the error is in the result). */
export async function timed<T extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.Client,
  sql: string,
  values: unknown[] = [],
): Promise<Timed<pg.QueryResult<T>>> {
  const t0 = performance.now();
  try {
    const value = await client.query<T>(sql, values);
    return { ms: performance.now() - t0, value };
  } catch (err) {
    return { ms: performance.now() - t0, error: err as Error };
  }
}

export interface WorkloadReport {
  readonly statements: number;
  readonly errors: readonly string[];
  readonly maxMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface Workload {
  stop(): Promise<WorkloadReport>;
}

/**
 * Runs `next(i, k)` (a statement and its parameters; `k` the client's index) in a loop on each client
 * until stopped, as fast as the server answers (plus `pauseMs`), recording latencies and errors of
 * all of them together.
 */
export function startWorkload(
  clients: pg.Client | readonly pg.Client[],
  next: (i: number, k: number) => { readonly sql: string; readonly values?: unknown[] },
  pauseMs = 5,
): Workload {
  const latencies: number[] = [];
  const errors: string[] = [];
  let running = true;
  const loops = (Array.isArray(clients) ? clients : [clients]).map(async (client: pg.Client, k) => {
    for (let i = 0; running; i++) {
      const q = next(i, k);
      const r = await timed(client, q.sql, q.values ?? []);
      latencies.push(r.ms);
      if (r.error) errors.push(r.error.message);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return {
        statements: latencies.length,
        errors,
        maxMs: sorted[sorted.length - 1] ?? 0,
        p50Ms: at(0.5),
        p99Ms: at(0.99),
      };
    },
  };
}
