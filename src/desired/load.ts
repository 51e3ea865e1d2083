import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileError } from '../errors.js';
import type { DatabaseModel } from '../model/types.js';
import { type ConvertOptions, convertDocuments } from './convert.js';
import { type DesiredIssue, DesiredStateError } from './errors.js';
import type { SourceLocation, SourceMap } from './paths.js';
import { validateDocument } from './validate.js';
import { type ParsedDocument, parseYaml } from './yaml-doc.js';

export interface LoadedDesiredState {
  readonly model: DatabaseModel;
  /** Where each object was written, by document path (`schemas.public.tables.orders.columns.id`). */
  readonly sources: SourceMap;
  /** The .sql files the documents name with `file:` (absolute paths, sorted). */
  readonly sqlFiles: readonly string[];
  /** The documents' top-level `options` (the last document that sets one wins). */
  readonly options?: DesiredOptions;
}

/** The desired state's top-level `options`: how zdm plans for this project. */
export interface DesiredOptions {
  readonly renames?: 'copy' | 'views';
  readonly typeChanges?: 'column' | 'swap';
}

/** A desired-state document held in memory: its text and the name to report it under. */
export interface DesiredSource {
  readonly file: string;
  readonly text: string;
}

/**
 * Loads the desired state from a YAML file, or from a directory: every `*.yaml` / `*.yml` below it
 * (sorted by path, hidden entries skipped) is one document, and the documents are merged.
 *
 * @throws DesiredStateError listing every problem found, each at its `file:line:column`.
 * @throws FileError when the path does not exist, cannot be read, or is a directory without YAML files.
 *
 * @example
 * const { model, sources } = await loadDesiredState('schema/');
 * sources.get('schemas.public.tables.orders'); // { file: 'schema/public.yaml', line: 4, column: 5 }
 */
export async function loadDesiredState(target: string): Promise<LoadedDesiredState> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch (cause) {
    throw FileError.from('cannot read desired state', target, cause);
  }
  const files = info.isDirectory() ? await yamlFilesUnder(target) : [target];
  if (files.length === 0) {
    throw new FileError(target, `desired state ${target}: the directory has no .yaml or .yml files`);
  }
  const sources: DesiredSource[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (cause) {
      throw FileError.from('cannot read desired state', file, cause);
    }
  }
  return loadDesiredSources(sources);
}

/** Parses one in-memory document (`file` is only used in messages and the source map). */
export function parseDesiredState(text: string, file: string): LoadedDesiredState {
  return loadDesiredSources([{ file, text }]);
}

/**
 * Parses and merges in-memory documents, in the order given, as a directory would be. A `file:`
 * key is read relative to its document's `file` (through `options.readFile` when given).
 */
export function loadDesiredSources(docs: readonly DesiredSource[], options: ConvertOptions = {}): LoadedDesiredState {
  const issues: DesiredIssue[] = [];
  const parsed: ParsedDocument[] = [];
  for (const { file, text } of docs) {
    const result = parseYaml(text, file);
    issues.push(...result.issues);
    if (!result.document) continue;
    const structural = validateDocument(result.document);
    issues.push(...structural);
    if (result.issues.length === 0 && structural.length === 0) parsed.push(result.document);
  }
  // Semantic checks assume well-formed documents: fix the structure first.
  if (issues.length > 0) throw new DesiredStateError(issues);
  const { model, issues: semantic, sqlFiles } = convertDocuments(parsed, options);
  if (semantic.length > 0) throw new DesiredStateError(semantic);
  const options_ = desiredOptions(parsed);
  return { model, sources: sourceMap(parsed), sqlFiles, ...(options_ !== undefined ? { options: options_ } : {}) };
}

function desiredOptions(docs: readonly ParsedDocument[]): DesiredOptions | undefined {
  let out: DesiredOptions | undefined;
  for (const d of docs) {
    const o = (d.value as { options?: DesiredOptions } | null)?.options;
    if (o !== undefined) out = { ...out, ...o };
  }
  return out;
}

/**
 * Looked up in the documents when an error must be located (the first document that has the path).
 * It holds their locators, not the documents: a plan keeps the source map to its end, and the parsed
 * values (tens of MB on a schema of thousands of tables) are not needed once converted.
 */
function sourceMap(docs: readonly ParsedDocument[]): SourceMap {
  const locators = docs.map((d) => d.locator());
  return {
    get(path: string): SourceLocation | undefined {
      for (const doc of locators) {
        const at = doc.location(path);
        if (at !== undefined) return at;
      }
      return undefined;
    },
  };
}

async function yamlFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true }).catch((cause: unknown) => {
      throw FileError.from('cannot read desired state directory', d, cause);
    });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.ya?ml$/i.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  // Code-point order, not locale order: the merge order must not depend on the machine.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
