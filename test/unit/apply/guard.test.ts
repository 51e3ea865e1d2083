import { describe, expect, it } from 'vitest';
import { DEFAULTS, resolveSettings } from '../../../src/apply/context.js';
import { ApplyError } from '../../../src/apply/errors.js';
import {
  BlockerTracker,
  decideBlockerActions,
  duration,
  guarded,
  longHolders,
  queuesApplication,
  TERMINATE_AFTER_CANCEL_MS,
  waitKindOf,
} from '../../../src/apply/guard.js';
import type { Blocker } from '../../../src/apply/locks.js';
import type { ApplyEvent } from '../../../src/apply/types.js';
import { lockOptions } from '../../../src/cli/lock-flags.js';
import { eventPrinter } from '../../../src/cli/progress.js';
import { LOCK_MODES, type LockInfo } from '../../../src/plan/types.js';

const lock = (mode: LockInfo['mode'], relation = 'public.orders'): LockInfo => ({ relation, mode, hold: 'instant' });

describe('which waits queue the application', () => {
  it('SHARE and stronger conflict with a lock every application statement takes; SHARE UPDATE EXCLUSIVE and weaker do not', () => {
    expect(LOCK_MODES.filter(queuesApplication)).toEqual([
      'SHARE',
      'SHARE ROW EXCLUSIVE',
      'EXCLUSIVE',
      'ACCESS EXCLUSIVE',
    ]);
    expect(LOCK_MODES.filter(guarded)).toEqual([
      'SHARE UPDATE EXCLUSIVE',
      'SHARE',
      'SHARE ROW EXCLUSIVE',
      'EXCLUSIVE',
      'ACCESS EXCLUSIVE',
    ]);
  });

  it('gives the long wait only to the concurrent forms and validations that take no lock the application queues behind', () => {
    const sue = [lock('SHARE UPDATE EXCLUSIVE')];
    expect(waitKindOf(['CREATE INDEX CONCURRENTLY i ON public.orders (a)'], sue)).toBe('harmless');
    expect(waitKindOf(['CREATE UNIQUE INDEX CONCURRENTLY i ON public.orders (a)'], sue)).toBe('harmless');
    expect(waitKindOf(['REINDEX INDEX CONCURRENTLY public.i'], sue)).toBe('harmless');
    expect(waitKindOf(['DROP INDEX CONCURRENTLY IF EXISTS public.i'], sue)).toBe('harmless');
    expect(waitKindOf(['ALTER TABLE public.orders VALIDATE CONSTRAINT c'], sue)).toBe('harmless');
    expect(
      waitKindOf(['ALTER TABLE public.orders VALIDATE CONSTRAINT fk'], [...sue, lock('ROW SHARE', 'public.c')]),
    ).toBe('harmless');
    expect(waitKindOf(['ALTER TABLE public.p DETACH PARTITION public.p1 CONCURRENTLY'], sue)).toBe('harmless');
    // The same forms with a lock the application would queue behind, other statements, none at all.
    expect(waitKindOf(['ALTER TABLE public.orders VALIDATE CONSTRAINT c'], [lock('ACCESS EXCLUSIVE')])).toBe(
      'queues-app',
    );
    expect(waitKindOf(['CREATE INDEX i ON public.orders (a)'], [lock('SHARE')])).toBe('queues-app');
    expect(waitKindOf(['ALTER TABLE public.orders ADD CONSTRAINT c CHECK (a > 0) NOT VALID'], [])).toBe('queues-app');
    expect(
      waitKindOf(
        ['ALTER TABLE public.orders VALIDATE CONSTRAINT c', 'ALTER TABLE public.orders ALTER COLUMN a SET NOT NULL'],
        sue,
      ),
    ).toBe('queues-app');
    expect(waitKindOf(['ALTER TABLE public.p DETACH PARTITION public.p1'], sue)).toBe('queues-app');
    expect(waitKindOf([], [])).toBe('queues-app');
  });
});

const holder = (pid: number, extra: Partial<Blocker> = {}): Blocker => ({
  pid,
  mode: 'AccessShareLock',
  relation: 'public.orders',
  state: 'active',
  backendType: 'client backend',
  ...extra,
});

describe('which holders the guard waits for', () => {
  it('a transaction open for at least the per-try timeout; younger ones are left to that timeout', () => {
    const seen = new BlockerTracker();
    const hs = [holder(1, { transactionMs: 5 }), holder(2, { transactionMs: 200 }), holder(3, { transactionMs: 6000 })];
    expect(longHolders(hs, seen, 0, 200).map((h) => h.pid)).toEqual([2, 3]);
  });

  it('one whose transaction start is hidden from this user: once zdm has seen it that long', () => {
    const seen = new BlockerTracker();
    const { state: _hidden, ...hidden } = holder(7);
    seen.observe([hidden], 1000);
    expect(longHolders([hidden], seen, 1100, 200)).toEqual([]);
    seen.observe([hidden], 1250);
    expect(longHolders([hidden], seen, 1250, 200).map((h) => h.pid)).toEqual([7]);
    // Gone in one look: it starts over.
    seen.observe([], 1300);
    seen.observe([hidden], 1400);
    expect(longHolders([hidden], seen, 1400, 200)).toEqual([]);
  });
});

describe('acting on blockers', () => {
  const policy = (cancelBlockersAfterMs?: number, terminateBlockers = false) => ({
    cancelBlockersAfterMs,
    terminateBlockers,
  });

  it('leaves application sessions alone by default, however long they block', () => {
    const t = new BlockerTracker();
    const b = [holder(1), holder(2, { state: 'idle in transaction' })];
    t.observe(b, 0);
    expect(decideBlockerActions(b, t, 3_600_000, policy())).toEqual([]);
  });

  it('cancels a session running a statement once it has blocked the step for the given time', () => {
    const t = new BlockerTracker();
    const b = [holder(1)];
    t.observe(b, 1000);
    expect(decideBlockerActions(b, t, 5999, policy(5000))).toEqual([]);
    expect(decideBlockerActions(b, t, 6000, policy(5000))).toEqual([
      { pid: 1, action: 'cancel', reason: 'running a statement' },
    ]);
    t.cancelledAt.set(1, 6000);
    // Cancelled once; without --terminate-blockers nothing more, with it a terminate after the grace.
    expect(decideBlockerActions(b, t, 6000 + TERMINATE_AFTER_CANCEL_MS, policy(5000))).toEqual([]);
    expect(decideBlockerActions(b, t, 6000 + TERMINATE_AFTER_CANCEL_MS - 1, policy(5000, true))).toEqual([]);
    expect(decideBlockerActions(b, t, 6000 + TERMINATE_AFTER_CANCEL_MS, policy(5000, true))).toMatchObject([
      { pid: 1, action: 'terminate' },
    ]);
    t.terminated.add(1);
    expect(decideBlockerActions(b, t, 60_000, policy(5000, true))).toEqual([]);
  });

  it('terminates an idle transaction (a cancel does not reach it) only with --terminate-blockers, else says so once', () => {
    const t = new BlockerTracker();
    const b = [holder(3, { state: 'idle in transaction' })];
    t.observe(b, 0);
    expect(decideBlockerActions(b, t, 1000, policy(1000))).toMatchObject([{ pid: 3, action: 'warn' }]);
    t.warned.add(3);
    expect(decideBlockerActions(b, t, 2000, policy(1000))).toEqual([]);
    expect(decideBlockerActions(b, t, 1000, policy(1000, true))).toMatchObject([{ pid: 3, action: 'terminate' }]);
  });

  it('never touches other backends; cancels an ordinary autovacuum at once, as PostgreSQL would, never an anti-wraparound one', () => {
    const t = new BlockerTracker();
    const b = [
      holder(4, { backendType: 'walsender' }),
      holder(5, { backendType: 'autovacuum worker', query: 'autovacuum: VACUUM public.orders' }),
      holder(6, { backendType: 'autovacuum worker', query: 'autovacuum: VACUUM public.big (to prevent wraparound)' }),
    ];
    t.observe(b, 0);
    expect(decideBlockerActions(b, t, 0, policy())).toMatchObject([
      { pid: 5, action: 'cancel' },
      { pid: 6, action: 'warn' },
    ]);
  });
});

describe('settings and flags', () => {
  it('defaults: 200 ms per try, 10 min in all, no cap on tries, nothing cancelled', () => {
    const s = resolveSettings({});
    expect(s).toMatchObject({
      lockTimeoutMs: 200,
      lockWaitMs: 600_000,
      maxLockRetries: Number.POSITIVE_INFINITY,
      cancelBlockersAfterMs: undefined,
      terminateBlockers: false,
    });
    expect(DEFAULTS.lockTimeoutMs).toBe(200);
  });

  it('refuses --terminate-blockers without a time, and a negative patience', () => {
    expect(() => resolveSettings({ terminateBlockers: true })).toThrow(ApplyError);
    expect(() => resolveSettings({ lockWaitMs: -1 })).toThrow(ApplyError);
  });

  it('the CLI flags become those options', () => {
    expect(lockOptions({ 'lock-timeout': '200ms', 'lock-wait': '10min' })).toEqual({
      lockTimeoutMs: 200,
      lockWaitMs: 600_000,
      terminateBlockers: false,
    });
    expect(
      lockOptions({
        'lock-timeout': '1s',
        'lock-wait': '30s',
        retries: 3,
        'cancel-blockers-after': '2min',
        'terminate-blockers': true,
      }),
    ).toEqual({
      lockTimeoutMs: 1000,
      lockWaitMs: 30_000,
      maxLockRetries: 3,
      cancelBlockersAfterMs: 120_000,
      terminateBlockers: true,
    });
    expect(() => lockOptions({ 'lock-timeout': '0', 'lock-wait': '1min' })).toThrow(/at least 1ms/);
    expect(() => lockOptions({ 'lock-timeout': '1s', 'lock-wait': 'soon' })).toThrow(/--lock-wait "soon"/);
  });

  it('durations read as a person writes them', () => {
    expect([duration(850), duration(6200), duration(725_000), duration(600_000)]).toEqual([
      '850 ms',
      '6.2 s',
      '12 min 5 s',
      '10 min',
    ]);
  });
});

describe('the progress line of a wait', () => {
  const wait = (pids: number[], waitedMs: number): ApplyEvent => ({
    type: 'lock-wait',
    stepId: 'expand.1',
    where: 'guard',
    waitedMs,
    lockWaitMs: 600_000,
    blockers: pids.map((pid) => holder(pid)),
    message: `expand.1: waiting (${waitedMs}) for ${pids.join(', ')}`,
  });

  it('without a terminal: a line when the blockers change, else at most every few seconds', () => {
    const lines: string[] = [];
    const print = eventPrinter((l) => lines.push(l), { isTTY: false, write: () => true }, { plainIntervalMs: 60_000 });
    print(wait([1], 100));
    print(wait([1], 200));
    print(wait([1, 2], 300));
    print(wait([1, 2], 400));
    print({ type: 'warning', message: 'done waiting' });
    print(wait([1, 2], 500));
    expect(lines).toEqual([
      '  expand.1: waiting (100) for 1',
      '  expand.1: waiting (300) for 1, 2',
      'done waiting',
      '  expand.1: waiting (500) for 1, 2',
    ]);
  });

  it('on a terminal: one line redrawn in place, cut to the width', () => {
    let out = '';
    const print = eventPrinter(
      (l) => {
        out += `${l}\n`;
      },
      {
        isTTY: true,
        columns: 30,
        write: (s: string) => {
          out += s;
        },
      },
    );
    print(wait([1], 100));
    print(wait([1], 200));
    print.finish();
    expect(out).toBe('\r\u001b[2K  expand.1: waiting (100) fo…\r\u001b[2K  expand.1: waiting (200) fo…\n');
  });
});
