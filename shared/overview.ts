/**
 * The dashboard's views as query-model queries, in one place: what the overview page and the
 * other analytics pages ask for, given the view the URL describes (range, filters,
 * comparison). The dashboard renders these; `npm run bench:query` times exactly these. Types
 * only from the model, so the dashboard bundles no zod.
 */
import type { Condition, DateRange, QueryInput } from './query.ts';
import type { DateRangeName, Dimension, Metric, TimeGrain } from './query-terms.ts';

/** What a dashboard URL describes. */
export interface View {
  range: DateRange;
  /** Conditions, all of which must hold. */
  filters: Condition[];
  compare: 'previous_period' | 'year_over_year' | null;
  /** IANA zone; absent: the project's. */
  timezone?: string;
}

/** The time bucket a chart of `range` uses. */
export function grainFor(range: DateRange): TimeGrain {
  if (Array.isArray(range)) {
    const days = (Date.parse(range[1]) - Date.parse(range[0])) / 86_400_000;
    return days <= 2 ? 'hour' : days <= 92 ? 'day' : days <= 730 ? 'week' : 'month';
  }
  const grains: Record<DateRangeName, TimeGrain> = {
    '30m': 'minute',
    today: 'hour',
    yesterday: 'hour',
    '24h': 'hour',
    '7d': 'day',
    '30d': 'day',
    month: 'day',
    last_month: 'day',
    '12mo': 'month',
    all: 'month',
  };
  return grains[range];
}

/** A query over the view: its range, filters, zone and (unless told otherwise) comparison. */
export function viewQuery(
  projectId: string,
  view: View,
  q: { metrics: Metric[]; dimensions?: Dimension[]; filters?: Condition[]; limit?: number; compare?: boolean; order_by?: QueryInput['order_by'] },
): QueryInput {
  return {
    project_id: projectId,
    date_range: view.range,
    ...(view.timezone && { timezone: view.timezone }),
    metrics: q.metrics,
    ...(q.dimensions && { dimensions: q.dimensions }),
    ...((view.filters.length > 0 || q.filters) && { filters: [...view.filters, ...(q.filters ?? [])] }),
    ...(q.compare !== false && view.compare && { compare: view.compare }),
    ...(q.limit && { limit: q.limit }),
    ...(q.order_by && { order_by: q.order_by }),
  };
}

/** The metric cards every analytics page shows on top. */
export const CARD_METRICS: Metric[] = ['visitors', 'sessions', 'pageviews', 'bounce_rate', 'session_duration', 'views_per_session'];
/** Page views only: a page's visitors are the devices that viewed it. */
export const PAGE_VIEWS: Condition = ['is', 'event:name', ['screen_view']];

/** One panel of a page: a title and the query it shows. */
export interface Panel {
  id: string;
  title: string;
  dimension: Dimension;
  metrics: Metric[];
  filters?: Condition[];
}

/** Breakdown panels, by page and tab (the first of each group is shown first). */
export const PANELS = {
  pages: [
    { id: 'pages', title: 'Top pages', dimension: 'event:path', metrics: ['visitors', 'pageviews'], filters: [PAGE_VIEWS] },
    { id: 'entry', title: 'Entry pages', dimension: 'session:entry_path', metrics: ['sessions', 'bounce_rate'] },
    { id: 'exit', title: 'Exit pages', dimension: 'session:exit_path', metrics: ['sessions'] },
  ],
  sources: [
    { id: 'sources', title: 'Sources', dimension: 'session:referrer_name', metrics: ['visitors', 'sessions'] },
    { id: 'types', title: 'Channels', dimension: 'session:referrer_type', metrics: ['visitors', 'sessions'] },
    { id: 'referrers', title: 'Referrers', dimension: 'session:referrer', metrics: ['visitors', 'sessions'] },
    { id: 'utm_source', title: 'UTM sources', dimension: 'session:utm_source', metrics: ['visitors', 'sessions'] },
    { id: 'utm_medium', title: 'UTM mediums', dimension: 'session:utm_medium', metrics: ['visitors', 'sessions'] },
    { id: 'utm_campaign', title: 'UTM campaigns', dimension: 'session:utm_campaign', metrics: ['visitors', 'sessions'] },
  ],
  geo: [
    { id: 'countries', title: 'Countries', dimension: 'geo:country', metrics: ['visitors', 'percentage'] },
    { id: 'regions', title: 'Regions', dimension: 'geo:region', metrics: ['visitors', 'percentage'] },
    { id: 'cities', title: 'Cities', dimension: 'geo:city', metrics: ['visitors', 'percentage'] },
  ],
  devices: [
    { id: 'types', title: 'Devices', dimension: 'device:type', metrics: ['visitors', 'percentage'] },
    { id: 'browsers', title: 'Browsers', dimension: 'device:browser', metrics: ['visitors', 'percentage'] },
    { id: 'os', title: 'Operating systems', dimension: 'device:os', metrics: ['visitors', 'percentage'] },
    { id: 'browser_versions', title: 'Browser versions', dimension: 'device:browser_version', metrics: ['visitors', 'percentage'] },
    { id: 'os_versions', title: 'OS versions', dimension: 'device:os_version', metrics: ['visitors', 'percentage'] },
    { id: 'brands', title: 'Brands', dimension: 'device:brand', metrics: ['visitors', 'percentage'] },
    { id: 'models', title: 'Models', dimension: 'device:model', metrics: ['visitors', 'percentage'] },
  ],
} satisfies Record<string, Panel[]>;

/** A panel's query over the view. */
export function panelQuery(projectId: string, view: View, panel: Panel, limit = 10): QueryInput {
  return viewQuery(projectId, view, { metrics: panel.metrics, dimensions: [panel.dimension], filters: panel.filters, limit, compare: false });
}

/** The overview's cards: pages, sources, countries (with the map: every country) and devices, each with tabs. */
export const OVERVIEW_GROUPS = {
  pages: PANELS.pages,
  sources: [PANELS.sources[0]!, PANELS.sources[3]!, PANELS.sources[4]!, PANELS.sources[5]!],
  countries: [PANELS.geo[0]!],
  devices: PANELS.devices.slice(0, 3),
} satisfies Record<string, Panel[]>;
const OVERVIEW_LIMIT: Partial<Record<keyof typeof OVERVIEW_GROUPS, number>> = { countries: 250 };

/** The series chart of a view: every card metric per time bucket (switching the charted metric needs no new query). */
export function seriesQuery(projectId: string, view: View): QueryInput {
  return viewQuery(projectId, view, { metrics: CARD_METRICS, dimensions: [`time:${grainFor(view.range)}`] });
}

/** Every query the overview page runs when it opens: cards, series, and each group's first tab. */
export function overviewQueries(projectId: string, view: View): Record<string, QueryInput> {
  const out: Record<string, QueryInput> = {
    cards: viewQuery(projectId, view, { metrics: CARD_METRICS }),
    series: seriesQuery(projectId, view),
  };
  for (const [group, panels] of Object.entries(OVERVIEW_GROUPS)) {
    out[group] = panelQuery(projectId, view, panels[0]!, OVERVIEW_LIMIT[group as keyof typeof OVERVIEW_GROUPS] ?? 10);
  }
  return out;
}
