/**
 * Renders a fleet apply for a person: on a terminal a status table redrawn in place (a count line,
 * then each running target with its step and backfill progress, and the failures so far); when the
 * output is not a terminal, plain lines prefixed with the target's name. The final table lists every
 * target with its outcome. `--json` prints only the result, as JSON.
 */
import type { ApplyEvent } from '../apply/index.js';
import type { FleetEvent, FleetResult } from '../fleet/run.js';

interface Row {
  state: 'waiting' | 'running' | 'applied' | 'already-applied' | 'failed' | 'skipped';
  step: string;
  progress: string;
  detail: string;
}

export interface FleetPrinter {
  (event: FleetEvent): void;
  /** Ends the live table and prints the final one. */
  finish(result: FleetResult): void;
}

/** The events of one target worth a plain line. */
const PLAIN: ReadonlySet<ApplyEvent['type']> = new Set([
  'phase-start',
  'step-done',
  'backfill-start',
  'backfill-done',
  'lock-retry',
  'blocker-action',
  'leftover-dropped',
  'warning',
  'would-run',
  'phase-done',
]);

export function fleetPrinter(
  stream: { isTTY?: boolean; columns?: number; rows?: number; write(s: string): unknown },
  options: { plainIntervalMs?: number; redrawMs?: number } = {},
): FleetPrinter {
  const tty = stream.isTTY === true;
  const rows = new Map<string, Row>();
  const order: string[] = [];
  let drawn = 0;
  let lastDraw = 0;
  const lastProgress = new Map<string, number>();
  const line = (s: string): void => void stream.write(`${s}\n`);
  const row = (name: string): Row => {
    let r = rows.get(name);
    if (!r) {
      r = { state: 'waiting', step: '', progress: '', detail: '' };
      rows.set(name, r);
      order.push(name);
    }
    return r;
  };
  const width = (): number => ((stream.columns ?? 0) > 20 ? stream.columns! - 1 : 200);
  const clip = (s: string): string => (s.length > width() ? `${s.slice(0, width() - 1)}…` : s);
  const nameWidth = (): number => Math.min(32, Math.max(6, ...order.map((n) => n.length)));

  const counts = (): string => {
    const c: Record<Row['state'], number> = {
      waiting: 0,
      running: 0,
      applied: 0,
      'already-applied': 0,
      failed: 0,
      skipped: 0,
    };
    for (const r of rows.values()) c[r.state]++;
    return (
      `${c.applied + c['already-applied']}/${rows.size} done, ${c.running} running, ${c.waiting} waiting, ` +
      `${c.failed} failed, ${c.skipped} skipped`
    );
  };

  const draw = (force = false): void => {
    const now = Date.now();
    if (!force && now - lastDraw < (options.redrawMs ?? 100)) return;
    lastDraw = now;
    const w = nameWidth();
    const out = [counts()];
    const room = Math.max(3, (stream.rows ?? 24) - 3);
    for (const name of order) {
      const r = rows.get(name)!;
      if (r.state !== 'running' && r.state !== 'failed') continue;
      if (out.length >= room) break;
      out.push(`  ${name.padEnd(w)} ${r.state.padEnd(8)} ${r.step.padEnd(12)} ${r.progress || r.detail}`);
    }
    let text = drawn > 0 ? `\u001b[${drawn}A` : '';
    for (const l of out) text += `\r\u001b[2K${clip(l)}\n`;
    // Clear lines left over from a taller table.
    for (let i = out.length; i < drawn; i++) text += '\r\u001b[2K\n';
    if (drawn > out.length) text += `\u001b[${drawn - out.length}A`;
    stream.write(text);
    drawn = out.length;
  };

  const onApplyEvent = (name: string, e: ApplyEvent): void => {
    const r = row(name);
    if (e.type === 'step-start') r.step = e.stepId;
    if (e.type === 'backfill-progress') {
      const total = e.estimatedTotal ? ` of ~${Math.round(e.estimatedTotal).toLocaleString('en-US')}` : '';
      r.progress = `${e.rowsDone.toLocaleString('en-US')} rows${total}`;
    }
    if (e.type === 'step-done' || e.type === 'backfill-done') r.progress = '';
    if (e.type === 'lock-wait') r.progress = e.message;
    if (tty) return;
    if (PLAIN.has(e.type)) line(`[${name}] ${e.message}`);
    else if (e.type === 'backfill-progress' || e.type === 'lock-wait') {
      const now = Date.now();
      if (now - (lastProgress.get(name) ?? 0) >= (options.plainIntervalMs ?? 5000)) {
        lastProgress.set(name, now);
        line(`[${name}] ${e.stepId}: ${r.progress}`);
      }
    }
  };

  const print = ((e: FleetEvent) => {
    switch (e.type) {
      case 'probed':
        row(e.target);
        break;
      case 'decided': {
        const d = e.decision;
        const held = [...d.skipped.values()].filter((s) => s.reason === 'held-back').length;
        const msg =
          `${d.first.length + d.rest.length} target(s) to run${held ? ` (${d.first.length} canaries first)` : ''}, ` +
          `${d.alreadyDone.length} already done, ${d.skipped.size - held} skipped, ${d.unreadable.size} unreadable` +
          (held ? `, ${held} held back until --continue` : '');
        if (tty) line(msg);
        else line(`fleet: ${msg}`);
        break;
      }
      case 'target-start':
        row(e.target).state = 'running';
        if (!tty) line(`[${e.target}] started`);
        break;
      case 'target-event':
        onApplyEvent(e.target, e.event);
        break;
      case 'target-end': {
        const r = row(e.target);
        const o = e.outcome;
        r.state = o.status;
        r.detail = o.status === 'failed' ? o.error : o.status === 'skipped' ? `${o.reason}: ${o.detail}` : '';
        if (!tty) line(`[${e.target}] ${o.status}${r.detail ? `: ${r.detail}` : ''}`);
        break;
      }
    }
    if (tty) draw();
  }) as FleetPrinter;

  print.finish = (result) => {
    if (tty && drawn > 0) {
      stream.write(`\u001b[${drawn}A`);
      for (let i = 0; i < drawn; i++) stream.write('\r\u001b[2K\n');
      stream.write(`\u001b[${drawn}A`);
      drawn = 0;
    }
    line(renderFleetResult(result));
  };
  return print;
}

/** The final table: every target, its outcome, and why when it was not applied. */
export function renderFleetResult(result: FleetResult): string {
  const w = Math.min(32, Math.max(6, ...result.targets.map((t) => t.name.length)));
  const lines = [`plan ${result.planId}, phase ${result.phase}:`];
  for (const { name, outcome: o } of result.targets) {
    const why = o.status === 'failed' ? o.error : o.status === 'skipped' ? `${o.reason}: ${o.detail}` : '';
    lines.push(`  ${name.padEnd(w)} ${o.status.padEnd(15)} ${why.split('\n')[0]}`.trimEnd());
  }
  const n = (s: string) => result.targets.filter((t) => t.outcome.status === s).length;
  lines.push(
    `${n('applied')} applied, ${n('already-applied')} already applied, ${n('failed')} failed, ${n('skipped')} skipped` +
      ` (exit ${result.exitCode})`,
  );
  return lines.join('\n');
}
