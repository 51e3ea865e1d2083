/**
 * `zdm plan` as a library: load and validate the desired state, introspect the live database,
 * normalize the desired state through the server, refuse to plan on top of a plan in flight, diff and
 * plan. The CLI and `zdm demo` are thin layers over this.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { planStatus } from '../apply/index.js';
import type { Queryable } from '../db/connection.js';
import {
  type DesiredIssue,
  DesiredStateError,
  type LoadedDesiredState,
  loadDesiredState,
  type SourceLocation,
  type SourceMap,
} from '../desired/index.js';
import { writeDesiredState } from '../desired/write.js';
import { type Change, diffModels, isSwapChange, type TypeChangePath } from '../diff/index.js';
import { InputError } from '../errors.js';
import { introspect } from '../introspect/index.js';
import { emptyTables } from '../introspect/rows.js';
import { tablesEqual } from '../model/canonical.js';
import { differingParts } from '../model/differing.js';
import { withoutJournal } from '../model/objects.js';
import { formatPath, parentPath } from '../model/paths.js';
import type { DatabaseModel } from '../model/types.js';
import { withChecksum } from '../plan/checksum.js';
import { type PlanModels, PlanningError, planChanges, planId, suggestSlug } from '../plan/index.js';
import { dataChecks, withUncheckedHazards } from '../plan/preflight.js';
import type { RenamePath } from '../plan/techniques/rename-views.js';
import type { Plan } from '../plan/types.js';
import { ZDM_VERSION } from '../version.js';
import { refuseCitus } from './citus.js';
import { NormalizeError, normalizeDesired } from './normalize.js';
import { bypassesRowSecurity, rowsOutsidePartitions } from './partition-rows.js';
import { type CheckOutcome, DEFAULT_PREFLIGHT_BUDGET_MS, PreflightError, runPreflight } from './preflight.js';
import { notRehearsed, REHEARSAL_PURPOSE, rehearsePlan } from './rehearse.js';
import { PlanScratch } from './scratch.js';
import { normalizeViews, viewsNeedingServer, withLiveViewFacts } from './scratch-normalize.js';
import { routinesNeedingServer } from './scratch-routines.js';

export interface MakePlanOptions {
  /** Desired-state file or directory. */
  readonly desiredPath: string;
  /** Slug of the plan id; default: derived from the changes. */
  readonly name?: string;
  /** Plan time (ISO 8601); default now. An input so that tests and example plans are reproducible. */
  readonly now?: Date;
  readonly batchSize?: number;
  /** How renames are planned (`zdm plan --renames`); default: the desired state's `options.renames`, else copy. */
  readonly renames?: RenamePath;
  /** How type changes that rewrite a table are planned (`zdm plan --type-changes`); default: the desired state's `options.typeChanges`, else column. */
  readonly typeChanges?: TypeChangePath;
  /**
   * The desired state, already loaded from `desiredPath` (the CLI loads it before it connects, so
   * that a mistyped path is reported as such even when the database is unreachable).
   */
  readonly loaded?: LoadedDesiredState;
  /**
   * A server of the live server's major version to build the desired state on when views need
   * normalizing (scratch.ts); default: an embedded server zdm starts.
   */
  readonly scratchUrl?: string;
  /**
   * The data preflight (preflight.ts): `false` skips it; default: on, within
   * DEFAULT_PREFLIGHT_BUDGET_MS in all.
   */
  readonly preflight?: false | { readonly budgetMs: number };
  /**
   * Rehearsal (rehearse.ts): `true` applies the plan to a scratch copy of the live schema (on
   * `scratchUrl`, else an embedded server) and records what it saw in the plan's `rehearsal`
   * section; `false` marks the plan not rehearsed; absent (library callers that predate it) leaves
   * the section out. `zdm plan` rehearses unless --no-rehearse.
   */
  readonly rehearse?: boolean;
  /**
   * `zdm plan --rehearse-rows N`: the rehearsal's copy also holds up to N live rows of each table the
   * plan changes (rehearse-rows.ts); default 0, schema only.
   */
  readonly rehearseRows?: number;
}

export interface MadePlan {
  readonly plan: Plan;
  readonly warnings: readonly string[];
  /**
   * The objects of the live schema and of the (normalized) desired state that differ, with every
   * extension and schema (their own fields), as YAML (written when first read; model/differing.ts):
   * what the schema diff is made of.
   */
  readonly liveYaml: string;
  readonly desiredYaml: string;
  /** True when the database already matches the desired state (every phase empty). */
  readonly empty: boolean;
  readonly live: DatabaseModel;
  readonly desired: DatabaseModel;
  /** The plan's models: the live one and the one after each phase (what the rehearsal's scope is made from). */
  readonly models: PlanModels;
  /** What the data preflight found, check by check (empty when it was skipped or had nothing to check). */
  readonly preflight: readonly CheckOutcome[];
}

/** A plan of this database is applied part-way: planning on top of it would plan from a half state. */
export class PlanInFlightError extends InputError {
  override readonly name = 'PlanInFlightError';
}

/**
 * sha256 of the desired-state input: the file's bytes, or each file of the directory (path and
 * bytes) in path order; then each .sql file the input names with `file:` (its path relative to the
 * input's directory, and its bytes), in path order.
 */
export async function desiredSha256(p: string, sqlFiles: readonly string[] = []): Promise<string> {
  const h = createHash('sha256');
  const isDirectory = (await stat(p)).isDirectory();
  if (isDirectory) {
    const files = (await readdir(p, { recursive: true }))
      .filter((f) => /\.ya?ml$/.test(f) && !f.split(path.sep).some((part) => part.startsWith('.')))
      .sort();
    for (const f of files) {
      h.update(`${f}\n`);
      h.update(await readFile(path.join(p, f)));
      h.update('\n');
    }
  } else {
    h.update(await readFile(p));
  }
  const root = path.resolve(isDirectory ? p : path.dirname(p));
  for (const f of [...sqlFiles].map((x) => path.relative(root, x)).sort()) {
    h.update(`${f}\n`);
    h.update(await readFile(path.resolve(root, f)));
    h.update('\n');
  }
  return `sha256:${h.digest('hex')}`;
}

/** The source location of a formatted document path, or of its nearest enclosing part that has one. */
function locatePath(sources: SourceMap, path: string | undefined): SourceLocation | undefined {
  for (let p = path; p !== undefined && p !== ''; p = parentPath(p)) {
    const hit = sources.get(p);
    if (hit) return hit;
  }
  return undefined;
}

/** Issues of later stages (server normalization, planning), placed in the YAML where possible. */
function locatedIssues(sources: SourceMap, issues: readonly { path: string; message: string }[]): DesiredIssue[] {
  return issues.map((i) => {
    const at = locatePath(sources, i.path);
    return { file: at?.file ?? '', line: at?.line ?? 0, column: at?.column ?? 0, path: i.path, message: i.message };
  });
}

/**
 * The live tables the desired state changes (or drops): the only ones whose emptiness the planner
 * asks about. An unprobed table counts as holding rows, the safe side; probing only these keeps
 * `zdm plan` from locking (ACCESS SHARE) and reading every table of a large schema.
 */
export function changedTables(live: DatabaseModel, desired: DatabaseModel): { schema: string; name: string }[] {
  const wanted = new Map(desired.schemas.flatMap((s) => s.tables.map((t) => [`${t.schema}.${t.name}`, t] as const)));
  return live.schemas.flatMap((s) =>
    s.tables
      .filter((t) => {
        const d = wanted.get(`${t.schema}.${t.name}`);
        return d === undefined || !tablesEqual(t, d);
      })
      .map((t) => ({ schema: t.schema, name: t.name })),
  );
}

export async function makePlan(client: Queryable, options: MakePlanOptions): Promise<MadePlan> {
  const loaded = options.loaded ?? (await loadDesiredState(options.desiredPath));
  await refuseCitus(client, 'zdm plan');
  const status = await planStatus(client);
  const flying = status.plans.find((p) => p.inFlight);
  if (flying) {
    throw new PlanInFlightError(
      `plan ${flying.id} is applied part-way (next phase: ${flying.nextPhase ?? '?'}): finish it ` +
        `(zdm apply PLAN --phase ${flying.nextPhase ?? '…'}) or roll it back before planning again`,
    );
  }
  const live = withoutJournal(await introspect(client));
  // One scratch server for the whole plan (normalizing, rehearsal); a plan to rehearse has it
  // started, and its database made, while the plan is being made.
  const scratch = new PlanScratch({
    major: Math.floor((live.server?.versionNum ?? 0) / 10000),
    ...(options.rehearse === true ? { purpose: REHEARSAL_PURPOSE } : {}),
    ...(options.scratchUrl !== undefined ? { url: options.scratchUrl } : {}),
  });
  if (options.rehearse === true) scratch.ahead();
  try {
    return await planWith(client, options, loaded, live, scratch);
  } finally {
    await scratch.close();
  }
}

async function planWith(
  client: Queryable,
  options: MakePlanOptions,
  loaded: LoadedDesiredState,
  live: DatabaseModel,
  scratch: PlanScratch,
): Promise<MadePlan> {
  const { model: written, sources, sqlFiles } = loaded;
  const renames = options.renames ?? loaded.options?.renames;
  const typeChanges = options.typeChanges ?? loaded.options?.typeChanges;
  let desired: DatabaseModel;
  try {
    desired = await normalizeDesired(client, written, live);
    if (viewsNeedingServer(desired, live).length > 0 || routinesNeedingServer(desired, live).length > 0) {
      const tables = desired;
      desired = await scratch.with((c) => normalizeViews(c, tables, live));
      if (options.rehearse === true) scratch.ahead();
    } else {
      desired = withLiveViewFacts(desired, live);
    }
  } catch (err) {
    if (err instanceof NormalizeError) {
      throw new DesiredStateError(
        locatedIssues(
          sources,
          err.issues.map((i) => ({ path: formatPath(i.segments), message: `PostgreSQL rejected it: ${i.message}` })),
        ),
      );
    }
    throw err;
  }
  const now = options.now ?? new Date();
  const createdAt = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  let result: ReturnType<typeof planChanges>;
  let changes: Change[] = [];
  let empty = new Set<string>();
  try {
    changes = diffModels(live, desired, { typeChanges });
    const slug = options.name ?? suggestSlug(changes);
    empty = await emptyTables(client, changedTables(live, desired));
    const outside = await rowsOutsidePartitions(
      client,
      changes.flatMap((c) => (c.kind === 'partitionTable' ? [c] : [])),
    );
    const swaps = changes.some(isSwapChange);
    const bypass = swaps && (await bypassesRowSecurity(client));
    result = planChanges(live, desired, {
      id: planId(createdAt, slug),
      createdAt,
      zdmVersion: ZDM_VERSION,
      desiredSha256: await desiredSha256(options.desiredPath, sqlFiles),
      serverVersion: live.server?.version ?? 'PostgreSQL',
      rowCounts: Object.fromEntries([...empty].map((t) => [t, 0])),
      rowsOutsidePartitions: outside,
      bypassesRowSecurity: bypass,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(renames !== undefined ? { renames } : {}),
      ...(typeChanges !== undefined ? { typeChanges } : {}),
    });
  } catch (err) {
    if (err instanceof PlanningError && err.issues.some((i) => i.path)) {
      throw new DesiredStateError(
        locatedIssues(
          sources,
          err.issues.map((i) => ({ path: i.path ?? '', message: `${i.object}: ${i.message}` })),
        ),
      );
    }
    throw err;
  }
  let plan = result.plan;
  const models: PlanModels = { live, ...result.models };
  const warnings = [...result.warnings];
  let preflight: CheckOutcome[] = [];
  if (options.preflight !== false && plan.phases.some((p) => p.steps.length > 0)) {
    preflight = await runPreflight(client, dataChecks(live, changes, empty), {
      budgetMs: options.preflight?.budgetMs ?? DEFAULT_PREFLIGHT_BUDGET_MS,
    });
    const violated = preflight.flatMap((o) => (o.status === 'violated' ? [o] : []));
    if (violated.length > 0) throw new PreflightError(violated);
    // A check that reads a column or table this plan creates has no existing rows to check.
    const unchecked = preflight.flatMap((o) => (o.status === 'unchecked' && !o.notApplicable ? [o] : []));
    for (const u of unchecked) {
      warnings.push(
        `data preflight: ${u.check.object} not checked: ${u.reason}; its steps carry the data-unchecked hazard`,
      );
    }
    plan = withUncheckedHazards(
      plan,
      unchecked.map((u) => u.check),
    );
  }
  if (options.rehearse !== undefined && plan.phases.some((p) => p.steps.length > 0)) {
    const rehearsal = options.rehearse
      ? await rehearsePlan(plan, live, desired, {
          scratch,
          models,
          ...(options.rehearseRows ? { rows: { limit: options.rehearseRows, live: client } } : {}),
          checks: dataChecks(live, changes, empty),
        })
      : notRehearsed();
    plan = withChecksum({ ...plan, rehearsal });
  }
  // Written on first use (`zdm plan --check` of a database that matches needs neither), and only
  // the objects that differ: on a schema of thousands of tables, writing and diffing both whole
  // models took seconds and tens of MB for a plan of a few changes.
  let yaml: { live: string; desired: string } | undefined;
  const texts = () => {
    if (yaml === undefined) {
      const parts = differingParts(live, desired);
      yaml = {
        live: writeDesiredState(parts.a, { schemaPath: '' }),
        desired: writeDesiredState(parts.b, { schemaPath: '' }),
      };
    }
    return yaml;
  };
  return {
    plan,
    warnings,
    get liveYaml() {
      return texts().live;
    },
    get desiredYaml() {
      return texts().desired;
    },
    empty: plan.phases.every((p) => p.steps.length === 0),
    live,
    desired,
    models,
    preflight,
  };
}
