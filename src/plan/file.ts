/**
 * The plan file: YAML written by `serializePlan` (deterministic: the same plan gives the same
 * bytes), read back by `parsePlan`, which validates it against the plan JSON Schema and verifies its
 * checksum, so that a plan edited after review is refused.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Document, isMap, LineCounter, type Node, parseDocument } from 'yaml';
import { newAjv } from '../desired/ajv.js';
import { docPath, type PathSegment } from '../diff/paths.js';
import { planChecksum } from './checksum.js';
import { PlanFileError, type PlanFileIssue } from './errors.js';
import { slugify } from './names.js';
import { PLAN_SCHEMA } from './plan-schema.js';
import type { Plan } from './types.js';

/** Where editors find the schema from a plan in `plans/` of a project that has zdm installed. */
export const DEFAULT_PLAN_SCHEMA_REF = '../node_modules/zdm/schemas/plan.schema.json';

export interface SerializeOptions {
  /** `$schema` reference for the yaml-language-server header comment. */
  readonly schemaRef?: string;
}

/** The plan as YAML: fields in a fixed order, no line folding, a header comment for editors and reviewers. */
export function serializePlan(plan: Plan, options: SerializeOptions = {}): string {
  // No anchors/aliases for objects that happen to be shared: every step reads on its own.
  const doc = new Document(plan, { aliasDuplicateObjects: false });
  doc.commentBefore =
    ` yaml-language-server: $schema=${options.schemaRef ?? DEFAULT_PLAN_SCHEMA_REF}\n` +
    ' Written by `zdm plan`. Review it, do not edit it: `zdm apply` refuses a plan whose checksum does not match.';
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) compiled = newAjv({ allErrors: true, strict: true }).compile(PLAN_SCHEMA);
  return compiled;
}

/**
 * Reads a plan file. `file` names it in errors.
 *
 * @throws PlanFileError naming the file and each problem: YAML syntax and schema errors with their
 *   line and column, or `checksum mismatch: the plan was edited after it was written (expected …, found …)`.
 */
export function parsePlan(text: string, file: string): Plan {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PlanFileError(
      file,
      doc.errors.map((e) => ({
        ...(e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}),
        path: '',
        message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  const value: unknown = doc.toJS();
  const validate = validator();
  if (!validate(value)) {
    const issues = uniqueIssues((validate.errors ?? []).filter(relevant).map((e) => schemaIssue(doc, lineCounter, e)));
    throw new PlanFileError(file, issues);
  }
  const plan = value as Plan;
  const actual = planChecksum(plan);
  if (actual !== plan.checksum) {
    const at = position(doc, lineCounter, ['checksum']);
    throw new PlanFileError(file, [
      {
        ...at,
        path: 'checksum',
        message: `checksum mismatch: the plan was edited after it was written (expected ${plan.checksum}, found ${actual})`,
      },
    ]);
  }
  return plan;
}

/** `if`/`then` wrappers repeat the real error: keep the specific ones. */
function relevant(e: ErrorObject): boolean {
  return e.keyword !== 'if';
}

function uniqueIssues(issues: PlanFileIssue[]): PlanFileIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.column}:${i.path}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function segmentsOf(pointer: string, value: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let cur: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const seg: PathSegment = Array.isArray(cur) && /^\d+$/.test(key) ? Number(key) : key;
    out.push(seg);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[seg] : undefined;
  }
  return out;
}

function position(
  doc: Document,
  lc: LineCounter,
  segments: readonly PathSegment[],
): { line?: number; column?: number } {
  for (let n = segments.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true)) as Node | undefined;
    if (node?.range) {
      const p = lc.linePos(node.range[0]);
      return { line: p.line, column: p.col };
    }
  }
  return {};
}

function keyPosition(doc: Document, lc: LineCounter, segments: readonly PathSegment[], key: string) {
  const parent = segments.length === 0 ? doc.contents : doc.getIn(segments, true);
  if (isMap(parent)) {
    for (const pair of parent.items) {
      const k = pair.key as Node | null;
      if (k && 'value' in k && (k as { value: unknown }).value === key && k.range) {
        const p = lc.linePos(k.range[0]);
        return { line: p.line, column: p.col };
      }
    }
  }
  return position(doc, lc, segments);
}

function schemaIssue(doc: Document, lc: LineCounter, e: ErrorObject): PlanFileIssue {
  const segments = segmentsOf(e.instancePath, doc.toJS());
  const params = e.params as Record<string, unknown>;
  const path = docPath(segments);
  switch (e.keyword) {
    case 'additionalProperty':
    case 'additionalProperties': {
      const prop = String(params.additionalProperty);
      return {
        ...keyPosition(doc, lc, segments, prop),
        path: docPath([...segments, prop]),
        message: 'unknown property',
      };
    }
    case 'required':
      return { ...position(doc, lc, segments), path, message: `missing property "${String(params.missingProperty)}"` };
    case 'enum':
      return {
        ...position(doc, lc, segments),
        path,
        message: `must be one of: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { ...position(doc, lc, segments), path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    default:
      return { ...position(doc, lc, segments), path, message: e.message ?? e.keyword };
  }
}

/** `20261125T120000Z` from an ISO 8601 time. */
export function planTimestamp(createdAt: string): string {
  const d = new Date(createdAt);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${createdAt}`);
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Plan id `<UTC timestamp>-<slug>`, e.g. `20261125T120000Z-add-orders-check`. */
export function planId(createdAt: string, slug: string): string {
  return `${planTimestamp(createdAt)}-${slugify(slug)}`;
}

/** `plans/<UTC timestamp>-<slug>.plan.yaml` */
export function defaultPlanPath(createdAt: string, slug: string): string {
  return `plans/${planId(createdAt, slug)}.plan.yaml`;
}

export { slugify };
