/**
 * Text search configurations: CREATE, the mappings (ADD / ALTER / DROP MAPPING), DROP and COMMENT
 * ON. Names go through quote.ts; dictionaries are the server's own text (`regdictionary`).
 */
import type { TextSearchConfiguration } from '../model/types.js';
import { commentOnSql } from './comments.js';
import { qualifiedName, quoteIdent } from './quote.js';

const configName = (schema: string, name: string): string => qualifiedName(schema, name);

/** `pg_catalog."default"` for `default`, `s.p` for `s.p`. */
function parserName(parser: string): string {
  const dot = parser.indexOf('.');
  return dot < 0 ? `pg_catalog.${quoteIdent(parser)}` : qualifiedName(parser.slice(0, dot), parser.slice(dot + 1));
}

/** Token types grouped by their dictionary list, in order: one statement per list. */
function byDictionaries(
  mappings: TextSearchConfiguration['mappings'],
  tokens: readonly string[],
): [string[], string][] {
  const groups = new Map<string, string[]>();
  for (const t of tokens) {
    const dicts = mappings[t]!.join(', ');
    groups.set(dicts, [...(groups.get(dicts) ?? []), t]);
  }
  return [...groups].map(([dicts, ts]) => [ts, dicts]);
}

function mappingSql(
  schema: string,
  c: TextSearchConfiguration,
  action: 'ADD' | 'ALTER',
  tokens: readonly string[],
): string[] {
  return byDictionaries(c.mappings, tokens).map(
    ([ts, dicts]) =>
      `ALTER TEXT SEARCH CONFIGURATION ${configName(schema, c.name)} ${action} MAPPING FOR ${ts.map(quoteIdent).join(', ')} WITH ${dicts}`,
  );
}

/** `CREATE TEXT SEARCH CONFIGURATION s.n (PARSER = p)`, its mappings and its comment. */
export function createTextSearchConfigurationSql(schema: string, c: TextSearchConfiguration): string[] {
  return [
    `CREATE TEXT SEARCH CONFIGURATION ${configName(schema, c.name)} (PARSER = ${parserName(c.parser)})`,
    ...mappingSql(schema, c, 'ADD', Object.keys(c.mappings).sort()),
    ...(c.comment !== undefined ? [commentTextSearchConfigurationSql(schema, c.name, c.comment)] : []),
  ];
}

/** The mapping statements that turn `from`'s mappings into `to`'s. */
export function alterTextSearchMappingsSql(
  schema: string,
  to: TextSearchConfiguration,
  change: { readonly add: readonly string[]; readonly alter: readonly string[]; readonly drop: readonly string[] },
): string[] {
  return [
    ...(change.drop.length > 0
      ? [
          `ALTER TEXT SEARCH CONFIGURATION ${configName(schema, to.name)} DROP MAPPING FOR ${change.drop.map(quoteIdent).join(', ')}`,
        ]
      : []),
    ...mappingSql(schema, to, 'ALTER', change.alter),
    ...mappingSql(schema, to, 'ADD', change.add),
  ];
}

export function dropTextSearchConfigurationSql(schema: string, name: string): string {
  return `DROP TEXT SEARCH CONFIGURATION ${configName(schema, name)}`;
}

export function commentTextSearchConfigurationSql(schema: string, name: string, text: string | undefined): string {
  return commentOnSql(`TEXT SEARCH CONFIGURATION ${configName(schema, name)}`, text);
}
