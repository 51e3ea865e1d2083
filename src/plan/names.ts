/**
 * Every name zdm makes up (helper checks, replacement indexes, partition indexes) comes from here:
 * within PostgreSQL's 63-byte limit, readable, and never equal to a name already taken.
 */
import { createHash } from 'node:crypto';
import { clipUtf8, MAX_IDENTIFIER_BYTES } from '../model/names.js';

/**
 * `<parts joined by _>_<role>`; when that is longer than 63 bytes, the joined parts are cut and an
 * 8-hex-digit hash of the full name keeps it distinct: `<cut parts>_<hash>_<role>`.
 */
export function generatedName(parts: readonly string[], role: string): string {
  const full = `${parts.join('_')}_${role}`;
  if (Buffer.byteLength(full, 'utf8') <= MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const tail = `_${hash}_${role}`;
  return clipUtf8(parts.join('_'), MAX_IDENTIFIER_BYTES - Buffer.byteLength(tail, 'utf8')) + tail;
}

/** `generatedName(parts, role)`, or with role `role2`, `role3`… until the name is not in `taken`. */
export function freshName(parts: readonly string[], role: string, taken: ReadonlySet<string>): string {
  let name = generatedName(parts, role);
  for (let n = 2; taken.has(name); n++) name = generatedName(parts, `${role}${n}`);
  return name;
}

/**
 * Role of the `CHECK (c IS NOT NULL)` helper of the NOT NULL recipe: `<table>_<column>_zdm_not_null`.
 * Not `_not_null`: PostgreSQL 18 names the NOT NULL constraint that SET NOT NULL makes
 * `<table>_<column>_not_null`, and with the helper holding that name it would take `…_not_null1`.
 */
export const NOT_NULL_HELPER_ROLE = 'zdm_not_null';

/** Name of the `CHECK (c IS NOT NULL)` helper of the NOT NULL recipe (see NOT_NULL_HELPER_ROLE). */
export function notNullCheckName(table: string, column: string, taken: ReadonlySet<string>): string {
  return freshName([table, column], NOT_NULL_HELPER_ROLE, taken);
}

/** A file-name-safe slug: lower case, words joined by `-`, at most 60 characters. */
export function slugify(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return s === '' ? 'plan' : s;
}
