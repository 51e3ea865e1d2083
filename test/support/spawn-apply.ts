/**
 * Parent side of apply-child.ts: starts the child, parses its JSON lines, lets a test wait for a
 * line and SIGKILL the child at that moment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../../src/plan/types.js';
import type { ChildInput } from './apply-child.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export type ChildLine = Record<string, unknown>;

export interface ApplyChild {
  readonly process: ChildProcess;
  readonly lines: readonly ChildLine[];
  /** Resolves with the first line (seen so far or later) for which `match` is true. */
  waitFor(match: (line: ChildLine) => boolean, timeoutMs?: number): Promise<ChildLine>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** Resolves when the child exits on its own. */
  exited: Promise<number | null>;
  stderr(): string;
}

export async function spawnApply(
  url: string,
  plan: Plan,
  options: ChildInput['options'],
  extra: { readonly holdAfterStep?: string } = {},
): Promise<ApplyChild> {
  const planFile = path.join(tmpdir(), `zdm-plan-${plan.id}-${process.pid}-${Date.now()}.json`);
  await writeFile(planFile, JSON.stringify(plan));
  const input: ChildInput = { url, planFile, options, ...extra };
  const child = spawn(process.execPath, ['--import', './test/support/ts-loader.mjs', 'test/support/apply-child.ts'], {
    cwd: root,
    env: { ...process.env, ZDM_APPLY_CHILD: JSON.stringify(input) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ChildLine[] = [];
  const waiters: { match: (l: ChildLine) => boolean; resolve: (l: ChildLine) => void }[] = [];
  let buffer = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!text.trim()) continue;
      let line: ChildLine;
      try {
        line = JSON.parse(text) as ChildLine;
      } catch {
        line = { text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      void rm(planFile, { force: true });
      resolve(code);
    }),
  );
  return {
    process: child,
    lines,
    exited,
    stderr: () => err,
    waitFor: (match, timeoutMs = 60_000) => {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `child: no matching line within ${timeoutMs} ms; stderr: ${err}; lines: ${JSON.stringify(lines.slice(-5))}`,
              ),
            ),
          timeoutMs,
        );
        const onExit = (): void => {
          clearTimeout(timer);
          reject(
            new Error(`child exited before a matching line; stderr: ${err}; lines: ${JSON.stringify(lines.slice(-5))}`),
          );
        };
        void exited.then(onExit);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
