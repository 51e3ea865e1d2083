/**
 * The cheaper copy path (issue 17): indexes on a backfilled column built after the backfill, the
 * VACUUM schedule of a backfill, and the --max-wal-rate arithmetic. Measured effect: BENCHMARKS.md,
 * "The copy path".
 */
import { describe, expect, test } from 'vitest';
import { vacuumDue, vacuumInterval } from '../../src/apply/vacuum.js';
import { formatRate, walPacing } from '../../src/apply/wal-rate.js';
import { parseRate, parseShare } from '../../src/cli/flags.js';
import { col, id, index, table, tables } from './plan/builders.js';
import { flat, plan } from './plan/helpers.js';

describe('indexes on a column a backfill fills are built after it', () => {
  test('a new column filled by `using`, with a new index on it: the index is built in backfill, after the batches', () => {
    const live = tables(table('t', [id(), col('a', 'text')]));
    const desired = tables(
      table('t', [id(), col('a', 'text'), col('b', 'text', { nullable: false, using: 'upper(a)' })], {
        indexes: [index('t_b_idx', ['b']), index('t_a_idx', ['a'])],
      }),
    );
    const steps = flat(plan(live, desired));
    const names = steps.map((s) => `${s.phase}:${s.kind}:${s.summary.split(' (')[0]}`);
    // Not on a backfilled column: where it always was.
    expect(names).toContain('expand:sql:create index t_a_idx on public.t');
    // Right after the batches, before the NOT NULL helper check is added and validated.
    const fill = names.indexOf('backfill:backfill:backfill public.t.b = upper(a) where NULL, in batches');
    expect(fill).toBeGreaterThan(0);
    expect(names[fill + 1]).toBe('backfill:sql:create index t_b_idx on public.t');
    const build = steps.find((s) => s.summary.startsWith('create index t_b_idx'))!;
    expect(build.sql).toEqual(['CREATE INDEX CONCURRENTLY t_b_idx ON public.t (b)']);
    expect(build.locks).toEqual([{ relation: 'public.t', mode: 'SHARE UPDATE EXCLUSIVE', hold: 'scan' }]);
  });

  test('an expression index that reads the backfilled column counts; one that only mentions it in a string does not', () => {
    const live = tables(table('t', [id(), col('a', 'text')]));
    const desired = tables(
      table('t', [id(), col('a', 'text'), col('b', 'text', { nullable: false, using: 'upper(a)' })], {
        indexes: [
          index('t_lower_b_idx', [{ expression: 'lower(b)', descending: false }]),
          index('t_a_b_idx', [{ expression: "(a || 'b')", descending: false }]),
        ],
      }),
    );
    const phaseOf = (name: string) => flat(plan(live, desired)).find((s) => s.summary.includes(name))!.phase;
    expect(phaseOf('t_lower_b_idx')).toBe('backfill');
    expect(phaseOf('t_a_b_idx')).toBe('expand');
  });
});

describe('VACUUM during a backfill', () => {
  test.each([
    // share, estimated rows, fallback, interval
    [0.1, 1_000_000, 50, 100_000],
    [0.05, 1_000_000, 50, 50_000],
    [0.1, null, 20_000, 2_000],
    [0.1, 0, 20_000, 2_000],
    [0.1, 3, 50, 1],
    [0, 1_000_000, 50, null],
  ])('every %s of %s rows (never analyzed: %s) → every %s rows', (share, rows, fallback, interval) => {
    expect(vacuumInterval(share, rows, fallback)).toBe(interval);
  });

  test('due once `interval` rows were done since the last one, and after the last batch when it did rows', () => {
    expect(vacuumDue(100, 99, 0, false)).toBe(false);
    expect(vacuumDue(100, 100, 0, false)).toBe(true);
    expect(vacuumDue(100, 250, 200, false)).toBe(false);
    expect(vacuumDue(100, 250, 200, true)).toBe(true);
    // The last batch did nothing since the last vacuum: none more.
    expect(vacuumDue(100, 200, 200, true)).toBe(false);
    expect(vacuumDue(null, 1_000_000, 0, true)).toBe(false);
  });
});

describe('--max-wal-rate', () => {
  const MB = 1024 * 1024;
  test('under the cap: no pause; the rate is bytes over the interval', () => {
    expect(walPacing(10 * MB, 1000, 20 * MB)).toEqual({ bytes: 10 * MB, bytesPerSecond: 10 * MB, pauseMs: 0 });
  });
  test('over the cap: the pause after which the interval averages exactly the cap', () => {
    // 30 MB in 500 ms at 20 MB/s must take 1500 ms: 1000 ms more.
    const p = walPacing(30 * MB, 500, 20 * MB);
    expect(p.pauseMs).toBe(1000);
    expect(p.bytesPerSecond).toBe(60 * MB);
    expect((p.bytes * 1000) / (500 + p.pauseMs)).toBe(20 * MB);
  });
  test('no cap (0): never a pause; nothing written or no time: rate 0 or no pause', () => {
    expect(walPacing(1000 * MB, 1, 0).pauseMs).toBe(0);
    expect(walPacing(0, 0, 20 * MB)).toEqual({ bytes: 0, bytesPerSecond: 0, pauseMs: 0 });
    expect(walPacing(MB, 0, MB).pauseMs).toBe(1000);
    // A reading that went backwards (never: defensive) counts as nothing written.
    expect(walPacing(-5, 100, MB).pauseMs).toBe(0);
  });
  test.each([
    ['20MB/s', 20 * MB],
    ['512kB/s', 512 * 1024],
    ['1.5GB/s', 1.5 * 1024 * MB],
    ['100B/s', 100],
    [' 20 mb/s ', 20 * MB],
    ['0', 0],
  ])('%s → %s bytes/s', (text, bytes) => {
    expect(parseRate(text, '--max-wal-rate')).toBe(bytes);
  });
  test.each(['20MB', '20', 'fast', '-1MB/s', '0MB/s', '20TB/s'])('%s is refused, naming the flag', (text) => {
    expect(() => parseRate(text, '--max-wal-rate')).toThrow(/--max-wal-rate .*expected a rate such as 20MB\/s/);
  });
  test('shown as people read it', () => {
    expect(formatRate(20 * MB)).toBe('20.0 MB/s');
    expect(formatRate(300 * 1024)).toBe('300 kB/s');
    expect(formatRate(2 * 1024 * MB)).toBe('2.0 GB/s');
  });
});

describe('--vacuum-every', () => {
  test.each([
    ['10%', 0.1],
    ['2.5%', 0.025],
    ['0', 0],
    ['100%', 1],
  ])('%s → %s', (text, share) => {
    expect(parseShare(text, '--vacuum-every')).toBe(share);
  });
  test.each(['10', '150%', 'often'])('%s is refused', (text) => {
    expect(() => parseShare(text, '--vacuum-every')).toThrow(/--vacuum-every .*expected a percentage/);
  });
});
