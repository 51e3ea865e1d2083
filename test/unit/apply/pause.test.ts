import { describe, expect, it } from 'vitest';
import { pauseAfter } from '../../../src/apply/batches.js';
import { resolveSettings } from '../../../src/apply/context.js';
import { ApplyError } from '../../../src/apply/errors.js';
import { parsePause } from '../../../src/cli/flags.js';
import { OptionError } from '../../../src/errors.js';

describe('the pause after a backfill batch', () => {
  it('is by default a quarter of the batch’s own duration, with no fixed part', () => {
    const s = resolveSettings({});
    expect([s.pauseMs, s.pauseRatio]).toEqual([0, 0.25]);
    expect(pauseAfter(s, 22)).toBe(6);
    expect(pauseAfter(s, 180)).toBe(45);
  });

  it('is exactly what the caller asks for when it gives either part', () => {
    const fixed = resolveSettings({ pauseMs: 20 });
    expect([fixed.pauseMs, fixed.pauseRatio]).toEqual([20, 0]);
    expect(pauseAfter(fixed, 500)).toBe(20);
    const none = resolveSettings({ pauseMs: 0 });
    expect(pauseAfter(none, 500)).toBe(0);
    const share = resolveSettings({ pauseRatio: 1 });
    expect(pauseAfter(share, 40)).toBe(40);
    expect(pauseAfter(resolveSettings({ pauseMs: 10, pauseRatio: 0.5 }), 40)).toBe(30);
  });

  it('refuses a negative part', () => {
    expect(() => resolveSettings({ pauseRatio: -0.1 })).toThrow(ApplyError);
    expect(() => resolveSettings({ pauseMs: -1 })).toThrow(ApplyError);
  });
});

describe('zdm apply --pause', () => {
  it.each([
    ['25%', { pauseRatio: 0.25 }],
    [' 100 % ', { pauseRatio: 1 }],
    ['0%', { pauseRatio: 0 }],
    ['12.5%', { pauseRatio: 0.125 }],
    ['20ms', { pauseMs: 20 }],
    ['0', { pauseMs: 0 }],
    ['1s', { pauseMs: 1000 }],
  ])('reads %j', (text, want) => {
    expect(parsePause(text, '--pause')).toEqual(want);
  });

  it.each(['%', '-5%', '25 percent', 'x%', 'soon'])('refuses %j, saying what it expected', (text) => {
    expect(() => parsePause(text, '--pause')).toThrow(OptionError);
    expect(() => parsePause(text, '--pause')).toThrow(/--pause .*expected a (percentage|duration)/);
  });
});
