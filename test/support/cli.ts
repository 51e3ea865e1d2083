/** Runs the built CLI (`bin/run.js`, from `npm run build`) as a user would, and captures its output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminUrl } from './db.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // Views are normalized on a scratch database of the test server, not on an embedded one per run.
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ZDM_SCRATCH_URL: adminUrl(), ...options.env };
    // The tests' own connection settings must not leak into the CLI unless a test passes them.
    if (!options.env || !('DATABASE_URL' in options.env)) delete env.DATABASE_URL;
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/run.js'), ...args], {
      cwd: options.cwd ?? projectRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
