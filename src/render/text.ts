/**
 * The plan as a terminal preview, grouped by phase: each step's id, summary, locks and hazards.
 * With `color`, phase headers are bold and hazards red (data loss, blocking) or yellow (the rest);
 * without it, plain text (for files, pipes, CI logs).
 */
import type { Plan } from '../plan/types.js';
import {
  locksText,
  phaseHazards,
  planHazards,
  SEVERE_HAZARDS,
  shortFingerprint,
  stepCount,
  stepRunText,
} from './format.js';

export interface TextOptions {
  readonly color: boolean;
}

const ESC = '\u001b[';

export function renderText(plan: Plan, options: TextOptions): string {
  const paint = (code: string, s: string) => (options.color ? `${ESC}${code}m${s}${ESC}0m` : s);
  const bold = (s: string) => paint('1', s);
  const dim = (s: string) => paint('2', s);
  const hazard = (h: string) => paint(SEVERE_HAZARDS.has(h as never) ? '31' : '33', h);

  const out: string[] = [];
  out.push(`${bold(`plan ${plan.id}`)} ${dim(`(zdm ${plan.zdm}, ${plan.createdAt})`)}`);
  out.push(dim(`planned against ${plan.source.server}, schema ${shortFingerprint(plan.source.fingerprint)}`));
  for (const phase of plan.phases) {
    out.push('');
    const hz = phaseHazards(phase);
    const tail = phase.steps.length === 0 ? 'nothing to do' : stepCount(phase.steps.length);
    out.push(
      `${bold(phase.name.toUpperCase())} ${dim(`(${tail})`)}${hz.length > 0 ? `  hazards: ${hz.map(hazard).join(', ')}` : ''}`,
    );
    const width = Math.max(0, ...phase.steps.map((s) => s.id.length));
    const pad = ' '.repeat(width + 4);
    for (const s of phase.steps) {
      out.push(`  ${bold(s.id.padEnd(width))}  ${s.summary}`);
      const how = stepRunText(s);
      out.push(`${pad}${dim(`lock: ${locksText(s.locks)}${how ? ` · ${how}` : ''}`)}`);
      if (s.hazards.length > 0) out.push(`${pad}hazards: ${s.hazards.map(hazard).join(', ')}`);
    }
  }
  const all = planHazards(plan);
  out.push('');
  out.push(
    all.length === 0
      ? 'no hazards'
      : `apply needs --allow-hazards ${all.map(hazard).join(',')} for the steps that carry them`,
  );
  return `${out.join('\n')}\n`;
}
