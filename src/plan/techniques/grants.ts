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
import { grantKey } from '../../model/grants.js';
import type { Grant } from '../../model/types.js';
import { grantSql, revokeSql } from '../../sql/grants.js';
import { at, type PlanContext, sqlStep, type Touch, tableTouch } from '../context.js';

const touchOf = (on: GrantTarget): Touch =>
  on.kind === 'schema'
    ? { kind: 'schema', name: on.name }
    : on.kind === 'sequence'
      ? { kind: 'sequence', schema: on.schema, name: on.name }
      : tableTouch({ schema: on.schema, name: on.name });

const listed = (gs: readonly Grant[], word = 'to'): string =>
  gs
    .map((g) => `${g.privilege}${g.grantable && word === 'to' ? ' with grant option' : ''} ${word} ${g.grantee}`)
    .join(', ');

export function planChangeGrants(ctx: PlanContext, ch: ChangeGrants): void {
  const { on } = ch;
  const name = grantTargetName(on);
  if (ch.grant.length > 0) {
    ctx.add(at.expand('grants'), sqlStep(`grant ${listed(ch.grant)} on ${name}`, grantSql(on, ch.grant)), (m) => m, [
      touchOf(on),
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
    [touchOf(on)],
  );
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
