/**
 * TV rotation from a URL: the board shown first, then `rotate=<a>,<b>` (board ids, or share
 * tokens on a share page), each shown `every=<seconds>` (default 30, at least 5), in a loop.
 * Duplicates and empty entries are dropped; at most 20 screens.
 */
export interface Rotation {
  ids: string[];
  everyMs: number;
}

export const ROTATE_MAX = 20;
export const ROTATE_DEFAULT_S = 30;

export function rotation(first: string, params: URLSearchParams): Rotation {
  const extra = (params.get('rotate') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^[A-Za-z0-9_-]{1,200}$/.test(s));
  const ids = [...new Set([first, ...extra])].filter(Boolean).slice(0, ROTATE_MAX);
  const every = Number(params.get('every'));
  const seconds = Number.isFinite(every) && every > 0 ? Math.max(5, Math.min(3600, every)) : ROTATE_DEFAULT_S;
  return { ids, everyMs: seconds * 1000 };
}
