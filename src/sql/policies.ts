/** Row level security policies: CREATE / ALTER / DROP POLICY and their comments (issue 12). */
import type { Policy } from '../model/types.js';
import { commentOnSql } from './comments.js';
import { parenthesized } from './fragments.js';
import { quoteIdent, type RelationName, rel } from './quote.js';
import { roundTripText } from './round-trip.js';

/** `TO …`: `public` is the PUBLIC pseudo-role; other names are quoted as identifiers. */
export function policyRolesSql(roles: readonly string[] | undefined): string {
  return (roles ?? ['public']).map((r) => (r === 'public' ? 'PUBLIC' : quoteIdent(r))).join(', ');
}

export function createPolicySql(table: RelationName, p: Policy): string {
  let sql = `CREATE POLICY ${quoteIdent(p.name)} ON ${rel(table)}`;
  if (p.restrictive) sql += ' AS RESTRICTIVE';
  if (p.command !== undefined) sql += ` FOR ${p.command.toUpperCase()}`;
  if (p.roles !== undefined) sql += ` TO ${policyRolesSql(p.roles)}`;
  if (p.using !== undefined) sql += ` USING ${parenthesized(roundTripText(p.using))}`;
  if (p.withCheck !== undefined) sql += ` WITH CHECK ${parenthesized(roundTripText(p.withCheck))}`;
  return sql;
}

/**
 * `ALTER POLICY … TO … USING … WITH CHECK …`: roles and expressions in place. An expression can be
 * replaced but not removed this way, and neither the command nor PERMISSIVE/RESTRICTIVE can change.
 */
export function alterPolicySql(table: RelationName, from: Policy, to: Policy): string {
  let sql = `ALTER POLICY ${quoteIdent(to.name)} ON ${rel(table)}`;
  if (JSON.stringify(from.roles ?? null) !== JSON.stringify(to.roles ?? null)) sql += ` TO ${policyRolesSql(to.roles)}`;
  if (to.using !== undefined && to.using !== from.using) sql += ` USING ${parenthesized(roundTripText(to.using))}`;
  if (to.withCheck !== undefined && to.withCheck !== from.withCheck) {
    sql += ` WITH CHECK ${parenthesized(roundTripText(to.withCheck))}`;
  }
  return sql;
}

export function dropPolicySql(table: RelationName, name: string): string {
  return `DROP POLICY ${quoteIdent(name)} ON ${rel(table)}`;
}

export function policyCommentSql(table: RelationName, name: string, text: string | undefined): string {
  return commentOnSql(`POLICY ${quoteIdent(name)} ON ${rel(table)}`, text);
}
