/** Waiting and timing helpers of the engine: sleeps, retry backoff, timeout settings, one-line SQL for messages. */
/** Resolves after `ms`, or as soon as `signal` is aborted. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Exponential backoff with jitter: base·2^(retry-1), capped, times a random factor in [0.5, 1).
 * The jitter keeps two clients that timed out together from retrying in lock step.
 */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}

/** One line of SQL for messages: whitespace collapsed, shortened. */
export function oneLine(sql: string, max = 160): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A value PostgreSQL accepts for a `*_timeout` setting: integer milliseconds. */
export function msSetting(ms: number): string {
  return `${Math.max(0, Math.round(ms))}ms`;
}

/** An age for people: `12 s`, `4 min 10 s`, `2 h 5 min`. */
export function formatAge(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const min = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${min ? ` ${min} min` : ''}`;
}
