/** Defaults PostgreSQL applies, which the loader fills in and the writer leaves out. */
import { makeObjectName } from '../model/names.js';

/** PostgreSQL's makeObjectName: the table name is clipped (at a character boundary) to fit `_pkey`. */
export function defaultPrimaryKeyName(relation: string): string {
  return makeObjectName(relation, undefined, 'pkey');
}

export { SEQUENCE_TYPE_RANGES, sequenceDefaults } from '../model/identity.js';
