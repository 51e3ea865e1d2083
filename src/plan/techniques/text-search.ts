/**
 * Text search configurations: created in expand after the extensions whose parsers and
 * dictionaries they use and before the columns, indexes and views that name them; their mappings
 * and comment changed in place in expand; dropped in contract after the tables, indexes and views
 * that used them. No table is locked (catalog rows of their own).
 */
import type {
  AlterTextSearchConfiguration,
  CreateTextSearchConfiguration,
  DropTextSearchConfiguration,
} from '../../diff/changes.js';
import { qualified } from '../../model/names.js';
import { mappingChanges } from '../../model/text-search.js';
import type { DatabaseModel, TextSearchConfiguration } from '../../model/types.js';
import {
  alterTextSearchMappingsSql,
  commentTextSearchConfigurationSql,
  createTextSearchConfigurationSql,
  dropTextSearchConfigurationSql,
} from '../../sql/text-search.js';
import { at, type PlanContext, sqlStep, type Touch } from '../context.js';
import { mapSchema } from '../model-edit.js';

const touch = (schema: string, name: string): Touch => ({ kind: 'textSearchConfiguration', schema, name });

function put(m: DatabaseModel, schema: string, c: TextSearchConfiguration): DatabaseModel {
  return mapSchema(m, schema, (s) => ({
    ...s,
    textSearchConfigurations: [...(s.textSearchConfigurations ?? []).filter((x) => x.name !== c.name), c],
  }));
}

export function planCreateTextSearchConfiguration(ctx: PlanContext, ch: CreateTextSearchConfiguration): void {
  ctx.add(
    at.expand('textSearch'),
    sqlStep(
      `create text search configuration ${qualified(ch.schema, ch.config.name)}`,
      createTextSearchConfigurationSql(ch.schema, ch.config),
    ),
    (m) => put(m, ch.schema, ch.config),
    [touch(ch.schema, ch.config.name)],
  );
}

export function planAlterTextSearchConfiguration(ctx: PlanContext, ch: AlterTextSearchConfiguration): void {
  const change = mappingChanges(ch.from.mappings, ch.to.mappings);
  const sql = [
    ...alterTextSearchMappingsSql(ch.schema, ch.to, change),
    ...(ch.from.comment !== ch.to.comment
      ? [commentTextSearchConfigurationSql(ch.schema, ch.to.name, ch.to.comment)]
      : []),
  ];
  const what = [
    ...(change.add.length > 0 ? [`add mapping for ${change.add.join(', ')}`] : []),
    ...(change.alter.length > 0 ? [`alter mapping for ${change.alter.join(', ')}`] : []),
    ...(change.drop.length > 0 ? [`drop mapping for ${change.drop.join(', ')}`] : []),
    ...(ch.from.comment !== ch.to.comment ? ['comment'] : []),
  ];
  ctx.add(
    at.expand('textSearch'),
    sqlStep(`alter text search configuration ${qualified(ch.schema, ch.to.name)}: ${what.join('; ')}`, sql),
    (m) => put(m, ch.schema, ch.to),
    [touch(ch.schema, ch.to.name)],
  );
}

export function planDropTextSearchConfiguration(ctx: PlanContext, ch: DropTextSearchConfiguration): void {
  ctx.add(
    at.contract('dropTextSearch'),
    sqlStep(`drop text search configuration ${qualified(ch.schema, ch.config.name)}`, [
      dropTextSearchConfigurationSql(ch.schema, ch.config.name),
    ]),
    (m) =>
      mapSchema(m, ch.schema, (s) => ({
        ...s,
        textSearchConfigurations: (s.textSearchConfigurations ?? []).filter((x) => x.name !== ch.config.name),
      })),
    [touch(ch.schema, ch.config.name)],
  );
}
