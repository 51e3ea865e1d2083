#!/usr/bin/env node
// `zdm --version`, `zdm --help` and a bare `zdm` are answered here from dist/cli/startup.json — the
// root help as oclif itself renders it, generated at build time by scripts/oclif-manifest.mjs for
// every terminal width, plain and in colour — without loading oclif, whose modules alone take about
// 250 ms to load. Everything else, and these too whenever anything could make oclif's answer differ
// (no generated file or an outdated one, a user theme, DEBUG, a terminal narrower than the rendered
// widths, WSL), goes to oclif.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** oclif's `config.userAgent`, or undefined where its platform detection (WSL) is not worth repeating. */
function userAgent(data) {
  if (process.platform === 'linux') {
    let proc = '';
    try {
      proc = readFileSync('/proc/version', 'utf8');
    } catch {}
    if (/microsoft/i.test(os.release()) || /microsoft/i.test(proc)) return undefined;
  }
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch();
  return `${data.name}/${data.version} ${os.platform()}-${arch} node-${process.version}`;
}

/** The width oclif wraps help to (src: @oclif/core lib/screen.js). */
function helpWidth() {
  const columns = Number.parseInt(process.env.OCLIF_COLUMNS, 10) || globalThis.oclif?.columns;
  if (columns) return columns;
  if (!process.stdout.isTTY) return 80;
  const width = process.stdout.getWindowSize()[0];
  return width < 1 ? 80 : width < 40 ? 40 : width;
}

/** Whether oclif would colour its help: the same two modules it asks, loaded from where it loads them. */
function helpInColor() {
  const fromCore = createRequire(createRequire(import.meta.url).resolve('@oclif/core'));
  const supports = fromCore('supports-color');
  return Boolean(supports.stdout) && Boolean(supports.stderr) && fromCore('ansis').isSupported();
}

function themeFileExists(data) {
  if (process.platform === 'win32' || process.env.ZDM_CONFIG_DIR || process.env.XDG_CONFIG_HOME === '') return true;
  const home = process.env.HOME || os.homedir();
  const base = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
  return existsSync(path.join(base, data.dirname, 'theme.json'));
}

/** The text to print for these arguments, or undefined to let oclif answer. */
function fastAnswer(argv) {
  const version = argv.length === 1 && argv[0] === '--version';
  const help = argv.length === 0 || (argv.length === 1 && argv[0] === '--help');
  if ((!version && !help) || process.env.DEBUG) return undefined;
  const data = readJson(path.join(root, 'dist/cli/startup.json'));
  const pjson = readJson(path.join(root, 'package.json'));
  if (!data || !pjson || data.name !== pjson.name || data.version !== pjson.version) return undefined;
  const agent = userAgent(data);
  if (!agent) return undefined;
  if (version) return `${agent}\n`;
  if (themeFileExists(data)) return undefined;
  const width = helpWidth();
  // The VERSION line is wrapped at width - 2: the running user agent must fit where the built one did.
  if (agent.length > width - 2 || data.userAgent.length > width - 2) return undefined;
  const ranges = helpInColor() ? data.rootHelp.color : data.rootHelp.plain;
  const range = ranges.find((r) => width >= r.min && (r.max === null || width <= r.max));
  return range?.text.replace(data.userAgent, agent);
}

/**
 * oclif trusts oclif.manifest.json for the list of commands: one added or removed since the last
 * `npm run build` (e.g. after a bare `tsc`) would be missing from help, or not found at all.
 */
function warnIfManifestStale() {
  const manifest = readJson(path.join(root, 'oclif.manifest.json'));
  if (!manifest) return;
  let files;
  try {
    files = readdirSync(path.join(root, 'dist/cli/commands')).filter((f) => f.endsWith('.js'));
  } catch {
    return;
  }
  const built = files.map((f) => f.slice(0, -3)).sort();
  const listed = Object.keys(manifest.commands).sort();
  if (built.join(' ') !== listed.join(' ')) {
    process.stderr.write(
      `warning: oclif.manifest.json lists the commands ${listed.join(', ')} but dist/cli/commands has ` +
        `${built.join(', ')}: run \`npm run build\` to regenerate it\n`,
    );
  }
}

/**
 * How far V8 lets the old generation grow past what a full GC found live: 1.3×, where V8 by itself
 * picks up to 4× when collection is fast next to the program. On a schema of 10,000 tables `zdm
 * plan` holds 130–180 MB live; V8's own choice took it to a peak of 570–585 MB of RSS in about
 * half the runs (which half depends on when the full GCs fall); 1.3× keeps it at 320–330 MB (1.5×:
 * 317–363 MB, and 10 MB more than V8's own choice at 1,000 tables, where V8 picks less than 1.5×),
 * with 10 full GCs instead of 3 and the same wall time (BENCHMARKS.md §2, 2026-12-07). The setting
 * is read when V8 sets the next limit after a GC, so setting it here, before anything large is
 * allocated, holds for the whole run; a percentage the user gave node is kept.
 */
function limitHeapGrowth() {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('heap-growing-percent'));
  if (!given) v8.setFlagsFromString('--heap-growing-percent=30');
}

limitHeapGrowth();
const answer = fastAnswer(process.argv.slice(2));
if (answer !== undefined) {
  process.stdout.write(answer);
} else {
  warnIfManifestStale();
  // The subpath, not the package's index: the index also loads what zdm never uses (semver alone is
  // 47 files).
  const { execute } = await import('@oclif/core/execute');
  await execute({ dir: import.meta.url });
}
