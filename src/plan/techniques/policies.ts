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
 */
import type { AlterPolicy, CreatePolicy, DropPolicy, RelationRef } from '../../diff/changes.js';
import { qualifiedRef } from '../../model/names.js';
import type { DatabaseModel, Policy, Table } from '../../model/types.js';
import { alterPolicySql, createPolicySql, dropPolicySql, policyCommentSql } from '../../sql/policies.js';
import { at, lock, type PlanContext, sqlStep, tableTouch } from '../context.js';
import { mapTable, removeNamed } from '../model-edit.js';

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

function createSql(table: RelationRef, p: Policy): string[] {
  return [createPolicySql(table, p), ...(p.comment !== undefined ? [policyCommentSql(table, p.name, p.comment)] : [])];
}

export function planCreatePolicy(ctx: PlanContext, ch: CreatePolicy): void {
  const { table, policy } = ch;
  ctx.add(
    at.expand('policies'),
    sqlStep(`create policy ${policy.name} on ${qualifiedRef(table)}`, createSql(table, policy), {
      locks: [lock(table, 'ACCESS EXCLUSIVE')],
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
    sql = [dropPolicySql(table, from.name), ...createSql(table, to)];
  }
  // COMMENT ON POLICY alone takes ACCESS SHARE (measured: test/integration/policy-locks.test.ts).
  ctx.add(
    at.expand('policies'),
    sqlStep(summary, sql, { locks: [lock(table, shapeChanges ? 'ACCESS EXCLUSIVE' : 'ACCESS SHARE')] }),
    (m) => withPolicy(m, table, to.name, to),
    [tableTouch(table)],
  );
}
