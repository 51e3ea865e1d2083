/**
 * `zdm apply` on SIGTERM (and Ctrl-C, the same handler) through the built CLI: the backfill batch
 * under way commits and is journaled, apply stops with exit 130 saying how to resume, and the next
 * run resumes after the last batch and fills every row exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const ROWS = 20_000;
const DESIRED = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: text, renamedFrom: name }
        primaryKey: { columns: [id] }
`;

describe('zdm apply stops on SIGTERM after the batch under way, and resumes (the built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  let planFile: string;
  beforeAll(async () => {
    db = await freshDatabase('cli interrupt');
    await db.exec(`CREATE TABLE public.users (id bigint PRIMARY KEY, name text);
                   INSERT INTO public.users SELECT g, 'n' || g FROM generate_series(1, ${ROWS}) g`);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-cli-interrupt-'));
    await writeFile(path.join(dir, 'rename.yaml'), DESIRED);
    planFile = path.join(dir, 'rename.plan.yaml');
    const plan = await runCli(['plan', '--schema', path.join(dir, 'rename.yaml'), '-d', db.url, '--out', planFile]);
    expect(plan.code, plan.stderr).toBe(0);
    const expand = await runCli(['apply', planFile, '--phase', 'expand', '-d', db.url]);
    expect(expand.code, expand.stderr).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cursor = async () =>
    (
      await db.query<{ rows_done: string; batches_done: string; done: boolean }>(
        'SELECT rows_done, batches_done, done FROM zdm.backfill_cursors',
      )
    ).map((r) => ({ rows: Number(r.rows_done), batches: Number(r.batches_done), done: r.done }))[0];

  it('exit 130 after a committed batch, the cursor journaled; the next run resumes and fills every row once', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(projectRoot, 'bin/run.js'),
        'apply',
        planFile,
        '--phase',
        'backfill',
        '-d',
        db.url,
        '--batch-size',
        '500',
        '--pause',
        '100ms',
      ],
      { cwd: projectRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Wait for a few committed batches, then ask it to stop.
    const deadline = performance.now() + 60_000;
    for (;;) {
      const c = await cursor().catch(() => undefined);
      if (c !== undefined && c.batches >= 2) break;
      if (performance.now() > deadline) throw new Error(`no batch committed in 60 s\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const code = await exited;
    expect(code, `${stdout}\n${stderr}`).toBe(130);
    expect(stderr).toMatch(/SIGTERM: stopping after the current batch or step/);
    expect(stderr).toMatch(
      /stopped on request after batch \d+ of public\.users .*run `zdm apply .* --phase backfill` again to resume/,
    );

    // Every committed batch is journaled, and exactly those rows are filled.
    const stopped = await cursor();
    expect(stopped!.done).toBe(false);
    expect(stopped!.rows).toBeGreaterThan(0);
    expect(stopped!.rows).toBeLessThan(ROWS);
    const filled = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM public.users WHERE display_name IS NOT NULL',
    );
    expect(Number(filled[0]!.n)).toBe(stopped!.rows);

    const again = await runCli(['apply', planFile, '--phase', 'backfill', '-d', db.url, '--pause', '0']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/resum/i);
    const done = await cursor();
    expect(done).toMatchObject({ rows: ROWS, done: true });
    const check = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM public.users WHERE display_name IS DISTINCT FROM name',
    );
    expect(Number(check[0]!.n)).toBe(0);
  });
});
