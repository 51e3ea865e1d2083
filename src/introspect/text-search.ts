/** Text search configurations: their catalog query (the conventions of queries.ts) and parse. */
import type { TextSearchConfiguration } from '../model/types.js';
import { description, notExtensionMember, SYSTEM_SCHEMAS, USER_SCHEMAS } from './queries.js';

export interface TextSearchConfigurationRow {
  readonly schema: string;
  readonly name: string;
  /** `default` for pg_catalog's parser, else `schema.name` (neither part quoted). */
  readonly parser: string;
  /** Token type alias → dictionaries in order (regdictionary text under an empty search_path). */
  readonly mappings: Record<string, string[]> | null;
  readonly comment: string | null;
}

export const TEXT_SEARCH_CONFIGURATIONS_SQL = `SELECT n.nspname AS schema, c.cfgname AS name,
  CASE WHEN pn.nspname = 'pg_catalog' THEN p.prsname::pg_catalog.text ELSE pn.nspname || '.' || p.prsname END AS parser,
  (SELECT pg_catalog.json_object_agg(t.alias, m.dicts ORDER BY t.alias)
    FROM (SELECT cm.maptokentype, pg_catalog.array_agg(cm.mapdict::pg_catalog.regdictionary::pg_catalog.text ORDER BY cm.mapseqno) AS dicts
      FROM pg_catalog.pg_ts_config_map cm WHERE cm.mapcfg = c.oid GROUP BY cm.maptokentype) m
    JOIN pg_catalog.ts_token_type(c.cfgparser) t ON t.tokid = m.maptokentype) AS mappings,
  ${description('pg_ts_config', 'c.oid')} AS comment
FROM pg_catalog.pg_ts_config c
JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
JOIN pg_catalog.pg_ts_parser p ON p.oid = c.cfgparser
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace
WHERE ${SYSTEM_SCHEMAS} AND ${USER_SCHEMAS} AND ${notExtensionMember('pg_ts_config', 'c.oid')}
ORDER BY n.nspname, c.cfgname`;

export function parseTextSearchConfiguration(row: TextSearchConfigurationRow): TextSearchConfiguration {
  return {
    kind: 'textSearchConfiguration',
    name: row.name,
    parser: row.parser,
    mappings: row.mappings ?? {},
    ...(row.comment !== null ? { comment: row.comment } : {}),
  };
}
