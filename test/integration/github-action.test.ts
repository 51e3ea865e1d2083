/**
 * The zdm-plan GitHub Action's script (.github/actions/zdm-plan/plan-comment.mjs), run as a runner
 * runs it: the environment a runner gives a composite action's step (GITHUB_OUTPUT, the summary,
 * the pull_request event file, the API URL) and the inputs action.yml maps, against a test
 * database and a local stand-in for the GitHub API. The first run creates the comment, the next one
 * updates the same comment; a database that matches gets a "nothing to migrate" body.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const ACTION_DIR = path.join(projectRoot, '.github/actions/zdm-plan');

interface Comment {
  id: number;
  body: string;
  html_url: string;
}

describe('the zdm-plan GitHub Action', () => {
  let db: TestDatabase;
  let dir: string;
  let server: Server;
  let api: string;
  const comments: Comment[] = [];
  const calls: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase('github action');
    await db.exec('CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric NOT NULL)');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-action-'));
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (d) => {
        data += d;
      });
      req.on('end', () => {
        calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        const m = /^\/repos\/acme\/shop\/issues\/(?:(\d+)\/comments|comments\/(\d+))/.exec(req.url ?? '');
        if (!m) return send(404, { message: 'not found' });
        if (req.method === 'GET') return send(200, comments);
        const { body } = JSON.parse(data) as { body: string };
        if (req.method === 'POST') {
          const c = {
            id: 100 + comments.length,
            body,
            html_url: `https://github.test/acme/shop/pull/7#c${comments.length}`,
          };
          comments.push(c);
          return send(201, c);
        }
        const c = comments.find((x) => x.id === Number(m[2]));
        if (!c) return send(404, { message: 'no comment' });
        c.body = body;
        return send(200, c);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeFile(path.join(dir, 'event.json'), JSON.stringify({ pull_request: { number: 7 } }));
  });

  afterAll(async () => {
    server?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the script as action.yml's step does, in a project directory holding the schema. */
  async function runAction(schema: string) {
    await writeFile(path.join(dir, 'schema.yaml'), schema);
    const out = path.join(dir, 'github-output');
    const summary = path.join(dir, 'summary.md');
    await writeFile(out, '');
    await writeFile(summary, '');
    // Not spawnSync: the stand-in API server answers from this process's event loop.
    const child = spawn(process.execPath, [path.join(ACTION_DIR, 'plan-comment.mjs')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        GITHUB_ACTION_PATH: ACTION_DIR,
        GITHUB_OUTPUT: out,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_EVENT_PATH: path.join(dir, 'event.json'),
        GITHUB_REPOSITORY: 'acme/shop',
        GITHUB_API_URL: api,
        RUNNER_TEMP: dir,
        ZDM_ACTION_SCHEMA: 'schema.yaml',
        ZDM_ACTION_DATABASE_URL: db.url,
        ZDM_ACTION_COMMENT: 'true',
        ZDM_ACTION_FAIL_ON_CHANGE: 'false',
        ZDM_ACTION_TOKEN: 'test-token',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const r = { status, stdout, stderr };
    const outputs = Object.fromEntries(
      (await readFile(out, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { ...r, outputs, summary: await readFile(summary, 'utf8') };
  }

  const WITH_CHECK = `version: 1
schemas:
  public:
    comment: standard public schema
    tables:
      orders:
        columns:
          id: { type: bigint, nullable: false }
          amount: { type: numeric, nullable: false }
        primaryKey: { columns: [id] }
        checks:
          orders_amount_positive: { expression: amount > 0 }
`;

  it('action.yml runs the script with the inputs as the environment the script reads', async () => {
    const action = parse(await readFile(path.join(ACTION_DIR, 'action.yml'), 'utf8')) as {
      runs: { using: string; steps: { run: string; env: Record<string, string> }[] };
    };
    expect(action.runs.using).toBe('composite');
    const step = action.runs.steps[0]!;
    expect(step.run).toBe('node "$GITHUB_ACTION_PATH/plan-comment.mjs"');
    expect(Object.keys(step.env).sort()).toEqual([
      'ZDM_ACTION_COMMENT',
      'ZDM_ACTION_DATABASE_URL',
      'ZDM_ACTION_FAIL_ON_CHANGE',
      'ZDM_ACTION_SCHEMA',
      'ZDM_ACTION_TOKEN',
    ]);
  });

  it('posts the plan as a pull-request comment, then updates that same comment', async () => {
    const first = await runAction(WITH_CHECK);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.outputs.changed).toBe('true');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('<!-- zdm-plan -->');
    expect(comments[0]!.body).toContain('orders_amount_positive');
    expect(first.summary).toBe(comments[0]!.body);
    expect(first.outputs['comment-url']).toBe(comments[0]!.html_url);
    expect(calls.every((c) => c.endsWith('Bearer test-token'))).toBe(true);
    // The project's database is untouched: the action plans, it never applies.
    const checks = await db.query(
      "SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
      ['public.orders'],
    );
    expect(checks).toEqual([]);

    // Another push: the same comment is updated, no second one.
    const matching = WITH_CHECK.replace(/ {8}checks:\n.*\n/, '');
    const second = await runAction(matching);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    expect(second.outputs.changed).toBe('false');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('The database already matches `schema.yaml`: nothing to migrate.');
    expect(calls.filter((c) => c.startsWith('PATCH'))).toHaveLength(1);
  });

  it('a broken desired state fails the step with zdm’s located error', async () => {
    const r = await runAction('version: 1\nschemas:\n  public:\n    tables:\n      t:\n        colums: {}\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('::error::zdm plan --check failed (exit 1)');
    expect(r.stderr).toContain('schema.yaml:6:9');
  });
});
