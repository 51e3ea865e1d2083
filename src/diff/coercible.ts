/**
 * Type changes PostgreSQL makes without rewriting the table or rebuilding its indexes: the new type
 * is binary-coercible from the old and any length/precision check can only accept more values.
 * Both types are canonical (`format_type()` spellings, see src/model/types-text.ts).
 */

interface Parsed {
  readonly base: string;
  /** Type modifiers, e.g. [10, 2] for numeric(10,2); absent: unconstrained. */
  readonly mods?: readonly number[];
  readonly suffix: string;
}

function parse(t: string): Parsed {
  // timestamp(3) with time zone, time(3) without time zone
  const tz = /^(timestamp|time)(?:\((\d+)\))? (with|without) time zone$/.exec(t);
  if (tz) {
    const base = tz[1]!;
    const suffix = `${tz[3]} time zone`;
    return tz[2] === undefined ? { base, suffix } : { base, mods: [Number(tz[2])], suffix };
  }
  const m = /^([a-z ]+?)(?:\(([\d,]+)\))?$/.exec(t);
  if (!m) return { base: t, suffix: '' };
  const base = m[1]!;
  return m[2] === undefined ? { base, suffix: '' } : { base, mods: m[2].split(',').map(Number), suffix: '' };
}

/** Largest precision of the datetime types: an unconstrained one accepts up to 6 fractional digits. */
const MAX_FRACTION = 6;

/**
 * True when `ALTER COLUMN … TYPE to` on a column of type `from` is a catalog-only change:
 * varchar(n) → varchar(m ≥ n), varchar or text; text ↔ varchar; numeric(p,s) → numeric(p' ≥ p,s) or
 * numeric; timestamp/timestamptz/time/timetz/interval precision up; varbit(n) → varbit(m ≥ n);
 * cidr → inet.
 */
export function isBinaryCoercible(from: string, to: string): boolean {
  if (from === to) return true;
  if (from === 'cidr' && to === 'inet') return true;
  const a = parse(from);
  const b = parse(to);
  const textual = (p: Parsed) => p.base === 'text' || p.base === 'character varying';
  if (textual(a) && textual(b) && a.suffix === '' && b.suffix === '') {
    if (b.base === 'text' || b.mods === undefined) return true;
    // text or unconstrained varchar → varchar(m) adds a length check: rows must be read.
    if (a.base === 'text' || a.mods === undefined) return false;
    return b.mods[0]! >= a.mods[0]!;
  }
  if (a.base !== b.base || a.suffix !== b.suffix) return false;
  switch (a.base) {
    case 'numeric': {
      if (b.mods === undefined) return true;
      if (a.mods === undefined) return false;
      const [p1, s1 = 0] = a.mods;
      const [p2, s2 = 0] = b.mods;
      return s1 === s2 && p2! >= p1!;
    }
    case 'timestamp':
    case 'time':
    case 'interval': {
      const p1 = a.mods?.[0] ?? MAX_FRACTION;
      const p2 = b.mods?.[0] ?? MAX_FRACTION;
      return p2 >= p1;
    }
    case 'bit varying': {
      if (b.mods === undefined) return true;
      if (a.mods === undefined) return false;
      return b.mods[0]! >= a.mods[0]!;
    }
    default:
      return false;
  }
}
