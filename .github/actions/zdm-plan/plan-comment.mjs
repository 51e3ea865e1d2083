#!/usr/bin/env node
/**
 * The script of the zdm-plan GitHub Action (action.yml next to it); also usable as is from any CI
 * (GitLab: see the README) with the same environment variables.
 *
 * 1. Finds zdm: the project's own (node_modules/.bin/zdm, a dev dependency), else — when the action
 *    runs from a checkout of zdm itself — that checkout's build (built first when dist/ is missing).
 * 2. `zdm plan --schema S --check`: 0 the database matches, 2 it differs, anything else an error.
 * 3. When it differs: `zdm plan --format markdown` (the plan file written under RUNNER_TEMP).
 * 4. Writes the comment body to a file, the outputs to GITHUB_OUTPUT, the body to the job summary.
 * 5. On a pull request with a token: updates the comment that carries the marker, else creates one.
 *
 * Environment: ZDM_ACTION_SCHEMA, ZDM_ACTION_DATABASE_URL (required); ZDM_ACTION_COMMENT ('true'),
 * ZDM_ACTION_FAIL_ON_CHANGE ('false'), ZDM_ACTION_TOKEN; and what a runner sets: GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL, RUNNER_TEMP.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MARKER = '<!-- zdm-plan -->';
const env = process.env;

function fail(message) {
  process.stderr.write(`::error::${message}\n`);
  process.exit(1);
}

/** The zdm to run: [command, ...leading args]. */
function findZdm() {
  const local = path.resolve('node_modules/.bin/zdm');
  if (existsSync(local)) return [local];
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const pkg = path.join(root, 'package.json');
  if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'zdm') {
    if (!existsSync(path.join(root, 'dist/cli/commands/plan.js'))) {
      for (const args of [
        ['ci', '--no-audit', '--no-fund'],
        ['run', 'build'],
      ]) {
        const r = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
        if (r.status !== 0) fail(`npm ${args.join(' ')} failed in ${root}`);
      }
    }
    return [process.execPath, path.join(root, 'bin/run.js')];
  }
  return fail('zdm not found: add it as a dev dependency (npm i -D zdm) and install before this step');
}

function zdm(cmd, args) {
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], {
    encoding: 'utf8',
    env: { ...env, DATABASE_URL: env.ZDM_ACTION_DATABASE_URL, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? 4, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function output(name, value) {
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`);
}

async function github(method, url, token, body) {
  const res = await fetch(url, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'x-github-api-version': '2022-11-28',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) fail(`GitHub API ${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Updates the pull request's zdm comment (found by its marker), or creates it. Returns its URL. */
async function postComment(body) {
  const event =
    env.GITHUB_EVENT_PATH && existsSync(env.GITHUB_EVENT_PATH)
      ? JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'))
      : {};
  const number = event.pull_request?.number;
  const token = env.ZDM_ACTION_TOKEN;
  if (!number || !token || !env.GITHUB_REPOSITORY) {
    process.stdout.write('not a pull request (or no token): no comment posted\n');
    return undefined;
  }
  const api = `${env.GITHUB_API_URL ?? 'https://api.github.com'}/repos/${env.GITHUB_REPOSITORY}/issues`;
  for (let page = 1; ; page++) {
    const comments = await github('GET', `${api}/${number}/comments?per_page=100&page=${page}`, token);
    const mine = comments.find((c) => typeof c.body === 'string' && c.body.includes(MARKER));
    if (mine) return (await github('PATCH', `${api}/comments/${mine.id}`, token, { body })).html_url;
    if (comments.length < 100) break;
  }
  return (await github('POST', `${api}/${number}/comments`, token, { body })).html_url;
}

async function main() {
  const schema = env.ZDM_ACTION_SCHEMA;
  if (!schema) fail('the input schema is required');
  if (!env.ZDM_ACTION_DATABASE_URL) fail('the input database-url is required');
  const cmd = findZdm();
  const check = zdm(cmd, ['plan', '--schema', schema, '--check']);
  if (check.code !== 0 && check.code !== 2) {
    process.stderr.write(check.stderr);
    fail(`zdm plan --check failed (exit ${check.code}): ${check.stderr.trim().split('\n')[0]}`);
  }
  const changed = check.code === 2;
  let body = `${MARKER}\n### zdm plan\n\n`;
  if (changed) {
    const out = path.join(env.RUNNER_TEMP ?? tmpdir(), 'zdm.plan.yaml');
    const md = zdm(cmd, ['plan', '--schema', schema, '--format', 'markdown', '--out', out]);
    if (md.code !== 0) {
      process.stderr.write(md.stderr);
      fail(`zdm plan --format markdown failed (exit ${md.code})`);
    }
    body += md.stdout;
  } else {
    body += `The database already matches \`${schema}\`: nothing to migrate.\n`;
  }
  const bodyFile = path.join(env.RUNNER_TEMP ?? tmpdir(), 'zdm-plan-comment.md');
  writeFileSync(bodyFile, body);
  output('changed', String(changed));
  output('body-file', bodyFile);
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, body);
  if ((env.ZDM_ACTION_COMMENT ?? 'true') === 'true') {
    const url = await postComment(body);
    if (url) {
      output('comment-url', url);
      process.stdout.write(`plan comment: ${url}\n`);
    }
  }
  process.stdout.write(changed ? 'the database differs from the desired state: plan posted\n' : 'no change\n');
  if (changed && env.ZDM_ACTION_FAIL_ON_CHANGE === 'true') process.exit(2);
}

await main();
