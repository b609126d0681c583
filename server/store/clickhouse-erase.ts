/**
 * Erases a deleted project's analytics from ClickHouse: one `ALTER TABLE … DELETE` mutation per
 * table holding project rows (ClickHouse applies them in the background). Rows still on their
 * way from ingest when the project was deleted may land afterwards; they belong to no project
 * anyone can open, and a later erase (or TTL) removes them.
 */
import type { ClickHouseClient } from '@clickhouse/client';

/** Every table keyed by project (the rollups included; rollups.int.test.ts checks the list against the schema). */
export const PROJECT_TABLES = [
  'events',
  'sessions',
  'profiles',
  'groups',
  'replays',
  'events_hourly',
  'events_daily',
  'pages_hourly',
  'pages_daily',
  'visits_daily',
  'sessions_daily',
  'sessions_hourly',
] as const;

export async function eraseProjectData(ch: ClickHouseClient, projectId: string): Promise<void> {
  for (const table of PROJECT_TABLES) {
    await ch.command({ query: `ALTER TABLE ${table} DELETE WHERE project_id = {p:String}`, query_params: { p: projectId } });
  }
}
