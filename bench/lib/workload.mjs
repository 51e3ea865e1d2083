// A steady application workload at a fixed rate, for measuring what the application feels while a
// migration runs. Open loop: statement i of a connection is due at start + i / (rate per
// connection); its latency is measured from when it was due, not from when it could be sent, so a
// connection stuck behind a lock charges the wait to every statement queued behind it (as the
// application's own request queue would) rather than hiding it (coordinated omission).
import { connectTo, max, median, percentile, sleep } from './common.mjs';

/**
 * Starts `connections` loops that together run `rate` statements per second, each `next(rng)`
 * returning `{ kind, sql, values }`. `stop()` resolves with every sample `{ due, ms, kind, values,
 * error }` (`due` in performance.now() time; the statement completed at `due + ms`).
 */
export async function startWorkload(url, { rate, connections, next }) {
  const clients = [];
  for (let i = 0; i < connections; i++) clients.push(await connectTo(url, `zdm bench app ${i + 1}`));
  const samples = [];
  let running = true;
  const interval = (1000 * connections) / rate;
  const start = performance.now() + 50;
  const loops = clients.map(async (c, n) => {
    // Stagger the connections evenly within one interval.
    const offset = (interval * n) / connections;
    for (let i = 0; running; i++) {
      const due = start + offset + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!running) break;
      const q = next(n, i);
      let error;
      try {
        await c.query(q.sql, q.values);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      samples.push({ due, ms: performance.now() - due, kind: q.kind, values: q.values, error });
    }
  });
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      return samples;
    },
  };
}

/** Statements, errors and latency percentiles of the samples due within [from, to). */
export function summarize(samples, from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY) {
  const inWindow = samples.filter((s) => s.due >= from && s.due < to);
  const ms = inWindow.map((s) => s.ms);
  const errors = inWindow.filter((s) => s.error);
  return {
    statements: inWindow.length,
    errors: errors.length,
    errorMessages: [...new Set(errors.map((e) => e.error))].slice(0, 5),
    p50Ms: median(ms),
    p99Ms: percentile(ms, 99),
    maxMs: max(ms),
  };
}
