/**
 * A child process that runs one `applyPhase`, for tests that kill an apply with a real SIGKILL.
 *
 *   node --import ./test/support/ts-loader.mjs test/support/apply-child.ts
 *
 * Input: env `ZDM_APPLY_CHILD`, JSON of `ChildInput`. Output: one JSON object per line on stdout:
 * `{"pid": backend pid}` first, then `{"event": ApplyEvent}`, `{"hook": "afterStep", "stepId"}`,
 * `{"hook": "afterBatch", "stepId", "batchesDone", "rowsDone"}`, and finally `{"result": …}` or
 * `{"error": {"code", "message"}}`. With `holdAfterStep` the child stops after that step is journaled
 * done and waits to be killed.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { ApplyOptions } from '../../src/apply/index.js';
import { applyPhase } from '../../src/apply/index.js';
import type { Plan } from '../../src/plan/types.js';

export interface ChildInput {
  readonly url: string;
  readonly planFile: string;
  readonly options: Omit<ApplyOptions, 'onEvent' | 'testHooks'>;
  readonly holdAfterStep?: string;
}

const write = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

async function main(): Promise<void> {
  const input = JSON.parse(process.env.ZDM_APPLY_CHILD ?? '') as ChildInput;
  const plan = JSON.parse(await readFile(input.planFile, 'utf8')) as Plan;
  const client = new pg.Client({ connectionString: input.url, application_name: 'zdm apply child' });
  client.on('error', () => {});
  await client.connect();
  const pid = await client.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid');
  write({ pid: pid.rows[0]!.pid });
  try {
    const result = await applyPhase(client, plan, {
      ...input.options,
      onEvent: (event) => write({ event }),
      testHooks: {
        afterStep: async (stepId) => {
          write({ hook: 'afterStep', stepId });
          if (stepId === input.holdAfterStep) await new Promise(() => setInterval(() => {}, 60_000));
        },
        afterBatch: (stepId, batchesDone, rowsDone) => write({ hook: 'afterBatch', stepId, batchesDone, rowsDone }),
      },
    });
    write({ result });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    write({ error: { code: e.code, message: String(e.message) } });
  } finally {
    await client.end().catch(() => {});
  }
}

await main();
