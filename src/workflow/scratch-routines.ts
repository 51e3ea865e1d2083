/**
 * Functions, procedures and triggers in the scratch database (scratch-normalize.ts): which of the
 * desired ones the server must see, how they are built there, and how the server's form of each is
 * taken back into the desired state.
 *
 * A routine or trigger whose every attribute is what the live database has for it needs no server.
 * Any other (new, or changed) is created in the scratch database — routines with
 * `check_function_bodies` off (their string bodies may name what the scratch database lacks: they
 * are kept byte for byte anyway), SQL-standard bodies parsed as PostgreSQL parses them — and read
 * back by the same introspection as the live database: argument defaults, SQL-standard bodies and
 * WHEN conditions in the server's words. Unqualified names resolve in the object's schema, then
 * public, as for views.
 */
import type { Queryable } from '../db/connection.js';
import { textWithout } from '../model/canonical.js';
import { routineKey, triggerKey } from '../model/routines.js';
import type { DatabaseModel, Routine, SchemaModel, Trigger } from '../model/types.js';
import { quoteIdent } from '../sql/quote.js';
import { createRoutineSql } from '../sql/routines.js';
import { createUserTriggerSql } from '../sql/triggers.js';

const routineShape: (r: Routine) => string = textWithout('comment', 'grants');
const triggerShape: (t: Trigger) => string = textWithout('comment', 'enabled');

function routinesOf(m: DatabaseModel): Map<string, Routine> {
  return new Map(m.schemas.flatMap((s) => s.functions.map((r) => [routineKey(r), r] as const)));
}
function triggersOf(m: DatabaseModel): Map<string, Trigger> {
  return new Map(m.schemas.flatMap((s) => s.triggers.map((t) => [triggerKey(t), t] as const)));
}

/** Keys of the desired routines and triggers that are not exactly the live ones. */
export function routinesNeedingServer(desired: DatabaseModel, live: DatabaseModel): string[] {
  const out: string[] = [];
  const liveRoutines = routinesOf(live);
  for (const [k, r] of routinesOf(desired)) {
    const l = liveRoutines.get(k);
    if (l === undefined || routineShape(l) !== routineShape(r)) out.push(k);
  }
  const liveTriggers = triggersOf(live);
  for (const [k, t] of triggersOf(desired)) {
    const l = liveTriggers.get(k);
    if (l === undefined || triggerShape(l) !== triggerShape(t)) out.push(k);
  }
  return out.sort();
}

/** A routine or trigger and its document path, for the rounds of scratch-normalize.ts. */
export interface CodeObject {
  readonly key: string;
  readonly path: string[];
  readonly sql: string;
  readonly schema: string;
}

/** The document path of a routine: by name, or by `name(types)` when the schema has overloads of it. */
export function routinePath(s: SchemaModel, r: Routine): string[] {
  const many = s.functions.filter((x) => x.name === r.name && x.kind === r.kind).length > 1;
  const yamlKey = many ? routineKey(r).slice(r.kind.length + 1 + s.name.length + 1) : r.name;
  return ['schemas', s.name, `${r.kind}s`, yamlKey];
}

/** What the scratch database builds for the routines and triggers of `desired`: routines first. */
export function routineObjects(desired: DatabaseModel): { routines: CodeObject[]; triggers: CodeObject[] } {
  const routines: CodeObject[] = [];
  const triggers: CodeObject[] = [];
  for (const s of desired.schemas) {
    for (const r of s.functions) {
      routines.push({
        key: routineKey(r),
        path: routinePath(s, r),
        sql: createRoutineSql(r),
        schema: s.name,
      });
    }
    for (const t of s.triggers) {
      triggers.push({
        key: triggerKey(t),
        path: ['schemas', s.name, 'triggers', t.table, t.name],
        sql: createUserTriggerSql(t),
        schema: s.name,
      });
    }
  }
  return { routines, triggers };
}

/** Creates `objects` in rounds (what fails is tried again after the others); returns the last error of each that never built. */
export async function buildCodeObjects(
  client: Queryable,
  objects: readonly CodeObject[],
): Promise<Map<CodeObject, string>> {
  await client.query('SET check_function_bodies = off');
  let pending = [...objects];
  const errors = new Map<CodeObject, string>();
  for (let progress = true; pending.length > 0 && progress; ) {
    progress = false;
    const left: CodeObject[] = [];
    for (const o of pending) {
      await client.query(`SET search_path = ${quoteIdent(o.schema)}, public`);
      try {
        await client.query(o.sql);
        progress = true;
        errors.delete(o);
      } catch (err) {
        left.push(o);
        errors.set(o, err instanceof Error ? err.message : String(err));
      }
    }
    pending = left;
  }
  await client.query('RESET search_path');
  await client.query('RESET check_function_bodies');
  return errors;
}

/**
 * The desired schemas with each routine and trigger in `needed` replaced by the server's form of it
 * (`got`, the scratch database read back), keeping the desired comment and privileges (and enabled
 * state of a trigger, which the scratch database does not set).
 */
export function withServerRoutines(
  schemas: readonly SchemaModel[],
  got: DatabaseModel,
  needed: ReadonlySet<string>,
): SchemaModel[] {
  const gotRoutines = routinesOf(got);
  const gotTriggers = triggersOf(got);
  return schemas.map((s) => ({
    ...s,
    functions: s.functions.map((r) => {
      const g = needed.has(routineKey(r)) ? gotRoutines.get(routineKey(r)) : undefined;
      if (g === undefined) return r;
      // The desired comment and privileges (the scratch database has PostgreSQL's default ones).
      const { comment: _c, grants: _g, ...rest } = g;
      return {
        ...rest,
        ...(r.comment !== undefined ? { comment: r.comment } : {}),
        ...(r.grants !== undefined ? { grants: r.grants } : {}),
      };
    }),
    triggers: s.triggers.map((t) => {
      const g = needed.has(triggerKey(t)) ? gotTriggers.get(triggerKey(t)) : undefined;
      if (g === undefined) return t;
      const { comment: _c, enabled: _e, ...rest } = g;
      return {
        ...rest,
        ...(t.enabled !== undefined ? { enabled: t.enabled } : {}),
        ...(t.comment !== undefined ? { comment: t.comment } : {}),
      };
    }),
  }));
}
