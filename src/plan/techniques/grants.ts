/**
 * Privileges (issue 12): grants in expand (group `grants`, after the objects they are on exist),
 * revokes in contract (group `revokes`, hazard `app-compat`: the old application version may still
 * use them). GRANT and REVOKE lock no relation (../shared/pg-locks.md; they change the ACL without a
 * relation lock).
 *
 * PostgreSQL's REVOKE of a table privilege also revokes that privilege on every column of the table:
 * the step that revokes it grants again, in the same transaction, the column privileges the desired
 * state keeps for that grantee.
 *
 * Privileges are not part of the fingerprints (src/model/canonical.ts): the steps' model edits
 * leave the model as it is, and the drift check does not see them.
 */
import { type ChangeGrants, type GrantTarget, grantTargetName } from '../../diff/changes.js';
import { grantChange } from '../../diff/grants.js';
import { grantKey } from '../../model/grants.js';
import { routineKey } from '../../model/routines.js';
import type { Grant } from '../../model/types.js';
import { grantSql, revokeSql } from '../../sql/grants.js';
import { at, type PlanContext, sqlStep, type Touch, tableTouch } from '../context.js';

function touchesOf(on: GrantTarget): Touch[] {
  // Default privileges belong to no object the drift check fingerprints.
  return on.kind === 'defaultPrivileges' ? [] : [touchOf(on)];
}

function touchOf(on: Exclude<GrantTarget, { kind: 'defaultPrivileges' }>): Touch {
  switch (on.kind) {
    case 'schema':
      return { kind: 'schema', name: on.name };
    case 'function':
    case 'procedure':
    case 'aggregate':
      return { kind: on.kind, schema: on.schema, name: on.name, key: routineKey(on) };
    case 'sequence':
    case 'enum':
    case 'domain':
    case 'compositeType':
      return { kind: on.kind, schema: on.schema, name: on.name };
    case 'table':
    case 'column':
      return tableTouch({ schema: on.schema, name: on.name });
  }
}

const listed = (gs: readonly Grant[], word = 'to'): string =>
  gs
    .map((g) => `${g.privilege}${g.grantable && word === 'to' ? ' with grant option' : ''} ${word} ${g.grantee}`)
    .join(', ');

export function planChangeGrants(ctx: PlanContext, ch: ChangeGrants): void {
  const { on } = ch;
  const name = grantTargetName(on);
  if (isNew(ctx, on)) {
    // A function or type the plan creates: what CREATE gave PUBLIC goes at once, in expand (no
    // application version relies on it yet), with the grants.
    const sql = [...revokeSql(on, ch.revoke), ...revokeSql(on, ch.revokeOption, true), ...grantSql(on, ch.grant)];
    if (sql.length > 0) {
      const what = [
        ...(ch.grant.length > 0 ? [`grant ${listed(ch.grant)}`] : []),
        ...(ch.revoke.length > 0 ? [`revoke ${listed(ch.revoke, 'from')}`] : []),
      ];
      ctx.add(at.expand('grants'), sqlStep(`${what.join(', ')} on new ${name}`, sql), (m) => m, touchesOf(on));
    }
    return;
  }
  if (ch.grant.length > 0) {
    ctx.add(at.expand('grants'), sqlStep(`grant ${listed(ch.grant)} on ${name}`, grantSql(on, ch.grant)), (m) => m, [
      ...touchesOf(on),
    ]);
  }
  if (ch.revoke.length + ch.revokeOption.length === 0) return;
  const sql = [...revokeSql(on, ch.revoke), ...revokeSql(on, ch.revokeOption, true)];
  if (on.kind === 'table') sql.push(...columnGrantsAgain(ctx, on.schema, on.name, ch.revoke));
  ctx.add(
    at.contract('revokes'),
    sqlStep(
      `revoke ${listed([...ch.revoke, ...ch.revokeOption.map((g) => ({ ...g, privilege: `grant option for ${g.privilege}` }))], 'from')} on ${name}`,
      sql,
      { hazards: ['app-compat'] },
    ),
    (m) => m,
    touchesOf(on),
  );
}

/** Whether `on` is a function, procedure or type the plan creates (it starts with PostgreSQL's default privileges). */
function isNew(ctx: PlanContext, on: GrantTarget): boolean {
  const s = ctx.live.schemas.find((x) => on.kind !== 'schema' && x.name === on.schema);
  switch (on.kind) {
    case 'function':
    case 'procedure':
      return !s?.functions.some((r) => routineKey(r) === routineKey(on));
    case 'enum':
      return !s?.enums.some((t) => t.name === on.name);
    case 'domain':
      return !s?.domains.some((t) => t.name === on.name);
    case 'compositeType':
      return !s?.compositeTypes.some((t) => t.name === on.name);
    default:
      return false;
  }
}

/** The desired column privileges a table-level REVOKE takes away with it, granted again. */
function columnGrantsAgain(ctx: PlanContext, schema: string, name: string, revoked: readonly Grant[]): string[] {
  const gone = new Set(revoked.map(grantKey));
  const table = ctx.desiredRelation({ schema, name });
  if (table === undefined || !('columns' in table)) return [];
  return table.columns.flatMap((c) => {
    const again = (c.grants ?? []).filter((g) => gone.has(grantKey(g)));
    return again.length > 0 ? grantSql({ kind: 'column', schema, name, column: c.name }, again) : [];
  });
}

/**
 * The statements that take a re-created object's privileges from what CREATE gave it (`from`) to
 * `to`: the desired ones where the desired state manages them, else the live ones it had before
 * (a function dropped and created again in contract must not lose its GRANTs nor regain PUBLIC).
 */
export function privilegesAgainSql(on: GrantTarget, from: readonly Grant[], to: readonly Grant[]): string[] {
  const c = grantChange(on, from, to);
  if (c === undefined || c.kind !== 'changeGrants') return [];
  return [...revokeSql(on, c.revoke), ...revokeSql(on, c.revokeOption, true), ...grantSql(on, c.grant)];
}
