/**
 * Daily salts for cookieless device ids, served synchronously to the device-id step. Salts
 * live in PostgreSQL (one per UTC day, shared by every node); this keeps yesterday's, today's
 * and tomorrow's in memory and refreshes them in the background, so the switch at UTC
 * midnight needs no database round trip on the hot path. Each refresh also deletes the salts
 * of days before yesterday, so older device ids can no longer be linked to anyone.
 */
import type { Logger } from '../log.ts';

const DAY = 86_400_000;

export interface SaltSource {
  /** Salts for the UTC day of `now` (server receive time, ms). */
  salts(now: number): { current: string; previous: string };
}

export interface SaltSourceOptions {
  /** How often the salts are read again (default 10 min). */
  refreshMs?: number;
  /** Deletes salts older than the previous day (see Metadata.pruneSalts); run at each refresh. */
  prune?: (now: Date) => Promise<number>;
}

export async function createSaltSource(
  getSalts: (now: Date) => Promise<{ current: string; previous: string }>,
  log: Logger,
  opts: SaltSourceOptions = {},
): Promise<SaltSource & { stop(): void }> {
  const refreshMs = opts.refreshMs ?? 10 * 60_000;
  const byDay = new Map<number, string>();

  async function load(now: number) {
    // Tomorrow's call returns tomorrow (current) and today (previous); yesterday's is kept from before.
    const today = Math.floor(now / DAY);
    const [a, b] = await Promise.all([getSalts(new Date(now)), getSalts(new Date(now + DAY))]);
    byDay.set(today - 1, a.previous);
    byDay.set(today, a.current);
    byDay.set(today + 1, b.current);
    for (const day of byDay.keys()) if (day < today - 1) byDay.delete(day);
    if (opts.prune) {
      const deleted = await opts.prune(new Date(now));
      if (deleted > 0) log.info({ deleted }, 'deleted daily salts older than yesterday');
    }
  }

  await load(Date.now());
  const timer = setInterval(() => load(Date.now()).catch((err) => log.error({ err }, 'salt refresh failed')), refreshMs);
  timer.unref();

  return {
    salts(now) {
      const day = Math.floor(now / DAY);
      const current = byDay.get(day);
      const previous = byDay.get(day - 1);
      if (current === undefined || previous === undefined) {
        // Only if refreshes failed for a day: keep using the newest salt rather than stall ingest.
        const newest = Math.max(...byDay.keys());
        return { current: byDay.get(newest)!, previous: byDay.get(newest - 1) ?? byDay.get(newest)! };
      }
      return { current, previous };
    },
    stop: () => clearInterval(timer),
  };
}
