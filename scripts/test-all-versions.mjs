#!/usr/bin/env node
// Runs the integration tests once per supported PostgreSQL major version (embedded servers), in order,
// and prints one line per version. Exit code 1 when any version failed.
import { spawnSync } from 'node:child_process';

const versions = (process.env.ZDM_TEST_PG_VERSIONS ?? '14,15,16,17,18').split(',');
const results = [];
for (const v of versions) {
  console.log(`\n== PostgreSQL ${v}`);
  const r = spawnSync('npx', ['vitest', 'run', 'test/integration', 'test/acceptance'], {
    stdio: 'inherit',
    env: { ...process.env, ZDM_TEST_PG_VERSION: v },
  });
  results.push([v, r.status === 0]);
}
console.log('');
for (const [v, ok] of results) console.log(`PostgreSQL ${v}: ${ok ? 'passed' : 'FAILED'}`);
process.exit(results.every(([, ok]) => ok) ? 0 : 1);
