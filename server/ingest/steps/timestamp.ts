/**
 * Timestamp step: decides when the event happened. A client time (`__timestamp`, applied by
 * the normalize step) is believed unless it lies more than a minute in the future — a wrong
 * device clock — in which case the server's receive time is used, as OpenPanel does. Queued
 * events from the past are kept as they are: an SDK flushing an offline queue sends them.
 */
import { chTime } from '../../../shared/rows.ts';
import type { Step } from '../types.ts';

/** How far ahead of the server's clock a client time may be before it is replaced. */
export const MAX_FUTURE_SKEW_MS = 60_000;

/** The timestamp step; runs after normalize. Sets `draft.at` and `row.created_at`. */
export const timestampStep: Step = {
  name: 'timestamp',
  run(d) {
    const now = d.request.receivedAt;
    if (!Number.isFinite(d.at) || d.at > now + MAX_FUTURE_SKEW_MS) d.at = now;
    d.row.created_at = chTime(d.at);
    return d;
  },
};
