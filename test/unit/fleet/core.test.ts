import { describe, expect, test } from 'vitest';
import {
  compareSchemas,
  decideRun,
  fleetExitCode,
  parseShard,
  type Readiness,
  readiness,
  runPool,
  selectTargets,
  shardOf,
  type TargetProbe,
} from '../../../src/fleet/core.js';
import { FleetError } from '../../../src/fleet/errors.js';
import type { FleetTarget } from '../../../src/fleet/targets.js';
import type { Phase, PhaseName, Plan } from '../../../src/plan/types.js';

const target = (name: string, groups: string[] = []): FleetTarget => ({
  name,
  groups,
  url: `postgresql://h/${name}`,
  from: { url: true },
  at: `t.yaml:1:1`,
});

const phase = (name: PhaseName, before: string, steps = 2): Phase => ({
  name,
  before,
  after: `${before}'`,
  objects: { 'table public.t': 'T1', 'index public.t_x': 'absent' },
  steps: Array.from({ length: steps }, (_, i) => ({
    kind: 'sql' as const,
    id: `${name}-${i}`,
    summary: 's',
    sql: ['SELECT 1'],
    transaction: true,
    locks: [],
    hazards: [],
  })),
});

const plan = {
  version: 1,
  id: 'p1',
  phases: [phase('expand', 'A'), phase('backfill', 'B', 1), phase('contract', 'C', 3)],
} as unknown as Plan;

const probe = (p: Partial<TargetProbe> = {}): TargetProbe => ({ phases: {}, stepsDone: {}, ...p });

describe('selection', () => {
  const all = [target('a', ['canary', 'eu']), target('b', ['eu']), target('c', ['us'])];

  test('--group keeps the file order; an unknown group is refused naming the known ones', () => {
    expect(selectTargets(all, { group: 'eu' }).map((t) => t.name)).toEqual(['a', 'b']);
    expect(() => selectTargets(all, { group: 'asia' })).toThrow(
      '--group asia: no target is in that group (groups in the file: canary, eu, us)',
    );
  });

  test('--shard I/N: N shards cover every target exactly once, stable under reordering', () => {
    const many = Array.from({ length: 200 }, (_, i) => target(`tenant-${i}`));
    for (const count of [1, 2, 3, 7]) {
      const seen = new Map<string, number>();
      for (let index = 1; index <= count; index++) {
        const share = selectTargets(many, { shard: { index, count } });
        if (count > 1) expect(share.length).toBeGreaterThan(200 / count / 2);
        for (const t of share) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      }
      expect(seen.size).toBe(200);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
    }
    const reversed = [...many].reverse();
    expect(
      selectTargets(reversed, { shard: { index: 1, count: 3 } })
        .map((t) => t.name)
        .sort(),
    ).toEqual(
      selectTargets(many, { shard: { index: 1, count: 3 } })
        .map((t) => t.name)
        .sort(),
    );
    expect(shardOf('tenant-1', 5)).toBe(shardOf('tenant-1', 5));
  });

  test.each(['0/2', '3/2', '1/0', 'x', '1-2'])('--shard %s is refused', (s) => {
    expect(() => parseShard(s)).toThrow(FleetError);
  });
  test('--shard 2/4', () => expect(parseShard('2/4')).toEqual({ index: 2, count: 4 }));
});

describe('readiness', () => {
  test('done, resume, ready, not ready', () => {
    expect(readiness(plan, 'expand', probe({ phases: { expand: 'done' } }))).toEqual({ state: 'done' });
    expect(readiness(plan, 'expand', probe({ phases: { expand: 'in-progress' } }))).toEqual({ state: 'resume' });
    expect(readiness(plan, 'expand', probe({ live: { fingerprint: 'A', objects: {} } }))).toEqual({ state: 'ready' });
    expect(
      readiness(plan, 'contract', probe({ phases: { expand: 'done', backfill: 'in-progress' }, stepsDone: {} })),
    ).toEqual({ state: 'not-ready', incomplete: [{ phase: 'backfill', progress: 'in progress, 0 of 1 steps done' }] });
  });

  test('drift names the objects that differ', () => {
    const r = readiness(
      plan,
      'expand',
      probe({ live: { fingerprint: 'X', objects: { 'table public.t': 'T2', 'index public.t_x': 'I' } } }),
    );
    expect(r).toEqual({
      state: 'drifted',
      expected: 'A',
      actual: 'X',
      differences: [
        { object: 'index public.t_x', difference: 'unexpected' },
        { object: 'table public.t', difference: 'changed' },
      ],
    });
  });
});

describe('decideRun', () => {
  const ready: Readiness = { state: 'ready' };
  const drifted: Readiness = { state: 'drifted', expected: 'A', actual: 'X', differences: [] };
  const lagging: Readiness = {
    state: 'not-ready',
    incomplete: [{ phase: 'backfill', progress: 'in progress, 0 of 1 steps done' }],
  };

  test('drifted targets are skipped with what differs; done ones are not run again', () => {
    const d = decideRun(
      [
        { name: 'a', readiness: ready },
        { name: 'b', readiness: drifted },
        { name: 'c', readiness: { state: 'done' } },
        { name: 'd', readiness: { state: 'resume' } },
      ],
      { phase: 'expand' },
    );
    expect(d.first).toEqual(['a', 'd']);
    expect(d.alreadyDone).toEqual(['c']);
    expect(d.skipped.get('b')).toEqual({
      reason: 'drifted',
      detail:
        'schema X, the plan expects A: the objects the phase touches are as planned: the difference is elsewhere in the schema',
    });
  });

  test('--all-or-nothing refuses the run when any target drifted', () => {
    expect(() =>
      decideRun(
        [
          { name: 'a', readiness: ready },
          { name: 'b', readiness: drifted },
        ],
        { phase: 'expand', allOrNothing: true },
      ),
    ).toThrow(/--all-or-nothing: 1 of 2 targets cannot run phase expand:\n {2}b \(drifted\)/);
  });

  test('contract is refused while any target has not finished backfill, naming it', () => {
    const run = () =>
      decideRun(
        [
          { name: 'a', readiness: ready },
          { name: 'b', readiness: lagging },
        ],
        { phase: 'contract' },
      );
    expect(run).toThrow(FleetError);
    expect(run).toThrow(/1 of 2 targets have not finished[\s\S]*\n {2}b: backfill in progress, 0 of 1 steps done/);
    // Before contract, a target not ready is skipped, not a refusal of the run.
    expect(decideRun([{ name: 'b', readiness: lagging }], { phase: 'backfill' }).skipped.get('b')?.reason).toBe(
      'not-ready',
    );
  });

  test('--canary K runs K first and holds the rest back unless --continue', () => {
    const five = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, readiness: ready }));
    const held = decideRun(five, { phase: 'expand', canary: 2 });
    expect(held.first).toEqual(['a', 'b']);
    expect(held.rest).toEqual([]);
    expect([...held.skipped.keys()]).toEqual(['c', 'd', 'e']);
    expect(held.skipped.get('c')?.reason).toBe('held-back');
    const cont = decideRun(five, { phase: 'expand', canary: 2, continueAfterCanary: true });
    expect(cont.first).toEqual(['a', 'b']);
    expect(cont.rest).toEqual(['c', 'd', 'e']);
  });
});

describe('exit code', () => {
  test('0 all done, 2 some skipped, 3 some failed', () => {
    expect(fleetExitCode([{ status: 'applied' }, { status: 'already-applied' }])).toBe(0);
    expect(fleetExitCode([{ status: 'applied' }, { status: 'skipped', reason: 'drifted', detail: '' }])).toBe(2);
    expect(
      fleetExitCode([
        { status: 'skipped', reason: 'drifted', detail: '' },
        { status: 'failed', error: 'x', exitCode: 3 },
      ]),
    ).toBe(3);
  });
});

describe('runPool', () => {
  test('never more than N in flight, all items run in order of start', async () => {
    let inFlight = 0;
    let max = 0;
    const started: number[] = [];
    await runPool(
      Array.from({ length: 20 }, (_, i) => i),
      4,
      async (i) => {
        started.push(i);
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        inFlight--;
      },
    );
    expect(max).toBe(4);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  test('stop() ends the starting of new items', async () => {
    const ran: number[] = [];
    await runPool(
      [1, 2, 3, 4, 5],
      1,
      async (i) => void ran.push(i),
      () => ran.length >= 2,
    );
    expect(ran).toEqual([1, 2]);
  });
});

describe('compareSchemas', () => {
  test('changed, missing on the target, on the target only', () => {
    expect(compareSchemas({ 'table a': '1', 'table b': '2' }, { 'table a': '9', 'view c': '3' })).toEqual([
      { object: 'table a', difference: 'changed' },
      { object: 'table b', difference: 'missing' },
      { object: 'view c', difference: 'unexpected' },
    ]);
    expect(compareSchemas({ 'table a': '1' }, { 'table a': '1' })).toEqual([]);
  });
});
