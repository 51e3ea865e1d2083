/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; zdm rejects longer names instead. */
export const MAX_IDENTIFIER_BYTES = 63;

export function identifierBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

export function isTooLong(name: string): boolean {
  return identifierBytes(name) > MAX_IDENTIFIER_BYTES;
}

/** The first `maxBytes` bytes of `text`, cut at a character boundary. */
export function clipUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * The name PostgreSQL gives an object it names itself (makeObjectName in its indexcmds.c):
 * `name1_name2_label`, the longer of name1 and name2 clipped a byte at a time until it fits in 63
 * bytes, each at a character boundary. `t_pkey`, `t_c_not_null`, `t_c_key`. (PostgreSQL appends a
 * number when the name is taken; a caller that needs that must check.)
 */
export function makeObjectName(name1: string, name2: string | undefined, label: string): string {
  const overhead = (name2 === undefined ? 0 : 1) + label.length + 1;
  const avail = MAX_IDENTIFIER_BYTES - overhead;
  let n1 = identifierBytes(name1);
  let n2 = name2 === undefined ? 0 : identifierBytes(name2);
  while (n1 + n2 > avail) {
    if (n1 > n2) n1--;
    else n2--;
  }
  const parts = [clipUtf8(name1, n1), ...(name2 === undefined ? [] : [clipUtf8(name2, n2)]), label];
  return parts.join('_');
}

/** Qualified display name `schema.name`, quoting neither part (for messages, not SQL). */
export function qualified(schema: string, name: string): string {
  return `${schema}.${name}`;
}

/** `schema.name` of a relation for messages (neither part quoted). */
export function qualifiedRef(r: { readonly schema: string; readonly name: string }): string {
  return qualified(r.schema, r.name);
}
