import type { Plan } from '../plan/types.js';

/** The plan as JSON (the plan file's content, for tools). */
export function renderJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
