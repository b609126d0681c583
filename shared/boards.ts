/**
 * Boards: saved, named layouts of live tiles for launch rooms and ops screens (a big number
 * against a goal, a sparkline, top lists, a world map, the feed, a live funnel). Stored in the
 * metadata database as JSON validated by these schemas, edited in the dashboard, shown on TVs
 * through share links (`target: {kind: 'board', id}`).
 *
 * A board tile says what to show in product terms; the dashboard turns it into the live
 * channel's tile specs (web/src/lib/boards/specs.ts). Times of day ("since 09:00") are read in
 * the project's time zone and roll over at midnight, so a TV left on for weeks shows today's.
 */
import { z } from 'zod';
import { Dimension, FilterTree } from './query.ts';

export const BOARD_LIMITS = {
  /** Tiles on one board (each is one or two live subscriptions). */
  tiles: 24,
  /** Boards per project. */
  perProject: 100,
  name: 100,
  title: 100,
  /** Grid columns a board is laid out on. */
  columns: 4,
  /** Tallest tile, in grid rows. */
  rows: 3,
  funnelSteps: 5,
} as const;

/**
 * What a counting tile adds up: `events`, `pageviews`, `sessions` (visits started), `revenue`,
 * or `sum:<property>` (an event property read as a number).
 */
export const BoardMetric = z.union([
  z.enum(['events', 'pageviews', 'sessions', 'revenue']),
  z.string().regex(/^sum:.{1,200}$/s, 'events, pageviews, sessions, revenue or sum:<property key>'),
]);
export type BoardMetric = z.infer<typeof BoardMetric>;

/**
 * Where a big number starts counting: today at a time of day in the project's zone (`time`,
 * 'HH:MM'; before that time of day it counts from yesterday's), a fixed instant (`at`, at most
 * a day back when watched), or the last `minutes`.
 */
export const BoardSince = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('time'), time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour') }),
  z.strictObject({ kind: z.literal('at'), at: z.iso.datetime({ offset: true }) }),
  z.strictObject({ kind: z.literal('minutes'), minutes: z.number().int().min(1).max(60) }),
]);
export type BoardSince = z.infer<typeof BoardSince>;

const Filters = z.array(FilterTree).max(20).default([]);
const Minutes = z.number().int().min(1).max(60);
const common = {
  /** Stable id within the board (the editor makes them). */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ and -; at most 32'),
  title: z.string().trim().max(BOARD_LIMITS.title).default(''),
  /** Width in grid columns and height in rows. */
  w: z.number().int().min(1).max(BOARD_LIMITS.columns).default(1),
  h: z.number().int().min(1).max(BOARD_LIMITS.rows).default(1),
};

export const BoardTile = z.discriminatedUnion('type', [
  /** "1,204 signups since 09:00, 68% of target, +14/min": a total since a moment, with an optional goal and its pace. */
  z.strictObject({
    ...common,
    type: z.literal('number'),
    metric: BoardMetric.default('events'),
    filters: Filters,
    since: BoardSince,
    goal: z.number().positive().max(1e15).optional(),
    /** Word after the number ("signups"). */
    unit: z.string().trim().max(40).optional(),
  }),
  /** Series of a metric: per minute over the last `minutes`, or per second over the last minute. */
  z.strictObject({
    ...common,
    type: z.literal('sparkline'),
    metric: BoardMetric.default('events'),
    filters: Filters,
    minutes: Minutes.default(30),
    /** Bars per minute over the window, or per second over the last minute (live only: seconds before the page opened are not known one by one). */
    per: z.enum(['minute', 'second']).default('minute'),
  }),
  /** The top values of a dimension by a metric over the last `minutes`. */
  z.strictObject({
    ...common,
    type: z.literal('top'),
    metric: BoardMetric.default('events'),
    dimension: Dimension,
    filters: Filters,
    limit: z.number().int().min(1).max(20).default(8),
    minutes: Minutes.default(30),
  }),
  /** Recent visitors as points fading out, countries shaded by events. */
  z.strictObject({ ...common, type: z.literal('map'), filters: Filters, minutes: Minutes.default(5) }),
  /** The newest matching events. */
  z.strictObject({ ...common, type: z.literal('feed'), filters: Filters, limit: z.number().int().min(1).max(50).default(20) }),
  /** Visits that did step 1, then step 2, … within the visit, over the last `minutes`. */
  z.strictObject({
    ...common,
    type: z.literal('funnel'),
    steps: z
      .array(z.strictObject({ label: z.string().trim().max(100).default(''), filters: z.array(FilterTree).min(1).max(10) }))
      .min(2)
      .max(BOARD_LIMITS.funnelSteps),
    minutes: Minutes.default(60),
  }),
  /** Visitors online now (open SDK sockets, distinct devices) and active in the last 5 minutes. */
  z.strictObject({ ...common, type: z.literal('visitors') }),
]);
export type BoardTile = z.infer<typeof BoardTile>;
export type BoardTileInput = z.input<typeof BoardTile>;
export type BoardTileType = BoardTile['type'];

export const BoardLayout = z.strictObject({
  tiles: z
    .array(BoardTile)
    .max(BOARD_LIMITS.tiles)
    .superRefine((tiles, ctx) => {
      const seen = new Set<string>();
      for (const [i, t] of tiles.entries()) {
        if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate tile id ${t.id}` });
        seen.add(t.id);
      }
    }),
  /** Flash milestones on the board: a goal reached, a rate spiking over the last hour's. */
  highlights: z.boolean().default(true),
});
export type BoardLayout = z.infer<typeof BoardLayout>;
export type BoardLayoutInput = z.input<typeof BoardLayout>;

const Name = z.string().trim().min(1).max(BOARD_LIMITS.name);

export const CreateBoardBody = z.strictObject({ name: Name, layout: BoardLayout.default({ tiles: [], highlights: true }) });
export type CreateBoardBody = z.infer<typeof CreateBoardBody>;

/** Rename and/or replace the layout. `version` (from the last read) refuses a save over someone else's (409 `conflict`). */
export const UpdateBoardBody = z.strictObject({ name: Name.optional(), layout: BoardLayout.optional(), version: z.number().int().positive().optional() });
export type UpdateBoardBody = z.infer<typeof UpdateBoardBody>;

/** A board as the API answers it. */
export interface Board {
  id: string;
  projectId: string;
  name: string;
  layout: BoardLayout;
  /** Increments at every save. */
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}
