/**
 * Renders apply events for a person: one line per event; backfill progress as a bar redrawn in place
 * on a terminal, and a plain line at most every few seconds when the output is not a terminal.
 */
import type { ApplyEvent } from '../apply/index.js';

export interface EventPrinter {
  (event: ApplyEvent): void;
  /** Ends a progress bar line still being redrawn. */
  finish(): void;
}

function bar(done: number, total: number | null, width = 24): string {
  if (!total || total <= 0) return '';
  const f = Math.min(1, done / total);
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}% `;
}

function eta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `, ETA ${Math.ceil(s)} s`;
  return `, ETA ${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

export function eventPrinter(
  write: (line: string) => void,
  stream: { isTTY?: boolean; write(s: string): unknown },
  options: { verbose?: boolean; quiet?: boolean; plainIntervalMs?: number } = {},
): EventPrinter {
  const tty = stream.isTTY === true;
  let open = false;
  let lastPlain = 0;
  const finish = (): void => {
    if (open) stream.write('\n');
    open = false;
  };
  const print = ((e: ApplyEvent) => {
    if (e.type === 'backfill-progress') {
      const line =
        `  ${e.stepId}: ${bar(e.rowsDone, e.estimatedTotal)}${e.rowsDone.toLocaleString('en-US')} rows` +
        `${e.estimatedTotal ? ` of ~${Math.round(e.estimatedTotal).toLocaleString('en-US')}` : ''}` +
        `, ${Math.round(e.rowsPerSecond).toLocaleString('en-US')} rows/s${eta(e.etaSeconds)}`;
      if (tty) {
        stream.write(`\r\u001b[2K${line}`);
        open = true;
      } else {
        const now = Date.now();
        if (now - lastPlain >= (options.plainIntervalMs ?? 5000)) {
          lastPlain = now;
          write(line);
        }
      }
      return;
    }
    if (e.type === 'statement' && !options.verbose) return;
    if (e.type === 'backfill-resize' && !options.verbose) return;
    // The demo shows plans, not the routine of every apply.
    if (options.quiet && (e.type === 'check' || e.type === 'post-check' || e.type === 'phase-start')) return;
    finish();
    write(e.message);
  }) as EventPrinter;
  print.finish = finish;
  return print;
}
