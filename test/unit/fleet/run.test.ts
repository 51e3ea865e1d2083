import { describe, expect, test } from 'vitest';
import { ApplyError } from '../../../src/apply/index.js';
import { applyFleet } from '../../../src/fleet/run.js';
import type { Plan } from '../../../src/plan/types.js';

// A target that cannot be connected to: the refusals below must come before any connection.
const nowhere = {
  name: 'x',
  groups: [],
  url: 'postgresql://nobody@127.0.0.1:1/x',
  from: { url: true },
  at: 't:1:1',
} as const;

describe('applyFleet refuses once, before reading any target', () => {
  test('an edited plan', async () => {
    const plan = { version: 1, id: 'p', checksum: 'sha256:0', phases: [] } as unknown as Plan;
    const run = applyFleet(plan, { phase: 'expand', targets: [nowhere], concurrency: 1, apply: {} });
    await expect(run).rejects.toThrow(ApplyError);
    await expect(run).rejects.toMatchObject({ code: 'checksum' });
  });
});
