/**
 * Row level security policies (issue 12). Every policy statement takes ACCESS EXCLUSIVE on its
 * table (../shared/pg-locks.md: CREATE / ALTER / DROP POLICY), held only for the statement: lock
 * timeout and retry, as for other instant DDL. COMMENT ON POLICY takes ACCESS SHARE. Proven from
 * pg_locks in test/integration/policy-locks.test.ts.
 *
 * - New policies in expand (group `policies`: after the tables, columns, views and functions an
 *   expression may use), with their comments.
 * - A changed policy in expand: `ALTER POLICY` (roles, USING, WITH CHECK) when it can express the
 *   change; otherwise (command, PERMISSIVE/RESTRICTIVE, an expression removed) DROP and CREATE in
 *   one transaction, so that no transaction ever sees the table without it.
 * - Dropped policies in contract (group `dropPolicies`, before the columns an expression may use are
 *   dropped), hazard `app-compat`: the old application version may rely on what it let through.
 * - A policy (of the table or of another one) that reads a column a column swap drops
 *   (replace-column) keeps reading the old column (kept equal to the new one by the sync trigger)
 *   until the swap, and is dropped and created as the desired state has it in the swap's
 *   transaction (`rebuildPolicies`); the swap holds ACCESS EXCLUSIVE on the table already, and
 *   takes it on the other tables with policies first.
 */
import type { AlterPolicy, CreatePolicy, DropPolicy, RelationRef } from '../../diff/changes.js';
import { relationOfKey } from '../../model/dependencies.js';
import { namesMentioned, qualified, qualifiedRef } from '../../model/names.js';
import { objectKey } from '../../model/objects.js';
import type { DatabaseModel, Policy, Table } from '../../model/types.js';
import { alterPolicySql, createPolicySql, dropPolicySql, policyCommentSql } from '../../sql/policies.js';
import { at, lock, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { type ModelEdit, mapTable, removeNamed } from '../model-edit.js';
import type { LockInfo } from '../types.js';

const byName = (a: Policy, b: Policy): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The table with the policy put in (replacing one of that name), or taken out. */
function withPolicy(m: DatabaseModel, table: RelationRef, name: string, p?: Policy): DatabaseModel {
  return mapTable(m, table, (t): Table => {
    const rest = removeNamed(t.policies ?? [], name);
    const policies = (p === undefined ? rest : [...rest, p]).sort(byName);
    const { policies: _old, ...others } = t;
    return policies.length > 0 ? { ...others, policies } : others;
  });
}

/** CREATE POLICY (and COMMENT ON POLICY) as the policy is. */
export function createPolicyStatements(table: RelationRef, p: Policy): string[] {
  return [createPolicySql(table, p), ...(p.comment !== undefined ? [policyCommentSql(table, p.name, p.comment)] : [])];
}

/** `policy own on public.doc`, as the dependency graph keys it. */
const policyKey = (table: RelationRef, name: string): string =>
  `policy ${name} on ${qualified(table.schema, table.name)}`;

/**
 * ACCESS SHARE on each other relation the policy's expressions read (a subquery): CREATE POLICY
 * parses them, opening those relations as a query would (measured on 15: `USING (EXISTS (SELECT FROM
 * other …))` takes ACCESS SHARE on other). From the desired graph, and for a policy with a subquery
 * the desired relations its expressions name (matching names: a word that is a relation's name
 * declares that relation, more rather than less).
 */
export function policyReadLocks(ctx: PlanContext, table: RelationRef, name: string): LockInfo[] {
  const own = objectKey('table', table.schema, table.name);
  const keys = new Set(ctx.desiredGraph.dependenciesOf(policyKey(table, name)));
  // A policy the plan creates or changes has no edges yet (the desired graph holds those of live
  // objects): the relations of the desired state its expressions name.
  const policy = (ctx.desiredRelation(table) as { policies?: readonly Policy[] } | undefined)?.policies?.find(
    (p) => p.name === name,
  );
  const text = `${policy?.using ?? ''} ${policy?.withCheck ?? ''}`;
  if (policy !== undefined && /\bselect\b/i.test(text)) {
    const words = namesMentioned(text);
    for (const s of ctx.desired.schemas) {
      for (const r of [...s.tables, ...s.views, ...s.materializedViews]) {
        if (words.has(r.name)) keys.add(objectKey(r.kind, s.name, r.name));
      }
    }
  }
  return [...keys]
    .filter((k) => k !== own)
    .sort()
    .flatMap((k) => {
      const r = relationOfKey(k);
      return r === undefined ? [] : [lock(r, 'ACCESS SHARE')];
    });
}

export function planCreatePolicy(ctx: PlanContext, ch: CreatePolicy): void {
  const { table, policy } = ch;
  if (ctx.rebuiltPolicies.has(policyKey(table, policy.name))) return;
  ctx.add(
    at.expand('policies'),
    sqlStep(`create policy ${policy.name} on ${qualifiedRef(table)}`, createPolicyStatements(table, policy), {
      locks: [lock(table, 'ACCESS EXCLUSIVE'), ...policyReadLocks(ctx, table, policy.name)],
    }),
    (m) => withPolicy(m, table, policy.name, policy),
    [tableTouch(table)],
  );
}

export function planDropPolicy(ctx: PlanContext, ch: DropPolicy): void {
  const { table, policy } = ch;
  if (ctx.desiredRelation(table) === undefined) return; // dropped with its table
  ctx.add(
    at.contract('dropPolicies'),
    sqlStep(`drop policy ${policy.name} on ${qualifiedRef(table)}`, [dropPolicySql(table, policy.name)], {
      locks: [lock(table, 'ACCESS EXCLUSIVE')],
      hazards: ['app-compat'],
    }),
    (m) => withPolicy(m, table, policy.name),
    [tableTouch(table)],
  );
}

/** Why ALTER POLICY cannot make `from` into `to`, or undefined when it can. */
export function alterPolicyBlocker(from: Policy, to: Policy): string | undefined {
  if ((from.command ?? 'all') !== (to.command ?? 'all')) return `FOR ${from.command ?? 'all'} → ${to.command ?? 'all'}`;
  if ((from.restrictive ?? false) !== (to.restrictive ?? false)) {
    return to.restrictive ? 'permissive → restrictive' : 'restrictive → permissive';
  }
  if (from.using !== undefined && to.using === undefined) return 'USING removed';
  if (from.withCheck !== undefined && to.withCheck === undefined) return 'WITH CHECK removed';
  return undefined;
}

export function planAlterPolicy(ctx: PlanContext, ch: AlterPolicy): void {
  const { table, from, to } = ch;
  if (ctx.rebuiltPolicies.has(policyKey(table, to.name))) return;
  const name = qualifiedRef(table);
  const { comment: _a, ...fromShape } = from;
  const { comment: _b, ...toShape } = to;
  const shapeChanges = JSON.stringify(fromShape) !== JSON.stringify(toShape);
  const blocker = shapeChanges ? alterPolicyBlocker(from, to) : undefined;
  const comment = to.comment !== from.comment ? [policyCommentSql(table, to.name, to.comment)] : [];
  let summary: string;
  let sql: string[];
  if (!shapeChanges) {
    summary = `comment on policy ${to.name} on ${name}`;
    sql = comment;
  } else if (blocker === undefined) {
    summary = `alter policy ${to.name} on ${name}`;
    sql = [alterPolicySql(table, from, to), ...comment];
  } else {
    summary = `replace policy ${to.name} on ${name} (${blocker}: ALTER POLICY cannot; dropped and created in one transaction)`;
    sql = [dropPolicySql(table, from.name), ...createPolicyStatements(table, to)];
  }
  // COMMENT ON POLICY alone takes ACCESS SHARE; CREATE / ALTER POLICY also ACCESS SHARE on what a
  // subquery of the policy reads (measured: test/integration/policy-locks.test.ts).
  ctx.add(
    at.expand('policies'),
    sqlStep(summary, sql, {
      locks: shapeChanges
        ? [lock(table, 'ACCESS EXCLUSIVE'), ...policyReadLocks(ctx, table, to.name)]
        : [lock(table, 'ACCESS SHARE')],
    }),
    (m) => withPolicy(m, table, to.name, to),
    [tableTouch(table)],
  );
}

// ---------------------------------------------------------------------------------------------
// Policies dropped and created again around a column change

export interface PolicyRebuild {
  readonly drop: readonly string[];
  /** CREATE (and COMMENT) statements, as the desired state has the policies. */
  readonly create: readonly string[];
  /**
   * ACCESS EXCLUSIVE on each table that has one of the policies, ACCESS SHARE on each other relation
   * a subquery of theirs reads (`policyReadLocks`).
   */
  readonly locks: readonly LockInfo[];
  /** The tables that have one of the policies, in key order. */
  readonly tables: readonly RelationRef[];
  readonly edit: ModelEdit;
  /** `policy own on public.doc dropped and created again around it`, for the step's summary. */
  readonly note: string;
}

interface PolicyEntry {
  readonly key: string;
  readonly table: RelationRef;
  readonly policy: Policy;
}

/** Every policy of the model, with its table and key. */
function policyEntries(m: DatabaseModel): PolicyEntry[] {
  return m.schemas.flatMap((s) =>
    s.tables.flatMap((t) =>
      (t.policies ?? []).map((p): PolicyEntry => {
        const table = { schema: s.name, name: t.name };
        return { key: policyKey(table, p.name), table, policy: p };
      }),
    ),
  );
}

/**
 * Keys of the policies (of any table) that the desired state keeps and that read `column` of
 * `table` (live graph; without a column, of another table, that read the table), or, when
 * `desiredColumn` is given, that the desired state has reading it (desired graph): those a change
 * that drops or retypes `column` (or drops the table) must take along.
 */
export function policiesReading(
  ctx: PlanContext,
  table: RelationRef,
  column: string | undefined,
  desiredColumn?: string,
): string[] {
  const key = objectKey('table', table.schema, table.name);
  const keep = new Set(policyEntries(ctx.desired).map((e) => e.key));
  const found = [
    ...ctx.liveGraph.columnDependentsOf(key, column),
    ...(desiredColumn === undefined ? [] : ctx.desiredGraph.columnDependentsOf(key, desiredColumn)),
  ];
  // Without a column (the table is dropped), its own policies go with it.
  const own = ` on ${qualified(table.schema, table.name)}`;
  return [...new Set(found.filter((k) => keep.has(k) && (column !== undefined || !k.endsWith(own))))].sort();
}

/**
 * The policies `keys` (see `policiesReading`) dropped before a column change and created again
 * after it, in its transaction, as the desired state has them; taken out of the rest of the policy
 * planning (`ctx.rebuiltPolicies`). CREATE POLICY takes ACCESS EXCLUSIVE on the policy's table (and
 * ACCESS SHARE on what a subquery reads), DROP POLICY ACCESS EXCLUSIVE and ACCESS SHARE
 * (../shared/pg-locks.md). Undefined when there is none.
 */
export function rebuildPolicies(ctx: PlanContext, keys: readonly string[]): PolicyRebuild | undefined {
  const wanted = new Set(keys);
  const desired = policyEntries(ctx.desired).filter((e) => wanted.has(e.key));
  if (desired.length === 0) return undefined;
  const live = policyEntries(ctx.live).filter((e) => wanted.has(e.key));
  for (const e of desired) ctx.rebuiltPolicies.add(e.key);
  const tables = [...new Map(desired.map((e) => [qualifiedRef(e.table), e.table])).values()];
  const own = new Set(tables.map((t) => qualified(t.schema, t.name)));
  return {
    drop: live.map((e) => dropPolicySql(e.table, e.policy.name)),
    create: desired.flatMap((e) => createPolicyStatements(e.table, e.policy)),
    locks: [
      ...tables.map((t) => lock(t, 'ACCESS EXCLUSIVE')),
      ...desired.flatMap((e) => policyReadLocks(ctx, e.table, e.policy.name)).filter((l) => !own.has(l.relation)),
    ],
    tables,
    edit: (m) => desired.reduce((out, e) => withPolicy(out, e.table, e.policy.name, e.policy), m),
    note: `${desired.map((e) => e.key).join(', ')} dropped and created again around it`,
  };
}
