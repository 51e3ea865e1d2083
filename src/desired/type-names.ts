import { canonicalType, displayType, isBuiltinTypeName, parseIdentifierChain } from '../model/types-text.js';
import { qualifiedName, quoteIdent } from '../sql/quote.js';

/**
 * The canonical type of a written one, where a bare name of an enum or domain declared in the same
 * schema becomes `schema.name` (what `format_type()` prints with an empty search_path).
 */
export function resolveTypeName(schema: string, written: string, userTypes: ReadonlySet<string>): string {
  const canonical = canonicalType(written);
  const { base, array } = splitArray(canonical);
  const parts = parseIdentifierChain(base);
  if (parts?.length === 1 && !isBuiltinTypeName(parts[0]!) && userTypes.has(parts[0]!)) {
    return qualifiedName(schema, parts[0]!) + array;
  }
  return canonical;
}

/** The spelling `zdm pull` writes: short aliases, and a type of the column's own schema unqualified. */
export function writtenTypeName(schema: string, canonical: string, userTypes: ReadonlySet<string>): string {
  const { base, array } = splitArray(canonical);
  const parts = parseIdentifierChain(base);
  const candidates: string[] = [];
  if (parts?.length === 2 && parts[0] === schema && userTypes.has(parts[1]!)) {
    candidates.push(quoteIdent(parts[1]!) + array);
  }
  candidates.push(displayType(canonical), canonical);
  // Only a spelling that reads back as the same type will do.
  return candidates.find((c) => resolveTypeName(schema, c, userTypes) === canonical) ?? canonical;
}

function splitArray(t: string): { base: string; array: string } {
  return t.endsWith('[]') ? { base: t.slice(0, -2), array: '[]' } : { base: t, array: '' };
}
