/** `ALTER <kind> … OWNER TO role` (issue 12). */
import type { OwnerTarget } from '../model/owners.js';
import { qualifiedName, quoteIdent } from './quote.js';
import { routineObject } from './routines.js';

const KEYWORDS = {
  table: 'TABLE',
  sequence: 'SEQUENCE',
  view: 'VIEW',
  materializedView: 'MATERIALIZED VIEW',
  enum: 'TYPE',
  compositeType: 'TYPE',
  domain: 'DOMAIN',
} as const;

export function alterOwnerSql(on: OwnerTarget, role: string): string {
  const object =
    on.kind === 'schema'
      ? `SCHEMA ${quoteIdent(on.name)}`
      : on.kind === 'function' || on.kind === 'procedure'
        ? routineObject(on)
        : `${KEYWORDS[on.kind]} ${qualifiedName(on.schema, on.name)}`;
  return `ALTER ${object} OWNER TO ${quoteIdent(role)}`;
}
