/**
 * How the built CLI fails: a mistyped path, a place it cannot write, an unsupported server and a
 * bug, each with its exit code and one line on stderr naming what is wrong; the stack trace only
 * with DEBUG=zdm or --verbose.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, runCli } from '../support/cli.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

/** A line of a stack trace, as V8 prints it. */
const STACK_LINE = /^\s+at /m;

/** The environment that loads test/support/cli-fault.mjs into the binary with `fault`. */
const withFault = (fault: string): NodeJS.ProcessEnv => ({
  NODE_OPTIONS: `--import=${pathToFileURL(path.join(projectRoot, 'test/support/cli-fault.mjs')).href}`,
  ZDM_TEST_FAULT: fault,
});

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('zdm errors (the built CLI)', () => {
  let db: TestDatabase;
  let dir: string;
  let missing: string;
  let missingPlan: string;
  let aFile: string;
  beforeAll(async () => {
    db = await freshDatabase('cli_errors');
    await db.exec('CREATE TABLE t (id bigint PRIMARY KEY)');
    dir = await mkdtemp(path.join(tmpdir(), 'zdm-cli-errors-'));
    missing = path.join(dir, 'no-such-dir', 'schema.yaml');
    missingPlan = path.join(dir, 'no-such.plan.yaml');
    aFile = path.join(dir, 'a-file');
    await writeFile(aFile, 'not a directory\n');
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // Each: a name, the arguments, and the one line expected on stderr (it names the path).
  const cases = (): { name: string; args: string[]; line: string }[] => [
    {
      name: 'validate PATH',
      args: ['validate', missing],
      line: `error: cannot read desired state ${missing}: no such file or directory`,
    },
    {
      name: 'plan --schema PATH',
      args: ['plan', '--schema', missing, '-d', db.url],
      line: `error: cannot read desired state ${missing}: no such file or directory`,
    },
    {
      // The desired state is read before zdm connects: port 1 refuses every connection.
      name: 'plan --schema PATH, database unreachable',
      args: ['plan', '--schema', missing, '-d', 'postgresql://nobody@127.0.0.1:1/none'],
      line: `error: cannot read desired state ${missing}: no such file or directory`,
    },
    {
      name: 'apply PLAN',
      args: ['apply', missingPlan, '--phase', 'expand', '-d', db.url],
      line: `error: cannot read plan ${missingPlan}: no such file or directory`,
    },
    {
      name: 'rollback PLAN',
      args: ['rollback', missingPlan, '-d', db.url],
      line: `error: cannot read plan ${missingPlan}: no such file or directory`,
    },
    {
      name: 'pull --out FILE under a file',
      args: ['pull', '-d', db.url, '--out', path.join(aFile, 'sub', 'schema.yaml')],
      line: `error: cannot write desired state ${path.join(aFile, 'sub', 'schema.yaml')}: not a directory`,
    },
    {
      name: 'pull --out DIR/ under a file',
      args: ['pull', '-d', db.url, '--out', `${path.join(aFile, 'sub')}/`],
      line: `error: cannot create directory ${path.join(aFile, 'sub')}/: not a directory`,
    },
  ];

  it.each([
    'validate PATH',
    'plan --schema PATH, database unreachable',
    'plan --schema PATH',
    'apply PLAN',
    'rollback PLAN',
    'pull --out FILE under a file',
    'pull --out DIR/ under a file',
  ])('%s on a path that does not exist or cannot be written: exit 1, one line, no stack', async (name) => {
    const c = cases().find((x) => x.name === name)!;
    const r = await runCli(c.args);
    expect(r.stderr).toBe(`${c.line}\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('the same with DEBUG=zdm prints the stack of the error and of its cause', async () => {
    for (const c of cases()) {
      const r = await runCli(c.args, { env: { DEBUG: 'zdm' } });
      expect(r.code).toBe(1);
      const [first, second] = lines(r.stderr);
      expect(first).toBe(c.line);
      expect(second).toBe(`FileError: ${c.line.slice('error: '.length)}`);
      expect(r.stderr).toMatch(STACK_LINE);
      expect(r.stderr).toMatch(/^caused by: Error: E[A-Z]+: /m);
    }
  });

  it('--verbose prints the stack as DEBUG=zdm does, on apply too (where it also prints statements)', async () => {
    const [validate, , apply] = cases();
    for (const c of [validate!, apply!]) {
      const r = await runCli([...c.args, '--verbose']);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)[0]).toBe(c.line);
      expect(r.stderr).toMatch(STACK_LINE);
    }
  });

  it('a directory without YAML files: exit 1, one line naming it', async () => {
    const empty = await mkdtemp(path.join(dir, 'empty-'));
    const r = await runCli(['validate', empty]);
    expect(r.stderr).toBe(`error: desired state ${empty}: the directory has no .yaml or .yml files\n`);
    expect(r.code).toBe(1);
  });

  it('an unsupported server version: exit 3, one line naming the version, through the real introspection', async () => {
    const fault = withFault('server-version:130016');
    const line = 'error: PostgreSQL 13.16 is not supported: zdm needs PostgreSQL 14 or later\n';
    const pull = await runCli(['pull', '-d', db.url], { env: fault });
    expect(pull.stderr).toBe(line);
    expect(pull.code).toBe(3);
    const schema = path.join(dir, 'schema.yaml');
    await writeFile(schema, 'version: 1\nschemas:\n  public:\n    tables: {}\n');
    const plan = await runCli(['plan', '--schema', schema, '-d', db.url, '--check'], { env: fault });
    expect(plan.stderr).toBe(line);
    expect(plan.code).toBe(3);
  });

  it('the fault hook changes nothing else: the real version passes', async () => {
    const r = await runCli(['pull', '-d', db.url], { env: withFault(`server-version:${db.major}0000`) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('t:');
  });

  it('an unexpected error is a bug: exit 4, the internal-error line and how to get the stack', async () => {
    const r = await runCli(['status', '-d', db.url], { env: withFault('query-throws') });
    expect(r.code).toBe(4);
    expect(lines(r.stderr)).toEqual([
      'internal error (please report it): simulated bug',
      'run it again with DEBUG=zdm (or --verbose) to print the stack trace for the report',
    ]);
    const debug = await runCli(['status', '-d', db.url, '--json'], {
      env: { ...withFault('query-throws'), DEBUG: 'zdm' },
    });
    expect(debug.code).toBe(4);
    expect(lines(debug.stderr)[0]).toBe('internal error (please report it): simulated bug');
    expect(debug.stderr).toMatch(/^TypeError: simulated bug\n\s+at /m);
  });

  it('a bad flag is invalid input (exit 1), not oclif\'s exit 2 ("drift" in zdm\'s table)', async () => {
    const r = await runCli(['validate', 'x.yaml', '--frobnicate']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)[0]).toMatch(/^error: .*--frobnicate/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('--rehearse-rows with --no-rehearse or --check is refused (exit 1) before any database is read', async () => {
    for (const other of ['--no-rehearse', '--check']) {
      const r = await runCli([
        'plan',
        '--schema',
        'x.yaml',
        '-d',
        'postgresql://nowhere.invalid/x',
        '--rehearse-rows',
        '10',
        other,
      ]);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([
        `error: --rehearse-rows 10: rows are copied for the rehearsal, and ${other} does not rehearse: drop one of the two`,
      ]);
    }
  });
});
