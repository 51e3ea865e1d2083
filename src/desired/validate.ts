/**
 * Structural validation against schemas/desired-state.schema.json (the same file editors use), with
 * ajv's findings rewritten as located, human messages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { newAjv } from './ajv.js';
import type { DesiredIssue } from './errors.js';
import { formatPath, type PathSegment } from './paths.js';
import { didYouMean } from './suggest.js';
import type { ParsedDocument, Position } from './yaml-doc.js';

/** Absolute path of the JSON Schema of the desired-state format (shipped in the package's `schemas/`). */
export const DESIRED_STATE_SCHEMA_PATH = fileURLToPath(
  // src/desired/ and dist/desired/ are both two levels below the package root.
  new URL('../../schemas/desired-state.schema.json', import.meta.url),
);

/**
 * The validator `npm run build` compiles ahead of time (ajv's standalone code, next to the built
 * module: scripts/compile-validator.mjs), so that `zdm` does not load ajv and compile the schema on
 * every run (~150 ms). Absent when running from the sources: then it is compiled on first use.
 */
const PRECOMPILED_PATH = fileURLToPath(new URL('./desired-state.validate.cjs', import.meta.url));

let compiled: ValidateFunction | undefined;

/** ajv as the desired-state schema is compiled with, at run time or ahead of time (`source` for the latter). */
export function desiredStateAjv(options: { readonly source?: boolean } = {}): { ajv: Ajv; validate: ValidateFunction } {
  const schema = JSON.parse(readFileSync(DESIRED_STATE_SCHEMA_PATH, 'utf8')) as object;
  const ajv = newAjv({
    allErrors: true,
    verbose: true,
    strict: true,
    allowUnionTypes: true,
    ...(options.source ? { code: { source: true } } : {}),
  });
  // Annotation only: how to describe the expected value when a value has the wrong type.
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  return { ajv, validate: ajv.compile(schema) };
}

function validator(): ValidateFunction {
  if (!compiled) {
    if (existsSync(PRECOMPILED_PATH) && process.env.ZDM_COMPILE_SCHEMA !== '1') {
      const loaded = createRequire(import.meta.url)(PRECOMPILED_PATH) as { default?: ValidateFunction };
      compiled = (loaded.default ?? loaded) as ValidateFunction;
    } else {
      compiled = desiredStateAjv().validate;
    }
  }
  return compiled;
}

export function validateDocument(doc: ParsedDocument): DesiredIssue[] {
  return validateWith(doc, validator(), 'the file is empty: a desired-state file starts with `version: 1`');
}

/**
 * Validates a parsed document against a compiled JSON Schema (the desired state's, or another YAML
 * format of zdm's, such as the targets file), each finding located at its YAML node.
 */
export function validateWith(doc: ParsedDocument, validate: ValidateFunction, emptyMessage: string): DesiredIssue[] {
  if (doc.value === null || doc.value === undefined) {
    const p = doc.valuePosition([]);
    return [issue(doc, p, [], emptyMessage)];
  }
  if (validate(doc.value)) return [];
  const seen = new Set<string>();
  const out: DesiredIssue[] = [];
  for (const e of validate.errors ?? []) {
    const i = toIssue(doc, e);
    if (!i) continue;
    const k = `${i.line}:${i.column}:${i.path}:${i.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(i);
  }
  return out;
}

function issue(doc: ParsedDocument, p: Position, segments: readonly PathSegment[], message: string): DesiredIssue {
  return { file: doc.file, line: p.line, column: p.column, path: formatPath(segments), message };
}

function toIssue(doc: ParsedDocument, e: ErrorObject): DesiredIssue | undefined {
  const segments = pointerSegments(e.instancePath, doc.value);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const expected = typeof parent['x-expected'] === 'string' ? (parent['x-expected'] as string) : undefined;
  const params = e.params as Record<string, unknown>;
  const at = (message: string) => issue(doc, doc.valuePosition(segments), segments, message);
  switch (e.keyword) {
    case 'if':
      // Reported by the branch that failed.
      return undefined;
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((parent.properties ?? {}) as object);
      const hint = didYouMean(key, known);
      const list = hint === '' && known.length > 0 ? ` (known keys: ${known.join(', ')})` : '';
      const keySegments = [...segments, key];
      return issue(doc, doc.keyPosition(keySegments), keySegments, `unknown key \`${key}\`${hint}${list}`);
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const hint = segments.length === 0 && missing === 'version' ? ': add `version: 1` at the top of the file' : '';
      return issue(doc, doc.keyPosition(segments), segments, `missing required key \`${missing}\`${hint}`);
    }
    case 'type': {
      const types = Array.isArray(params.type) ? (params.type as string[]) : String(params.type).split(',');
      return at(`expected ${expected ?? describeTypes(types)}, got ${describeValue(e.data)}`);
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : '';
      return at(`expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}, got ${describeValue(e.data)}${hint}`);
    }
    case 'const':
      if (segments.length === 1 && segments[0] === 'version') {
        return at(`unsupported version ${describeValue(e.data)}: this version of zdm reads \`version: 1\``);
      }
      return at(`expected ${JSON.stringify(params.allowedValue)}, got ${describeValue(e.data)}`);
    case 'minItems':
      return at(`must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`);
    case 'minLength':
      return at('must not be empty');
    case 'minimum':
      return at(`expected a number ≥ ${String(params.limit)}, got ${describeValue(e.data)}`);
    case 'pattern':
      return at(`expected ${expected ?? `text matching ${String(params.pattern)}`}, got ${describeValue(e.data)}`);
    default:
      return at(e.message ?? `fails the schema's \`${e.keyword}\` rule`);
  }
}

/** JSON pointer → path segments; list indexes become numbers, which only the value can tell. */
function pointerSegments(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  boolean: 'a boolean (true or false)',
  integer: 'an integer',
  number: 'a number',
  object: 'a map',
  array: 'a list',
  null: 'nothing',
};

function describeTypes(types: readonly string[]): string {
  const words = types.map((t) => TYPE_WORDS[t] ?? t);
  return words.length <= 1 ? (words[0] ?? 'something else') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** `string "yes"`, `number 5`, `a list`: what was found, briefly. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}
