/**
 * Why the ingest pipeline dropped an event without it being an error. A drop is an expected
 * outcome (a crawler hit, a resend): the client is told it was received and the event is not
 * stored. Closed set: metrics are labelled with these.
 */
import { z } from 'zod';

export const DropReason = z.enum([
  'bot', // user agent is a known crawler or automation tool
  'duplicate', // an event with the same client id was already accepted
]);
export type DropReason = z.infer<typeof DropReason>;
