import { describe, expect, test } from 'vitest';
import type { ApplyEvent } from '../../../src/apply/index.js';
import { fleetPrinter, renderFleetResult } from '../../../src/cli/fleet-progress.js';
import type { FleetEvent, FleetResult } from '../../../src/fleet/run.js';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 100, rows: 30, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

const progress = (rowsDone: number): ApplyEvent =>
  ({
    type: 'backfill-progress',
    stepId: 'backfill.1',
    rowsDone,
    estimatedTotal: 3000,
    rowsPerSecond: 1000,
    etaSeconds: 1,
    message: '',
  }) as unknown as ApplyEvent;

const events: FleetEvent[] = [
  { type: 'probed', target: 'a', readiness: { state: 'ready' } },
  { type: 'probed', target: 'b', readiness: { state: 'drifted', expected: 'x', actual: 'y', differences: [] } },
  {
    type: 'decided',
    decision: {
      first: ['a'],
      rest: [],
      alreadyDone: [],
      skipped: new Map([['b', { reason: 'drifted', detail: 'schema y, the plan expects x' }]]),
      unreadable: new Map(),
    },
  },
  {
    type: 'target-end',
    target: 'b',
    outcome: { status: 'skipped', reason: 'drifted', detail: 'schema y, the plan expects x' },
  },
  { type: 'target-start', target: 'a' },
  {
    type: 'target-event',
    target: 'a',
    event: { type: 'step-start', stepId: 'backfill.1', summary: 's', attempt: 1, message: 'backfill.1: start' },
  },
  { type: 'target-event', target: 'a', event: progress(1200) },
  { type: 'target-event', target: 'a', event: progress(1300) },
  {
    type: 'target-event',
    target: 'a',
    event: { type: 'step-done', stepId: 'backfill.1', attempts: 1, durationMs: 5, message: 'backfill.1: done' },
  },
  { type: 'target-end', target: 'a', outcome: { status: 'applied' } },
];

const result: FleetResult = {
  planId: 'p1',
  phase: 'backfill',
  targets: [
    { name: 'a', outcome: { status: 'applied' } },
    { name: 'b', outcome: { status: 'skipped', reason: 'drifted', detail: 'schema y, the plan expects x' } },
  ],
  exitCode: 2,
};

describe('fleet progress', () => {
  test('piped: plain lines prefixed with the target, progress at most every interval', () => {
    const s = stream(false);
    const print = fleetPrinter(s, { plainIntervalMs: 60_000 });
    for (const e of events) print(e);
    print.finish(result);
    const lines = s.text().split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'fleet: 1 target(s) to run, 0 already done, 1 skipped, 0 unreadable',
      '[b] skipped: drifted: schema y, the plan expects x',
      '[a] started',
      '[a] backfill.1: 1,200 rows of ~3,000',
      '[a] backfill.1: done',
      '[a] applied',
    ]);
    expect(s.text()).not.toContain('\u001b');
    expect(s.text()).toContain(renderFleetResult(result));
  });

  test('on a terminal: a table redrawn in place, then the final table', () => {
    const s = stream(true);
    const print = fleetPrinter(s, { redrawMs: 0 });
    for (const e of events.slice(0, 7)) print(e);
    expect(s.text()).toContain('0/2 done, 1 running, 0 waiting, 0 failed, 1 skipped');
    expect(s.text()).toMatch(/ {2}a\s+running\s+backfill\.1\s+1,200 rows of ~3,000/);
    for (const e of events.slice(7)) print(e);
    print.finish(result);
    expect(s.text()).toContain('\u001b[2K');
    expect(s.text().endsWith(`${renderFleetResult(result)}\n`)).toBe(true);
  });

  test('the final table', () => {
    expect(renderFleetResult(result)).toBe(
      [
        'plan p1, phase backfill:',
        '  a      applied',
        '  b      skipped         drifted: schema y, the plan expects x',
        '1 applied, 0 already applied, 0 failed, 1 skipped (exit 2)',
      ].join('\n'),
    );
  });
});
