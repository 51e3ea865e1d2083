/**
 * A fleet of 20 databases on the one test server (a database per tenant): a rename with a backfill
 * of real rows (users.name → display_name) planned once and applied to all of them phase by phase,
 * through the CLI as a user runs it:
 * - `zdm plan --targets` plans once and finds the database whose schema differs;
 * - one database drifted (an extra column): skipped and reported with what differs;
 * - the canary stops after K targets, --continue runs the rest;
 * - at most --concurrency targets apply at once (seen from pg_stat_activity, not only our events);
 * - the backfill is killed (SIGKILL) mid-run and resumed: each target continues where it stopped;
 * - contract is refused while the drifted target has not finished backfill, naming it;
 * - two workers --shard 1/2 and 2/2 started together cover every target exactly once;
 * - every database converges: its rows backfilled, and a new plan is empty.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planStatus } from '../../src/apply/index.js';
import { serializePlan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { makePlan } from '../../src/workflow/plan.js';
import { projectRoot, runCli } from '../support/cli.js';
import { adminUrl, freshDatabase, type TestDatabase } from '../support/db.js';

const N = 20;
const ROWS = 3000;
const DRIFTED = 'tenant-20';

const DESIRED = `version: 1
schemas:
  public:
    tables:
      users:
        columns:
          id: { type: bigint, nullable: false }
          display_name: { type: varchar(200), nullable: false, renamedFrom: name }
        primaryKey: { columns: [id] }
`;

/** Samples pg_stat_activity: the most databases with a zdm apply session at one moment. */
function concurrencySampler(): { stop(): Promise<number> } {
  const c = new pg.Client({ connectionString: adminUrl() });
  let max = 0;
  let running = true;
  const loop = (async () => {
    await c.connect();
    while (running) {
      const r = await c.query<{ n: number }>(
        `SELECT count(DISTINCT datname)::int AS n FROM pg_catalog.pg_stat_activity
          WHERE application_name LIKE 'zdm apply %' AND datname LIKE 'zdm_t_fleet%'`,
      );
      max = Math.max(max, r.rows[0]!.n);
      await new Promise((res) => setTimeout(res, 15));
    }
    await c.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return max;
    },
  };
}

describe('zdm apply --targets: a fleet of 20 databases', () => {
  const dbs: TestDatabase[] = [];
  let dir: string;
  let targetsFile: string;
  let planFile: string;
  let plan: Plan;
  /** What the CLI gets: PGPASSWORD and the variables of the `env:` targets. */
  const env: NodeJS.ProcessEnv = {};
  const names = Array.from({ length: N }, (_, i) => `tenant-${String(i + 1).padStart(2, '0')}`);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-fleet-'));
    for (const name of names) {
      const db = await freshDatabase(`fleet ${name}`);
      await db.exec(`
        CREATE TABLE public.users (id bigint PRIMARY KEY, name varchar(200) NOT NULL);
        INSERT INTO public.users SELECT g, '${name} user ' || g FROM generate_series(1, ${ROWS}) g;
        ANALYZE public.users;`);
      if (name === DRIFTED) await db.exec('ALTER TABLE public.users ADD COLUMN nickname text');
      dbs.push(db);
    }
    // The first two are canaries; every healthy one is in group `healthy`.
    const lines = ['version: 1', 'targets:'];
    // Half by URL (its password stripped: PGPASSWORD gives it), half by an environment variable
    // holding the whole URL: a password never goes into the file.
    dbs.forEach((db, i) => {
      const groups = [...(i < 2 ? ['canary'] : []), ...(names[i] !== DRIFTED ? ['healthy'] : [])];
      const u = new URL(db.url);
      env.PGPASSWORD = decodeURIComponent(u.password);
      u.password = '';
      const variable = `ZDM_FLEET_${names[i]!.replace('-', '_').toUpperCase()}_URL`;
      if (i % 2 === 0) lines.push(`  - name: ${names[i]}`, `    url: ${u.toString()}`);
      else {
        env[variable] = db.url;
        lines.push(`  - name: ${names[i]}`, `    env: ${variable}`);
      }
      lines.push(`    groups: [${groups.join(', ')}]`);
    });
    targetsFile = path.join(dir, 'targets.yaml');
    await writeFile(targetsFile, `${lines.join('\n')}\n`);
    await writeFile(path.join(dir, 'schema.yaml'), DESIRED);
    const made = await makePlan(dbs[0]!.client, {
      desiredPath: path.join(dir, 'schema.yaml'),
      name: 'users-display-name',
      batchSize: 100,
    });
    plan = made.plan;
    expect(plan.phases.map((p) => p.name)).toEqual(['expand', 'backfill', 'contract']);
    planFile = path.join(dir, 'users.plan.yaml');
    await writeFile(planFile, serializePlan(plan));
  }, 120_000);

  afterAll(async () => {
    for (const db of dbs) await db.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const phaseState = async (db: TestDatabase, phase: string): Promise<string> => {
    const s = await planStatus(db.client);
    return s.plans.find((p) => p.id === plan.id)?.phases.find((p) => p.name === phase)?.status ?? 'pending';
  };
  /** Rows the journal counts as backfilled on a target (0 before its backfill starts). */
  const backfilled = async (db: TestDatabase): Promise<number> => {
    const s = await planStatus(db.client);
    const step = s.plans.find((p) => p.id === plan.id)?.phases.find((p) => p.name === 'backfill')?.steps[0];
    return step?.backfill?.rowsDone ?? 0;
  };
  const apply = (...args: string[]) => runCli(['apply', planFile, '--targets', targetsFile, ...args], { env });

  it('zdm plan --targets plans against the reference and lists the targets whose schema differs', async () => {
    const out = path.join(dir, 'cli.plan.yaml');
    const schema = path.join(dir, 'schema.yaml');
    const r = await runCli(['plan', '--schema', schema, '--targets', targetsFile, '--out', out], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fleet: 18 of 19 other target(s) have the schema of the reference tenant-01');
    expect(r.stderr).toMatch(
      new RegExp(`\\n {2}${DRIFTED} differs \\(sha256:[0-9a-f]+\\): table public.users differs\\n`),
    );
    expect(r.stderr).toContain(
      `error: the fleet has drifted: ${DRIFTED} do not have the schema of the reference tenant-01`,
    );
    // The plan is written all the same: it is right for every other target.
    expect(await readFile(out, 'utf8')).toContain('renamed');
    const unknown = await runCli(['plan', '--schema', schema, '--targets', targetsFile, '--reference', 'nope'], {
      env,
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--reference nope: no target of that name');
  }, 120_000);

  it('expand: the canaries first; then the rest, 4 at a time; the drifted database is skipped with what differs', async () => {
    const canary = await apply('--phase', 'expand', '--canary', '2');
    expect(canary.stderr).toBe('');
    expect(canary.code).toBe(2);
    expect(canary.stdout).toMatch(/tenant-01\s+applied/);
    expect(canary.stdout).toMatch(/tenant-02\s+applied/);
    expect(canary.stdout).toMatch(/tenant-03\s+skipped\s+held-back: after the 2 canaries: run again with --continue/);
    expect(await phaseState(dbs[2]!, 'expand')).toBe('pending');

    const sampler = concurrencySampler();
    const rest = await apply('--phase', 'expand', '--canary', '2', '--continue', '--concurrency', '4', '--json');
    const max = await sampler.stop();
    expect(rest.stderr).toBe('');
    expect(rest.code).toBe(2);
    const result = JSON.parse(rest.stdout) as { targets: { name: string; outcome: Record<string, unknown> }[] };
    const by = new Map(result.targets.map((t) => [t.name, t.outcome]));
    expect(by.get('tenant-01')).toEqual({ status: 'already-applied' });
    for (const n of names.slice(2, -1)) expect(by.get(n)).toEqual({ status: 'applied' });
    expect(by.get(DRIFTED)).toMatchObject({ status: 'skipped', reason: 'drifted' });
    expect(by.get(DRIFTED)!.detail).toContain('table public.users differs');
    expect(await phaseState(dbs[N - 1]!, 'expand')).toBe('pending');
    // 17 targets to run at --concurrency 4: never more than 4 databases at once, and more than one.
    expect(max).toBeLessThanOrEqual(4);
    expect(max).toBeGreaterThan(1);
  }, 180_000);

  it('backfill: killed mid-run, then resumed where each target stopped', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(projectRoot, 'bin/run.js'),
        'apply',
        planFile,
        '--phase',
        'backfill',
        '--targets',
        targetsFile,
        '--concurrency',
        '4',
        '--pause',
        '20ms',
      ],
      { cwd: projectRoot, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    // Kill once a few targets have started their backfill.
    await waitFor(
      () => (out.match(/backfill\.1: backfill/g) ?? []).length >= 3,
      child,
      () => out,
    );
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const states = await Promise.all(dbs.slice(0, -1).map((db) => phaseState(db, 'backfill')));
    // Killed mid-run: some targets part-way, some not started.
    expect(states).toContain('in-progress');
    expect(states).toContain('pending');
    const rowsDone = await Promise.all(dbs.slice(0, -1).map(backfilled));
    const before = Math.max(...rowsDone);
    const partway = rowsDone.indexOf(before);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(ROWS);

    const resumed = await apply('--phase', 'backfill', '--concurrency', '4', '--pause', '0');
    expect(resumed.stderr).toBe('');
    // The drifted target never had expand: not ready, skipped (exit 2); every other one done.
    expect(resumed.code).toBe(2);
    expect(resumed.stdout).toMatch(new RegExp(`${DRIFTED}\\s+skipped\\s+not-ready: expand not started`));
    for (const db of dbs.slice(0, -1)) expect(await phaseState(db, 'backfill')).toBe('done');
    // The part-way target resumed after its journaled rows, and its journal counts every row once.
    expect(resumed.stdout).toContain(
      `[${names[partway]}] backfill.1: backfill public.users by primary-key (id), resuming after ${before} rows`,
    );
    expect(await backfilled(dbs[partway]!)).toBe(ROWS);
  }, 180_000);

  it('contract is refused while a target has not finished backfill, naming it; nothing changes', async () => {
    const refused = await apply('--phase', 'contract');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('phase contract refused: 1 of 20 targets have not finished the earlier phases');
    expect(refused.stderr).toContain(`${DRIFTED}: expand not started; backfill not started`);
    expect(await phaseState(dbs[0]!, 'contract')).toBe('pending');
    // A plan edited after planning is refused once, before any target is read.
    const edited = path.join(dir, 'edited.plan.yaml');
    await writeFile(edited, (await readFile(planFile, 'utf8')).replace('summary: add column', 'summary: Add column'));
    const r = await runCli(['apply', edited, '--phase', 'contract', '--targets', targetsFile], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: \S+edited\.plan\.yaml:\d+:\d+: checksum: checksum mismatch/);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('zdm status --targets shows, per target, when the old version last wrote the renamed column', async () => {
    // tenant-01's old application version writes users.name (and writes it back: the fleet's rows stay as loaded).
    await dbs[0]!.exec(`UPDATE public.users SET name = 'old app' WHERE id = 1`);
    await dbs[0]!.exec(`UPDATE public.users SET name = '${names[0]} user 1' WHERE id = 1`);
    const r = await runCli(['status', '--targets', targetsFile], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tenant-01\s+done\s+done\s+pending\s+old version wrote public\.users\.name \d+ s ago$/m);
    expect(r.stdout).toMatch(
      /^tenant-02\s+done\s+done\s+pending\s+old version wrote public\.users\.name never since expand$/m,
    );
    // The drifted target never ran expand: nothing is tracked there.
    expect(r.stdout).toMatch(new RegExp(`^${DRIFTED}\\s+pending\\s+pending\\s+pending$`, 'm'));
    // Contract (next test) waits --old-writes-quiet 1s after that write: a second, and the one the
    // gate rounds up to.
    await new Promise((res) => setTimeout(res, 2200));
  }, 60_000);

  it('two workers --shard 1/2 and 2/2 started together cover every target once; the fleet converges', async () => {
    const [a, b] = await Promise.all([
      apply('--phase', 'contract', '--group', 'healthy', '--shard', '1/2', '--json', '--old-writes-quiet', '1s'),
      apply('--phase', 'contract', '--group', 'healthy', '--shard', '2/2', '--json', '--old-writes-quiet', '1s'),
    ]);
    expect(a.stderr + b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    const covered = [a, b].flatMap(
      (r) => (JSON.parse(r.stdout) as { targets: { name: string; outcome: { status: string } }[] }).targets,
    );
    expect(covered.map((t) => t.name).sort()).toEqual(names.slice(0, -1));
    expect(covered.every((t) => t.outcome.status === 'applied')).toBe(true);

    for (const [i, db] of dbs.slice(0, -1).entries()) {
      const rows = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM public.users WHERE display_name = '${names[i]} user ' || id`,
      );
      expect(rows[0]!.n).toBe(ROWS);
      const again = await makePlan(db.client, { desiredPath: path.join(dir, 'schema.yaml') });
      expect(again.empty).toBe(true);
    }
    // The drifted database was left alone.
    const cols = await dbs[N - 1]!.query<{ attname: string }>(
      `SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = 'public.users'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(cols.map((c) => c.attname)).toEqual(['id', 'name', 'nickname']);
  }, 180_000);

  it('zdm status --targets prints the target × phase matrix', async () => {
    const r = await runCli(['status', '--targets', targetsFile], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^target\s+expand\s+backfill\s+contract/m);
    expect(r.stdout).toMatch(/^tenant-01\s+done\s+done\s+done/m);
    expect(r.stdout).toMatch(new RegExp(`^${DRIFTED}\\s+pending\\s+pending\\s+pending`, 'm'));
    const text = await readFile(targetsFile, 'utf8');
    expect(text).not.toContain(`:${env.PGPASSWORD}@`);
  }, 60_000);
});

async function waitFor(done: () => boolean, child: ChildProcess, out: () => string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!done()) {
    if (child.exitCode !== null) throw new Error(`the fleet apply exited early (${child.exitCode}):\n${out()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out; output:\n${out()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
