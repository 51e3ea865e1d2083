/**
 * The plan as Markdown for a pull-request comment: a summary table of phases, steps and hazards,
 * then each phase's steps with their SQL in ```sql blocks, and the schema diff folded in <details>.
 */
import type { Plan, Step } from '../plan/types.js';
import { locksText, phaseHazards, shortFingerprint, stepRunText } from './format.js';

/** A code fence longer than any run of backticks in the content. */
function fenced(lang: string, body: string, indent = ''): string {
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const lines = [`${fence}${lang}`, ...body.replace(/\n$/, '').split('\n'), fence];
  return lines.map((l) => (l === '' ? '' : `${indent}${l}`)).join('\n');
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (s: string): string => {
  const ticks = s.includes('`') ? '``' : '`';
  return `${ticks}${ticks.length > 1 ? ' ' : ''}${s}${ticks.length > 1 ? ' ' : ''}${ticks}`;
};

function stepMarkdown(s: Step, n: number): string {
  const hazards = s.hazards.length > 0 ? ` — **hazards: ${s.hazards.map(code).join(', ')}**` : '';
  const run = stepRunText(s);
  const how = run ? ` · ${run}` : '';
  const head = `${n}. ${code(s.id)} ${cell(s.summary)}  \n   lock: ${cell(locksText(s.locks))}${how}${hazards}`;
  const sql = s.sql.map((q) => (q.trimEnd().endsWith(';') ? q : `${q};`)).join('\n');
  return `${head}\n\n${fenced('sql', sql, '   ')}`;
}

export function renderMarkdown(plan: Plan, schemaDiff?: string): string {
  const out: string[] = [];
  out.push(`### zdm plan ${code(plan.id)}`, '');
  out.push(
    `Planned against ${cell(plan.source.server)} (schema ${code(shortFingerprint(plan.source.fingerprint))}) by zdm ${cell(plan.zdm)}.`,
    '',
  );
  out.push('| phase | steps | outside a transaction | hazards |', '|---|---:|---:|---|');
  for (const p of plan.phases) {
    const hz = phaseHazards(p);
    out.push(
      `| ${p.name} | ${p.steps.length} | ${p.steps.filter((s) => !s.transaction).length} | ${hz.length > 0 ? hz.map(code).join(', ') : '—'} |`,
    );
  }
  for (const p of plan.phases) {
    out.push('', `#### ${p.name}`, '');
    if (p.steps.length === 0) out.push('_Nothing to do._');
    else out.push(p.steps.map((s, i) => stepMarkdown(s, i + 1)).join('\n\n'));
  }
  if (schemaDiff !== undefined && schemaDiff.trim() !== '') {
    out.push(
      '',
      '<details><summary>Schema diff (live → desired)</summary>',
      '',
      fenced('diff', schemaDiff),
      '',
      '</details>',
    );
  }
  return `${out.join('\n')}\n`;
}
