/**
 * Casts (database-wide): created in expand after the functions and types they use, before the
 * tables, views and SQL-standard bodies that may use them; a changed method, function or context
 * is a DROP CAST and CREATE CAST in one transaction (PostgreSQL has no ALTER CAST), in expand too; a
 * comment changed in place; dropped in contract before the functions and types they use. None of
 * these locks a table: CREATE CAST locks nothing, DROP CAST only the pg_cast row
 * (test/integration/object-kind-locks.test.ts).
 */
import type { CommentCast, CreateCast, DropCast, ReplaceCast } from '../../diff/changes.js';
import { castKey, castName } from '../../model/casts.js';
import type { Cast, DatabaseModel } from '../../model/types.js';
import { commentCastSql, createCastSql, dropCastSql } from '../../sql/casts.js';
import { at, type PlanContext, sqlStep, type Touch } from '../context.js';

const touch = (c: Cast): Touch => ({ kind: 'cast', name: castName(c), key: castKey(c) });

function without(m: DatabaseModel, c: Cast): DatabaseModel {
  const casts = (m.casts ?? []).filter((x) => castKey(x) !== castKey(c));
  const { casts: _c, ...rest } = m;
  return casts.length > 0 ? { ...rest, casts } : rest;
}

const put = (m: DatabaseModel, c: Cast): DatabaseModel => ({ ...m, casts: [...(without(m, c).casts ?? []), c] });

export function planCreateCast(ctx: PlanContext, ch: CreateCast): void {
  ctx.add(
    at.expand('casts'),
    sqlStep(`create cast ${castName(ch.cast)}`, createCastSql(ch.cast)),
    (m) => put(m, ch.cast),
    [touch(ch.cast)],
  );
}

export function planReplaceCast(ctx: PlanContext, ch: ReplaceCast): void {
  ctx.add(
    at.expand('casts'),
    sqlStep(`replace cast ${castName(ch.to)}`, [dropCastSql(ch.from), ...createCastSql(ch.to)]),
    (m) => put(m, ch.to),
    [touch(ch.to)],
  );
}

export function planCommentCast(ctx: PlanContext, ch: CommentCast): void {
  ctx.add(
    at.expand('comments'),
    sqlStep(`${ch.to.comment === undefined ? 'remove' : 'set'} comment on cast ${castName(ch.to)}`, [
      commentCastSql(ch.to, ch.to.comment),
    ]),
    (m) => put(m, ch.to),
    [touch(ch.to)],
  );
}

export function planDropCast(ctx: PlanContext, ch: DropCast): void {
  ctx.add(
    at.contract('dropCasts'),
    sqlStep(`drop cast ${castName(ch.cast)}`, [dropCastSql(ch.cast)]),
    (m) => without(m, ch.cast),
    [touch(ch.cast)],
  );
}
