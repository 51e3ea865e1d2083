/**
 * `--max-wal-rate`: pacing a backfill or copy on the rate at which the server writes WAL.
 *
 * After each batch the loop reads `pg_current_wal_insert_lsn()` (a byte position in the WAL stream; the
 * difference of two readings is the WAL the whole server wrote between them, full-page images
 * included: the application's writes count too, which is what replicas and archives have to keep up
 * with). When the bytes written since the last reading, over the time since it, exceed the cap, the
 * loop sleeps until the average is back at the cap: `bytes / cap − elapsed`; the next interval starts
 * when that pause ends (each pause pays for its own interval only). The arithmetic is here,
 * pure; the reading is `WAL_POSITION_SQL` (src/sql/session.ts).
 */
/** The WAL written between two readings, and the pause that brings their rate down to `maxBytesPerSecond`. */
export interface WalPacing {
  readonly bytes: number;
  /** Bytes per second between the two readings. */
  readonly bytesPerSecond: number;
  /** How long to wait before the next batch (0: under the cap, or no cap). */
  readonly pauseMs: number;
}

/**
 * `bytes` written in `elapsedMs`: their rate, and the pause after which `bytes` over the whole
 * interval (elapsed + pause) is exactly the cap. `maxBytesPerSecond` 0: no cap.
 */
export function walPacing(bytes: number, elapsedMs: number, maxBytesPerSecond: number): WalPacing {
  const b = Math.max(0, bytes);
  const ms = Math.max(0, elapsedMs);
  const bytesPerSecond = ms > 0 ? (b * 1000) / ms : 0;
  if (maxBytesPerSecond <= 0) return { bytes: b, bytesPerSecond, pauseMs: 0 };
  const neededMs = (b * 1000) / maxBytesPerSecond;
  return { bytes: b, bytesPerSecond, pauseMs: Math.max(0, Math.ceil(neededMs - ms)) };
}

/** `20971520` → `20.0 MB/s`. */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1024 ** 3) return `${(bytesPerSecond / 1024 ** 3).toFixed(1)} GB/s`;
  if (bytesPerSecond >= 1024 ** 2) return `${(bytesPerSecond / 1024 ** 2).toFixed(1)} MB/s`;
  return `${(bytesPerSecond / 1024).toFixed(0)} kB/s`;
}
