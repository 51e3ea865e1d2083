#!/usr/bin/env node
// npm run bench [-- FLAGS]: every benchmark in turn, each at its default sizes, each in its own
// process (and with its own PostgreSQL), stopping at the first that fails. FLAGS go to every one
// that accepts them: --database-url URL, --pg N. Last, the partition swap of 1,000,000 rows
// (`npm run bench:swap`, a vitest file on the test harness: ZDM_TEST_PG_VERSION /
// ZDM_TEST_DATABASE_URL choose its server).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchDir } from './lib/common.mjs';

const BENCHMARKS = ['startup', 'introspect', 'backfill', 'traffic'];
const passOn = process.argv.slice(2);
for (const name of BENCHMARKS) {
  console.log(`\n=== bench/${name}.mjs ${passOn.join(' ')}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(benchDir, `${name}.mjs`), ...passOn], { stdio: 'inherit' });
  console.log(`=== ${name}: exit ${r.status}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log('\n=== bench/swap-1m.bench-test.ts');
const t0 = performance.now();
const vitest = path.join(benchDir, '..', 'node_modules', 'vitest', 'vitest.mjs');
const swap = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.bench.config.ts'], {
  stdio: 'inherit',
  cwd: path.join(benchDir, '..'),
});
console.log(`=== swap: exit ${swap.status}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
if (swap.status !== 0) process.exit(swap.status ?? 1);
