/**
 * The lock-queue guard through the built CLI: `zdm apply --help` and `zdm rollback --help` teach
 * its flags; `zdm apply` beside a long transaction shows who blocks, fails after --lock-wait naming
 * it (exit 3), and with --cancel-blockers-after cancels it, lists it and applies the step.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const DESIRED = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      orders:
        columns:
          id: { type: bigint, nullable: false }
          amount: { type: "numeric(10,2)", nullable: false }
        primaryKey: { columns: [id] }
        checks:
          chk_orders_amount_positive: { expression: amount > 0 }
`;

describe('zdm apply / rollback: lock flags (the built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  let planFile: string;
  beforeAll(async () => {
    db = await freshDatabase('cli lock guard');
    await db.exec(`CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(10,2) NOT NULL);
                   INSERT INTO public.orders SELECT g, 1 + g % 50 FROM generate_series(1, 1000) g`);
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-cli-guard-'));
    await writeFile(path.join(dir, 'check.yaml'), DESIRED);
    planFile = path.join(dir, 'check.plan.yaml');
    const r = await runCli(['plan', '--schema', path.join(dir, 'check.yaml'), '-d', db.url, '--out', planFile]);
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--help of apply and rollback teaches the guard, the timeouts and the blocker options', async () => {
    for (const command of ['apply', 'rollback']) {
      const r = await runCli([command, '--help']);
      expect(r.code).toBe(0);
      const text = r.stdout.replace(/\s+/g, ' ');
      expect(text).toContain('LOCKS FLAGS');
      expect(text).toContain('--lock-timeout=<value> [default: 200ms] lock_timeout of each try');
      expect(text).toContain('--lock-wait=<value> [default: 10min] How long a step may wait for its locks in all');
      expect(text).toContain('--cancel-blockers-after=<value> Cancel sessions that have blocked a step');
      expect(text).toContain('--terminate-blockers With --cancel-blockers-after: terminate');
      expect(text).toContain('pg_terminate_backend: the session is closed');
      expect(text).toContain('without queueing');
      expect(text).toMatch(/\$ zdm \w+ PLAN .*--cancel-blockers-after \d/);
    }
  });

  it('--terminate-blockers alone is refused as bad input', async () => {
    const r = await runCli(['apply', planFile, '--phase', 'expand', '-d', db.url, '--terminate-blockers']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--cancel-blockers-after/);
  });

  it('names the blocker while it waits, fails after --lock-wait (exit 3), and cancels it with --cancel-blockers-after', async () => {
    const report: pg.Client = await db.connect();
    try {
      await report.query(`SET application_name = 'monthly report'`);
      const pid = (await report.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await report.query('BEGIN');
      await report.query('SELECT count(*) FROM public.orders');
      const sleeping = report.query('SELECT pg_sleep(30)').then(
        () => 'finished',
        (e: Error) => e.message,
      );
      const failed = await runCli(['apply', planFile, '--phase', 'expand', '-d', db.url, '--lock-wait', '1s']);
      expect(failed.code).toBe(3);
      expect(failed.stdout).toMatch(
        new RegExp(
          `expand\\.1: waiting for ACCESS EXCLUSIVE on public\\.orders without queueing .*pid ${pid} \\[monthly report\\] active`,
        ),
      );
      expect(failed.stderr).toMatch(/error: step expand\.1 .*waited 1\.\d s \(--lock-wait 1\.0 s\)/);
      expect(failed.stderr).toContain(`pid ${pid} [monthly report] active`);

      const done = await runCli([
        'apply',
        planFile,
        '--phase',
        'expand',
        '-d',
        db.url,
        '--cancel-blockers-after',
        '500ms',
      ]);
      expect(done.stderr).toBe('');
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(new RegExp(`expand\\.1: cancelled pid ${pid} \\[monthly report\\] active`));
      expect(await sleeping).toMatch(/canceling statement due to user request/);
      await report.query('ROLLBACK');
    } finally {
      await report.end();
    }
  }, 60_000);
});
