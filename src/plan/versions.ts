/**
 * The version schemas a plan made with `--renames views` creates (src/plan/techniques/rename-views.ts),
 * read back from its steps: what `zdm apply` prints after each phase (the search_path each
 * application version connects with).
 */
import { parseIdentifierChain } from '../model/types-text.js';
import { type VersionSchema, versionOfComment, versionSearchPath } from '../model/versions.js';
import type { PhaseName, Plan } from './types.js';

const COMMENT_SCHEMA = /^COMMENT ON SCHEMA ("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*) IS '((?:[^']|'')*)'$/s;

/** The version schemas the plan's expand creates, old version first, by base schema. */
export function planVersions(plan: Plan): VersionSchema[] {
  const out: VersionSchema[] = [];
  for (const step of plan.phases.find((p) => p.name === 'expand')?.steps ?? []) {
    for (const sql of step.kind === 'sql' ? step.sql : []) {
      const m = COMMENT_SCHEMA.exec(sql);
      const name = m ? parseIdentifierChain(m[1]!)?.[0] : undefined;
      const v = m && name !== undefined ? versionOfComment(name, m[2]!.replaceAll("''", "'")) : undefined;
      if (v !== undefined) out.push(v);
    }
  }
  return out.sort((a, b) => a.base.localeCompare(b.base) || (a.role === b.role ? 0 : a.role === 'old' ? -1 : 1));
}

/**
 * What an operator must do with the application versions once `phase` is done, one line each:
 * the search_path of each version, and what the next phase expects of them. Empty for a plan
 * without version schemas.
 */
export function versionNotes(plan: Plan, phase: PhaseName): string[] {
  const versions = planVersions(plan);
  if (versions.length === 0) return [];
  const lines = versions.map(
    (v) => `${v.role} application version (${v.base}): SET search_path = ${versionSearchPath(v)}`,
  );
  const next: Record<PhaseName, string> = {
    expand:
      'next: restart (or reconnect) the old application version with its search_path, then run backfill ' +
      'with --allow-hazards app-compat: it renames in place, and every session still on the base names breaks; ' +
      'the new version may be deployed with its search_path now',
    backfill:
      'next: once the old application version is gone, run contract (--allow-hazards app-compat): it drops both version schemas',
    contract:
      "done: the version schemas are dropped; the new version's search_path resolves to the base schema, which has its names",
  };
  return [...(phase === 'contract' ? [] : lines), next[phase]];
}
