/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; zdm rejects longer names instead. */
export const MAX_IDENTIFIER_BYTES = 63;

export function identifierBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

export function isTooLong(name: string): boolean {
  return identifierBytes(name) > MAX_IDENTIFIER_BYTES;
}

/** Qualified display name `schema.name`, quoting neither part (for messages, not SQL). */
export function qualified(schema: string, name: string): string {
  return `${schema}.${name}`;
}

/** `schema.name` of a relation for messages (neither part quoted). */
export function qualifiedRef(r: { readonly schema: string; readonly name: string }): string {
  return qualified(r.schema, r.name);
}
