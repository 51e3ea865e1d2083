/**
 * Renders apply events for a person: one line per event; backfill progress and a step's wait for
 * its locks (who blocks it) as a line redrawn in place on a terminal, and a plain line at most every
 * few seconds when the output is not a terminal (a wait's line also whenever its blockers change).
 */
import type { ApplyEvent } from '../apply/index.js';
import type { RollbackEvent } from '../apply/rollback.js';
import { formatRate } from '../apply/wal-rate.js';

export interface EventPrinter {
  (event: ApplyEvent | RollbackEvent): void;
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
  stream: { isTTY?: boolean; columns?: number; write(s: string): unknown },
  options: { verbose?: boolean; quiet?: boolean; plainIntervalMs?: number } = {},
): EventPrinter {
  const tty = stream.isTTY === true;
  let open = false;
  let lastPlain = 0;
  let lastBlockers = '';
  const finish = (): void => {
    if (open) stream.write('\n');
    open = false;
  };
  /** A line that replaces itself on a terminal; elsewhere printed at most every few seconds, or when `changed`. */
  const redraw = (line: string, changed = false): void => {
    if (tty) {
      // One physical line, or the next redraw would clear only its last part.
      const width = (stream.columns ?? 0) > 1 ? stream.columns! - 1 : line.length;
      stream.write(`\r\u001b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
      open = true;
      return;
    }
    const now = Date.now();
    if (changed || now - lastPlain >= (options.plainIntervalMs ?? 5000)) {
      lastPlain = now;
      write(line);
    }
  };
  const print = ((e: ApplyEvent | RollbackEvent) => {
    if (e.type === 'backfill-progress') {
      redraw(
        `  ${e.stepId}: ${bar(e.rowsDone, e.estimatedTotal)}${e.rowsDone.toLocaleString('en-US')} rows` +
          `${e.estimatedTotal ? ` of ~${Math.round(e.estimatedTotal).toLocaleString('en-US')}` : ''}` +
          `, ${Math.round(e.rowsPerSecond).toLocaleString('en-US')} rows/s${eta(e.etaSeconds)}` +
          (e.walBytesPerSecond === null ? '' : `, WAL ${formatRate(e.walBytesPerSecond)}`) +
          (e.walPauseMs > 0 ? ` (over --max-wal-rate: pause ${e.walPauseMs} ms)` : ''),
      );
      return;
    }
    if (e.type === 'replica-lag-wait') {
      redraw(`  ${e.message}`);
      return;
    }
    if (e.type === 'lock-wait') {
      const blockers = `${e.stepId} ${e.blockers.map((b) => b.pid).join(',')}`;
      const changed = blockers !== lastBlockers;
      lastBlockers = blockers;
      if (changed) finish();
      redraw(`  ${e.message}`, changed);
      return;
    }
    lastBlockers = '';
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
