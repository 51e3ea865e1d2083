/**
 * `zdm demo`: the seed scenarios on a throwaway embedded PostgreSQL with sample rows. Each
 * scenario is a desired-state file in examples/shop/scenarios (cumulative: each adds to the one
 * before); the demo plans it against the live database, shows the plan, applies the three phases while
 * a small background workload keeps writing to the tables, and checks that a second plan is empty.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApplyEvent, applyPhase } from '../apply/index.js';
import { sleep } from '../apply/timing.js';
import { connect } from '../db/connection.js';
import { startEmbedded } from '../db/embedded.js';
import { runSqlScript } from '../db/sql-script.js';
import { PHASES } from '../plan/types.js';
import { quoteIdent } from '../sql/quote.js';
import { type MadePlan, makePlan } from './plan.js';

export const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/shop');

export interface DemoOptions {
  readonly major?: number;
  readonly out: (line: string) => void;
  /** Shows a scenario's plan (its schema diff and its steps) before it is applied. */
  readonly showPlan: (made: MadePlan) => void;
  readonly onEvent: (e: ApplyEvent) => void;
  /** Called with the server's stop function as soon as it runs, so Ctrl-C can clean up. */
  readonly onServer?: (stop: () => Promise<void>) => void;
}

export interface DemoScenarioResult {
  readonly name: string;
  readonly steps: Readonly<Record<string, number>>;
  readonly hazards: readonly string[];
  readonly durationMs: number;
  readonly workloadStatements: number;
  readonly workloadErrors: number;
  readonly workloadMaxMs: number;
  readonly secondPlanEmpty: boolean;
}

/** The contract gate's quiet period in the demo (zdm apply's default is 1 h). */
const DEMO_OLD_WRITES_QUIET_MS = 2000;

/**
 * A few writers acting as the application: inserts and updates on orders and users, all the time.
 * `deploy(column)` is the new application version going live: from then on users are inserted with
 * that column for their name (scenario 5 renames users.name, and the old version must be gone
 * before contract drops the old column).
 */
function startWorkload(
  url: string,
  usersName: string,
): {
  stop(): Promise<{ statements: number; errors: number; maxMs: number }>;
  deploy(column: string): Promise<void>;
} {
  let running = true;
  /** Each writer's statement in flight: deploy waits for them, as a rolling deploy drains old requests. */
  const inFlight: Promise<unknown>[] = [];
  let nameColumn = usersName;
  let statements = 0;
  let errors = 0;
  let maxMs = 0;
  const loops = [0, 1].map(async (n) => {
    const c = await connect({ url, source: '--database-url' }, 'zdm demo workload');
    try {
      let i = 0;
      while (running) {
        const t0 = performance.now();
        try {
          if (i % 3 === 0) {
            await c.query(
              `INSERT INTO orders (customer_id, amount, status) VALUES (1 + (random() * 1999)::int, 1 + (random() * 99)::int, 'active')`,
            );
          } else if (i % 3 === 1) {
            await c.query(`UPDATE orders SET status = 'shipped' WHERE id = (SELECT 1 + (random() * 49999)::int)`);
          } else {
            inFlight[n] = c.query(
              `INSERT INTO users (${quoteIdent(nameColumn)}, email) VALUES ('Demo ${n}-${i}', 'demo${n}-${i}@example.com')`,
            );
            await inFlight[n];
          }
        } catch {
          errors++;
        }
        statements++;
        maxMs = Math.max(maxMs, performance.now() - t0);
        i++;
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await c.end().catch(() => {});
    }
  });
  return {
    async deploy(column) {
      nameColumn = column;
      await Promise.allSettled(inFlight);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return { statements, errors, maxMs };
    },
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoScenarioResult[]> {
  const { out } = options;
  out(`starting an embedded PostgreSQL${options.major ? ` ${options.major}` : ''} (data in a temporary folder)…`);
  const server = await startEmbedded(options.major ? { major: options.major } : {});
  options.onServer?.(server.stop);
  let client: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    client = await connect({ url: server.url, source: '--database-url' }, 'zdm demo');
    out(`PostgreSQL ${server.major} is up; creating the shop (examples/shop/before.sql) with sample rows…`);
    for (const f of ['before.sql', 'seed.sql']) {
      const r = await runSqlScript(client, await readFile(path.join(EXAMPLES_DIR, f), 'utf8'));
      if (r.errors.length) throw new Error(`examples/shop/${f}: ${r.errors[0]!.message}`);
    }
    const dir = path.join(EXAMPLES_DIR, 'scenarios');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
    const results: DemoScenarioResult[] = [];
    for (const f of files) {
      const file = path.join(dir, f);
      const title = (await readFile(file, 'utf8')).split('\n')[0]!.replace(/^#\s*/, '');
      out('');
      out(`━━ ${title}`);
      out(`   desired state: examples/shop/scenarios/${f}`);
      const t0 = performance.now();
      const made = await makePlan(client, { desiredPath: file, name: f.replace(/^\d+-|\.yaml$/g, '') });
      options.showPlan(made);
      const usersColumns = async () =>
        (
          await client!.query<{ c: string }>(
            `SELECT attname AS c FROM pg_catalog.pg_attribute WHERE attrelid = 'public.users'::pg_catalog.regclass AND attnum > 0 AND NOT attisdropped`,
          )
        ).rows.map((r) => r.c);
      const oldName = (await usersColumns()).includes('name');
      const workload = startWorkload(server.url, oldName ? 'name' : 'display_name');
      let deployedAt: number | undefined;
      let stats: { statements: number; errors: number; maxMs: number };
      try {
        for (const phase of PHASES) {
          // Once expand has added the renamed column, the new application version is deployed (it
          // knows display_name); contract's gate then wants the old one quiet for a while (1 h by
          // default, DEMO_OLD_WRITES_QUIET_MS here), which the demo waits out.
          if (
            phase !== 'expand' &&
            oldName &&
            deployedAt === undefined &&
            (await usersColumns()).includes('display_name')
          ) {
            await workload.deploy('display_name');
            deployedAt = performance.now();
          }
          if (phase === 'contract' && deployedAt !== undefined) {
            // The gate counts a write as made at the end of its second (it keeps epoch seconds): one
            // more second, and a margin.
            const wait = DEMO_OLD_WRITES_QUIET_MS + 1500 - (performance.now() - deployedAt);
            if (wait > 0) {
              out(
                `\n   (the old version is gone; contract refuses until it has been quiet for --old-writes-quiet, ` +
                  `${DEMO_OLD_WRITES_QUIET_MS / 1000} s in this demo: waiting ${Math.ceil(wait)} ms)`,
              );
              await sleep(wait);
            }
          }
          out(`\n$ zdm apply ${made.plan.id}.plan.yaml --phase ${phase}`);
          await applyPhase(client, made.plan, {
            phase,
            lockTimeoutMs: 2000,
            pauseMs: 0,
            oldWritesQuietMs: DEMO_OLD_WRITES_QUIET_MS,
            onEvent: options.onEvent,
          });
        }
      } finally {
        stats = await workload.stop();
      }
      const again = await makePlan(client, { desiredPath: file });
      out(
        `\n   done: the live schema equals the desired state; a second plan is ${again.empty ? 'empty' : 'NOT empty'}. ` +
          `Meanwhile the application ran ${stats.statements} statements, ${stats.errors} failed, slowest ${stats.maxMs.toFixed(0)} ms.`,
      );
      results.push({
        name: f.replace(/\.yaml$/, ''),
        steps: Object.fromEntries(made.plan.phases.map((p) => [p.name, p.steps.length])),
        hazards: [...new Set(made.plan.phases.flatMap((p) => p.steps.flatMap((s) => s.hazards)))],
        durationMs: performance.now() - t0,
        workloadStatements: stats.statements,
        workloadErrors: stats.errors,
        workloadMaxMs: stats.maxMs,
        secondPlanEmpty: again.empty,
      });
    }
    return results;
  } finally {
    await client?.end().catch(() => {});
    await server.stop();
  }
}
