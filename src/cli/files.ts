/** Files the commands read and write; a failure is one line naming the path (FileError, exit 1). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileError } from '../errors.js';

export async function readPlanFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw FileError.from('cannot read plan', file, err);
  }
}

/** Writes `text` to `file`, creating its directory first. `what` names the file in an error: `plan`. */
export async function writeOutput(file: string, text: string, what: string): Promise<void> {
  try {
    await mkdir(path.dirname(file) || '.', { recursive: true });
    await writeFile(file, text);
  } catch (err) {
    throw FileError.from(`cannot write ${what}`, file, err);
  }
}

/** Creates the directory `dir` (and its parents) to write files into. */
export async function makeOutputDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw FileError.from('cannot create directory', dir, err);
  }
}
