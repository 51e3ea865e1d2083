/**
 * bin/run.js answers `zdm --version`, `zdm --help` and a bare `zdm` from dist/cli/startup.json
 * without loading oclif (scripts/oclif-manifest.mjs renders it at build time). Its answer must be
 * byte for byte what oclif prints, at every terminal width and with or without colour.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, runCli } from '../support/cli.js';
import { freshDatabase } from '../support/db.js';

/** oclif itself, with the same package root and arguments: the reference answer. */
function runOclif(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const script = `import { execute } from '@oclif/core';
await execute({ dir: ${JSON.stringify(path.join(projectRoot, 'bin/run.js'))}, args: ${JSON.stringify(args)} });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

describe('zdm start-up fast path (bin/run.js)', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(path.join(tmpdir(), 'zdm-home-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('has the generated files of npm run build', () => {
    expect(existsSync(path.join(projectRoot, 'oclif.manifest.json'))).toBe(true);
    expect(existsSync(path.join(projectRoot, 'dist/cli/startup.json'))).toBe(true);
  });

  const cases: { args: string[]; columns: string; color: string }[] = [
    { args: ['--version'], columns: '', color: '0' },
  ];
  for (const args of [['--help'], []]) {
    for (const columns of ['', '40', '57', '101']) {
      for (const color of ['0', '1']) cases.push({ args, columns, color });
    }
  }

  it.each(cases)('zdm $args with OCLIF_COLUMNS=$columns FORCE_COLOR=$color prints what oclif prints', async (c) => {
    const env = { OCLIF_COLUMNS: c.columns, FORCE_COLOR: c.color, NO_COLOR: '', HOME: home };
    const [fast, reference] = await Promise.all([runCli(c.args, { env }), runOclif(c.args, env)]);
    expect(fast.code).toBe(0);
    expect(reference).not.toBe('');
    expect(fast.stdout).toBe(reference);
  });

  it('leaves the root help to oclif when the user has a theme', async () => {
    const dir = path.join(home, '.config', 'zdm');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'theme.json'), JSON.stringify({ sectionHeader: 'red' }));
    try {
      const env = { FORCE_COLOR: '1', NO_COLOR: '', HOME: home };
      const [fast, reference] = await Promise.all([runCli(['--help'], { env }), runOclif(['--help'], env)]);
      expect(fast.stdout).toBe(reference);
      expect(fast.stdout).toContain('\u001b[31m');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does not load undici for pg's Cloudflare probe in a command that connects", async () => {
    // On Node 20 pg builds a `Response` to ask whether it runs in a Cloudflare Worker, unless
    // `navigator` answers first (bin/run.js): the global Response loads undici, ~60 ms of CPU.
    const preload = path.join(home, 'internal-modules.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => process.stderr.write('internal modules: ' + JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici'))) + ' of ' + process.moduleLoadList.length + '\\n'));\n`,
    );
    const db = await freshDatabase('cli_startup_undici');
    try {
      await db.exec('CREATE TABLE items (id bigint PRIMARY KEY)');
      const out = path.join(home, 'pulled.yaml');
      const r = await runCli(['pull', '--database-url', db.url, '--out', out], {
        env: { NODE_OPTIONS: `--require ${preload}`, HOME: home },
      });
      expect(r.stderr).toContain('wrote');
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/internal modules: \[\] of \d+/);
    } finally {
      await db.drop();
    }
  });

  it('passes anything else to oclif', async () => {
    const r = await runCli(['plan', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--schema');
  });
});
