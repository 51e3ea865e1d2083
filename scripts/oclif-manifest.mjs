#!/usr/bin/env node
// Run by `npm run build` after tsc. Writes two generated files that make `zdm` start fast:
//
// 1. oclif.manifest.json (package root): what oclif's own `oclif manifest` command writes (that
//    generator lives in the `oclif` dev package, which zdm does not depend on). It is computed the
//    same way — by oclif's Plugin loading every built command class with the manifest ignored —
//    and lets oclif list commands, render help and find a command's file without importing every
//    command module (and with them pg, ajv and the planner) on each start.
//
// 2. dist/cli/startup.json: the root help (`zdm`, `zdm --help`) exactly as oclif renders it, for
//    every terminal width from 40 columns up to the width past which it no longer changes, plain and
//    in colour. bin/run.js answers `zdm --help` and `zdm --version` from it without loading oclif
//    (oclif alone costs ~250 ms of module loading before it prints anything). It is only written
//    while nothing oclif would run before printing them is configured: no hooks, no theme, no help
//    class, no extra help/version flags, no state; bin/run.js falls back to oclif otherwise.
//
// Usage: node scripts/oclif-manifest.mjs           (both files)
//        node scripts/oclif-manifest.mjs --render plain|color   (internal: one render child)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifestFile = path.join(root, 'oclif.manifest.json');
const startupFile = path.join(root, 'dist/cli/startup.json');
/** Past this the renders are compared with the one at `WIDEST`; widths above are served by the last range. */
const WIDEST = 1000;

async function writeManifest() {
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({
    root,
    type: 'core',
    isRoot: true,
    ignoreManifest: true,
    errorOnManifestCreate: true,
    respectNoCacheDefault: true,
  });
  await plugin.load();
  const ids = Object.keys(plugin.manifest.commands);
  if (ids.length === 0) throw new Error(`no commands found under ${plugin.pjson.oclif.commands}: run tsc first`);
  for (const id of ids) {
    const c = plugin.manifest.commands[id];
    if (!c.isESM || !Array.isArray(c.relativePath)) throw new Error(`manifest entry of ${id} has no module path`);
  }
  writeFileSync(manifestFile, `${JSON.stringify(plugin.manifest, null, 2)}\n`);
  return ids;
}

/** Why bin/run.js must not answer root help or --version by itself, or undefined when it may. */
function fastPathBlocker(pjson) {
  const o = pjson.oclif ?? {};
  if (o.hooks && Object.keys(o.hooks).length) return 'oclif hooks are configured (init hooks run before --version)';
  if (o.theme) return 'an oclif theme is configured';
  if (o.helpClass) return 'a custom help class is configured';
  if (o.helpOptions || pjson.helpOptions) return 'help options are configured';
  if (o.additionalHelpFlags?.length || o.additionalVersionFlags?.length)
    return 'extra help/version flags are configured';
  if (o.state) return 'the CLI has a state (beta, deprecated)';
  if (o.plugins?.length || o.devPlugins?.length) return 'plugins are configured (their commands join the root help)';
  if (o.default || o.commands?.strategy === 'single') return 'a single-command CLI';
  return undefined;
}

/**
 * Child process: renders the root help with oclif's Help class at every width and prints JSON
 * `{ userAgent, renders: { [width]: text } }`. Colour is decided by the environment it runs in
 * (FORCE_COLOR), exactly as in a real run.
 */
async function renderChild() {
  const { Config, Help } = await import('@oclif/core');
  const config = await Config.load(root);
  const renders = {};
  const original = process.stdout.write.bind(process.stdout);
  const widths = [];
  for (let w = 40; w <= 400; w++) widths.push(w);
  widths.push(WIDEST);
  for (const width of widths) {
    let text = '';
    process.stdout.write = (chunk) => {
      text += String(chunk);
      return true;
    };
    try {
      await new Help(config, { maxWidth: width }).showHelp([]);
    } finally {
      process.stdout.write = original;
    }
    renders[width] = text;
  }
  original(`${JSON.stringify({ userAgent: config.userAgent, renders })}\n`);
}

/** Consecutive widths with the same text, as `{ min, max, text }` (`max: null`: and every wider one). */
function ranges(renders) {
  const wide = renders[WIDEST];
  const out = [];
  for (let w = 40; w <= 400; w++) {
    const text = renders[w];
    const last = out.at(-1);
    if (last && last.text === text) last.max = w;
    else out.push({ min: w, max: w, text });
  }
  const last = out.at(-1);
  if (last.text !== wide) throw new Error('the root help still changes past 400 columns: raise the range');
  last.max = null;
  return out;
}

function render(mode) {
  const env = { ...process.env, FORCE_COLOR: mode === 'color' ? '1' : '0' };
  for (const k of ['NO_COLOR', 'OCLIF_COLUMNS', 'ZDM_CONFIG_DIR', 'ZDM_DISABLE_THEME']) delete env[k];
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--render', mode], {
    encoding: 'utf8',
    env,
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`rendering the root help (${mode}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function main() {
  const i = process.argv.indexOf('--render');
  if (i >= 0) return renderChild();
  const ids = await writeManifest();
  const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const blocker = fastPathBlocker(pjson);
  if (blocker) {
    rmSync(startupFile, { force: true });
    console.log(`oclif.manifest.json: ${ids.length} commands; no fast root help: ${blocker}`);
    return;
  }
  const plain = render('plain');
  const color = render('color');
  if (plain.userAgent !== color.userAgent) throw new Error('the two renders disagree on the user agent');
  const data = {
    comment: 'Generated by scripts/oclif-manifest.mjs (npm run build); read by bin/run.js. Do not edit.',
    name: pjson.name,
    version: pjson.version,
    bin: pjson.oclif.bin,
    dirname: pjson.oclif.dirname ?? pjson.name,
    // Rendered with this user agent; bin/run.js puts the running one in its place.
    userAgent: plain.userAgent,
    rootHelp: { plain: ranges(plain.renders), color: ranges(color.renders) },
  };
  if (data.rootHelp.plain.some((r) => !r.text.includes(data.userAgent))) {
    throw new Error('the root help does not show the user agent where expected');
  }
  writeFileSync(startupFile, `${JSON.stringify(data)}\n`);
  console.log(
    `oclif.manifest.json: ${ids.length} commands; dist/cli/startup.json: root help in ` +
      `${data.rootHelp.plain.length} plain and ${data.rootHelp.color.length} colour width ranges`,
  );
}

await main();
