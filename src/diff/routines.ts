/**
 * The changes of functions, procedures and triggers within one schema. Routines are matched by
 * signature (`name(argument types)`): an overload with other argument types is another routine;
 * triggers by table and name.
 */
import { stableStringify } from '../model/canonical.js';
import { routineNotReplaceable, routineSignature } from '../model/routines.js';
import type { Routine, SchemaModel, Trigger } from '../model/types.js';
import type { Change } from './changes.js';
import { diffKeyed } from './keyed.js';

const without = <T extends object, K extends keyof T>(x: T, ...keys: K[]): Omit<T, K> => {
  const out = { ...x };
  for (const k of keys) delete out[k];
  return out;
};
const same = (a: unknown, b: unknown): boolean => stableStringify(a) === stableStringify(b);

/** What CREATE OR REPLACE sets: everything but the comment (and the privileges: src/diff/grants.ts). */
const routineShape = (r: Routine) => without(r, 'comment', 'grants');
/** What CREATE OR REPLACE TRIGGER sets: everything but the enabled state and the comment. */
const triggerShape = (t: Trigger) => without(t, 'enabled', 'comment');

export function diffRoutinesAndTriggers(live: SchemaModel, desired: SchemaModel, out: Change[]): void {
  const key = (r: Routine) => `${routineSignature(r)} ${r.kind}`;
  for (const r of diffKeyed(live.functions, desired.functions, key)) {
    if (r.kind === 'added') out.push({ kind: 'createRoutine', routine: r.desired });
    else if (r.kind === 'removed') out.push({ kind: 'dropRoutine', routine: r.live });
    else if (!same(routineShape(r.live), routineShape(r.desired))) {
      const reason = routineNotReplaceable(r.live, r.desired);
      out.push(
        reason === undefined
          ? { kind: 'replaceRoutine', from: r.live, to: r.desired }
          : { kind: 'recreateRoutine', from: r.live, to: r.desired, reason },
      );
    } else if (r.live.comment !== r.desired.comment) {
      out.push({ kind: 'replaceRoutine', from: r.live, to: r.desired });
    }
  }
  for (const t of diffKeyed(live.triggers, desired.triggers, (x) => `${x.table}\u0000${x.name}`)) {
    if (t.kind === 'added') out.push({ kind: 'createTrigger', trigger: t.desired });
    else if (t.kind === 'removed') out.push({ kind: 'dropTrigger', trigger: t.live });
    else if (!same(triggerShape(t.live), triggerShape(t.desired))) {
      out.push({ kind: 'replaceTrigger', from: t.live, to: t.desired });
    } else if (t.live.enabled !== t.desired.enabled || t.live.comment !== t.desired.comment) {
      out.push({ kind: 'alterTrigger', from: t.live, to: t.desired });
    }
  }
}
