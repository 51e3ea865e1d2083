/**
 * Type spellings. The model holds the form `format_type()` prints (with an empty search_path);
 * people write aliases (`varchar(200)`, `timestamptz`, `int8`). `canonicalType` maps a written type to
 * the model's form without a server; `displayType` picks the short spelling `zdm pull` writes.
 * Types this table does not know (domains, enums, extension types) pass through unchanged.
 */
import { quoteIdent } from '../sql/quote.js';

const SIMPLE: Readonly<Record<string, string>> = {
  int: 'integer',
  int4: 'integer',
  integer: 'integer',
  int2: 'smallint',
  smallint: 'smallint',
  int8: 'bigint',
  bigint: 'bigint',
  float4: 'real',
  real: 'real',
  float8: 'double precision',
  float: 'double precision',
  'double precision': 'double precision',
  bool: 'boolean',
  boolean: 'boolean',
  text: 'text',
  uuid: 'uuid',
  json: 'json',
  jsonb: 'jsonb',
  bytea: 'bytea',
  date: 'date',
  inet: 'inet',
  cidr: 'cidr',
  macaddr: 'macaddr',
  money: 'money',
  oid: 'oid',
  xml: 'xml',
  tsvector: 'tsvector',
  tsquery: 'tsquery',
  point: 'point',
  interval: 'interval',
  bpchar: 'bpchar',
  varchar: 'character varying',
  'character varying': 'character varying',
  varbit: 'bit varying',
  'bit varying': 'bit varying',
  decimal: 'numeric',
  numeric: 'numeric',
  char: 'character(1)',
  character: 'character(1)',
  bit: 'bit(1)',
  timestamptz: 'timestamp with time zone',
  'timestamp with time zone': 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  'timestamp without time zone': 'timestamp without time zone',
  timetz: 'time with time zone',
  'time with time zone': 'time with time zone',
  time: 'time without time zone',
  'time without time zone': 'time without time zone',
};

/** Types written with a modifier: name(args) → canonical prefix, and where the modifier goes. */
const WITH_MODIFIER: Readonly<Record<string, (mod: string) => string>> = {
  varchar: (m) => `character varying(${m})`,
  'character varying': (m) => `character varying(${m})`,
  char: (m) => `character(${m})`,
  character: (m) => `character(${m})`,
  bpchar: (m) => `character(${m})`,
  bit: (m) => `bit(${m})`,
  varbit: (m) => `bit varying(${m})`,
  'bit varying': (m) => `bit varying(${m})`,
  numeric: (m) => `numeric(${m})`,
  decimal: (m) => `numeric(${m})`,
  timestamptz: (m) => `timestamp(${m}) with time zone`,
  'timestamp with time zone': (m) => `timestamp(${m}) with time zone`,
  timestamp: (m) => `timestamp(${m}) without time zone`,
  'timestamp without time zone': (m) => `timestamp(${m}) without time zone`,
  timetz: (m) => `time(${m}) with time zone`,
  'time with time zone': (m) => `time(${m}) with time zone`,
  time: (m) => `time(${m}) without time zone`,
  'time without time zone': (m) => `time(${m}) without time zone`,
  interval: (m) => `interval(${m})`,
  // float(p) is SQL's binary precision: PostgreSQL maps 1–24 to real and 25–53 to double precision.
  float: (m) => (/^\d+$/.test(m) && Number(m) <= 24 ? 'real' : 'double precision'),
};

const SERIAL = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

export function isSerialPseudoType(written: string): boolean {
  return SERIAL.has(written.trim().toLowerCase());
}

/**
 * True for a (case-folded) name this module maps to a built-in type (`int4`, `text`, `serial`):
 * written bare, it means the built-in even when a schema has a type of that name, because
 * pg_catalog comes first in every search_path.
 */
export function isBuiltinTypeName(name: string): boolean {
  return Object.hasOwn(SIMPLE, name) || SERIAL.has(name);
}

function canonicalScalar(t: string): string {
  const s = t.trim().replace(/\s+/g, ' ');
  if (s.includes('"')) return canonicalName(s);
  // `timestamp(3) with time zone` written the long way round
  const long = /^(timestamp|time)\s*\(\s*(\d+)\s*\)\s+(with|without) time zone$/i.exec(s);
  if (long) return `${long[1]!.toLowerCase()}(${long[2]}) ${long[3]!.toLowerCase()} time zone`;
  const mod = /^([a-z ]+?)\s*\(\s*([^)]*?)\s*\)$/i.exec(s);
  if (mod) {
    const f = WITH_MODIFIER[mod[1]!.toLowerCase()];
    if (f) return f(mod[2]!.replace(/\s*,\s*/g, ','));
    return s;
  }
  return SIMPLE[s.toLowerCase()] ?? canonicalName(s);
}

/** A type this table does not know: fold and quote its name the way `format_type()` prints it. */
function canonicalName(s: string): string {
  const parts = parseIdentifierChain(s);
  if (!parts) return s.includes('"') ? s : s.toLowerCase();
  if (parts.length === 2 && parts[0] === 'pg_catalog') {
    const inner = parts[1]!;
    return SIMPLE[inner] ?? quoteIdent(inner);
  }
  return parts.map(quoteIdent).join('.');
}

/** Maps a type as a person writes it to the model's canonical spelling. */
export function canonicalType(written: string): string {
  let s = written.trim();
  let dims = 0;
  for (;;) {
    const m = /\s*\[\s*\d*\s*\]$/.exec(s);
    if (!m) break;
    dims++;
    s = s.slice(0, m.index);
  }
  const arr = /^(.*?)\s+array$/i.exec(s);
  if (arr) {
    s = arr[1]!;
    dims = Math.max(dims, 1);
  }
  // PostgreSQL does not record array dimensions in the type: `int[][]` is `integer[]`.
  return canonicalScalar(s) + (dims > 0 ? '[]' : '');
}

const DISPLAY: ReadonlyArray<readonly [RegExp, string]> = [
  [/^character varying\((\d+)\)/, 'varchar($1)'],
  [/^character varying/, 'varchar'],
  [/^timestamp\((\d+)\) with time zone/, 'timestamptz($1)'],
  [/^timestamp with time zone/, 'timestamptz'],
  [/^timestamp\((\d+)\) without time zone/, 'timestamp($1)'],
  [/^timestamp without time zone/, 'timestamp'],
  [/^time\((\d+)\) with time zone/, 'timetz($1)'],
  [/^time with time zone/, 'timetz'],
  [/^time\((\d+)\) without time zone/, 'time($1)'],
  [/^time without time zone/, 'time'],
  [/^character\((\d+)\)/, 'char($1)'],
];

/** The short spelling of a canonical type, for YAML written by `zdm pull`. Inverse of canonicalType. */
export function displayType(canonical: string): string {
  for (const [re, repl] of DISPLAY) {
    if (re.test(canonical)) return canonical.replace(re, repl);
  }
  return canonical;
}

/**
 * Splits `schema.name`, `"Mixed Case".x` or `name` into the names PostgreSQL would look up: unquoted
 * parts folded to lower case (ASCII only, as PostgreSQL does), quoted parts verbatim. Undefined when
 * the text is not a dotted chain of identifiers.
 */
export function parseIdentifierChain(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  for (;;) {
    if (s[i] === '"') {
      let name = '';
      i++;
      for (;;) {
        const q = s.indexOf('"', i);
        if (q < 0) return undefined;
        name += s.slice(i, q);
        if (s[q + 1] === '"') {
          name += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (name === '') return undefined;
      parts.push(name);
    } else {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(s.slice(i));
      if (!m) return undefined;
      parts.push(m[0].replace(/[A-Z]+/g, (c) => c.toLowerCase()));
      i += m[0].length;
    }
    if (i === s.length) return parts;
    if (s[i] !== '.') return undefined;
    i++;
  }
}
