/**
 * Collations: created in expand after the extensions and before the columns, indexes and types
 * that use them; a comment changed in place; dropped in contract after what used them. A changed
 * definition is refused by the diff (PostgreSQL cannot alter one: create it under another name and
 * move the columns to it, a collation change). No table is locked.
 */
import type { CommentCollation, CreateCollation, DropCollation } from '../../diff/changes.js';
import { qualified } from '../../model/names.js';
import type { Collation, DatabaseModel } from '../../model/types.js';
import { commentCollationSql, createCollationSql, dropCollationSql } from '../../sql/collations.js';
import { at, type PlanContext, sqlStep, type Touch } from '../context.js';
import { mapSchema } from '../model-edit.js';

const touch = (schema: string, name: string): Touch => ({ kind: 'collation', schema, name });

function put(m: DatabaseModel, schema: string, c: Collation): DatabaseModel {
  return mapSchema(m, schema, (s) => ({
    ...s,
    collations: [...(s.collations ?? []).filter((x) => x.name !== c.name), c],
  }));
}

export function planCreateCollation(ctx: PlanContext, ch: CreateCollation): void {
  ctx.add(
    at.expand('collations'),
    sqlStep(`create collation ${qualified(ch.schema, ch.collation.name)}`, createCollationSql(ch.schema, ch.collation)),
    (m) => put(m, ch.schema, ch.collation),
    [touch(ch.schema, ch.collation.name)],
  );
}

export function planCommentCollation(ctx: PlanContext, ch: CommentCollation): void {
  ctx.add(
    at.expand('comments'),
    sqlStep(
      `${ch.to.comment === undefined ? 'remove' : 'set'} comment on collation ${qualified(ch.schema, ch.to.name)}`,
      [commentCollationSql(ch.schema, ch.to.name, ch.to.comment)],
    ),
    (m) => put(m, ch.schema, ch.to),
    [touch(ch.schema, ch.to.name)],
  );
}

export function planDropCollation(ctx: PlanContext, ch: DropCollation): void {
  ctx.add(
    at.contract('dropCollations'),
    sqlStep(`drop collation ${qualified(ch.schema, ch.collation.name)}`, [
      dropCollationSql(ch.schema, ch.collation.name),
    ]),
    (m) =>
      mapSchema(m, ch.schema, (s) => ({
        ...s,
        collations: (s.collations ?? []).filter((x) => x.name !== ch.collation.name),
      })),
    [touch(ch.schema, ch.collation.name)],
  );
}
