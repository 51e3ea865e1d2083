/** Defaults PostgreSQL applies, which the loader fills in and the writer leaves out. */
import { identifierBytes, MAX_IDENTIFIER_BYTES } from '../model/names.js';

/** PostgreSQL's makeObjectName: the table name is clipped (at a character boundary) to fit `_pkey`. */
export function defaultPrimaryKeyName(relation: string): string {
  const room = MAX_IDENTIFIER_BYTES - '_pkey'.length;
  let name = relation;
  while (identifierBytes(name) > room) name = Array.from(name).slice(0, -1).join('');
  return `${name}_pkey`;
}

export { SEQUENCE_TYPE_RANGES, sequenceDefaults } from '../model/identity.js';
