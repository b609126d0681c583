/**
 * Erasing a deleted project's analytics from ClickHouse, durably. Deleting a project records
 * the erase as owed in the metadata database, in the same transaction (`project_erasures`, see
 * store/projects.ts); the eraser then runs one `ALTER TABLE … DELETE WHERE project_id = …` per
 * table that holds project rows — every MergeTree-family table of the database with a
 * `project_id` column, found in `system.columns`, so rollups added by later migrations are
 * covered (the quarantine excepted) — waiting for each mutation to finish, and only then removes the record. A process
 * that dies mid-way leaves the record; every process with the `web` role replays what is owed
 * when it starts and then every `intervalMs` (a failed attempt is retried the same way). The
 * delete is idempotent, so replaying a half-done erase, or two nodes replaying the same one, is
 * harmless. Rows of the project still on their way from ingest when it was deleted may land
 * after the erase; they belong to no project anyone can open.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../log.ts';

/** Tables keyed by project that an erase leaves alone: quarantined rows stay for the operator (README "quarantine"). */
const KEPT_TABLES = ['quarantine'];

/** Tables of the current database holding project rows (every rollup included). */
export async function projectTables(ch: ClickHouseClient): Promise<string[]> {
  const rs = await ch.query({
    query: `SELECT name FROM system.tables
      WHERE database = currentDatabase() AND engine LIKE '%MergeTree' AND name NOT IN {kept:Array(String)}
        AND name IN (SELECT table FROM system.columns WHERE database = currentDatabase() AND name = 'project_id')
      ORDER BY name`,
    query_params: { kept: KEPT_TABLES },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ name: string }>()).map((r) => r.name);
}

const quoteIdent = (name: string) => `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;

/** Deletes every row of `projectId` from every project table, each mutation waited for. */
export async function eraseProjectData(ch: ClickHouseClient, projectId: string): Promise<void> {
  for (const table of await projectTables(ch)) {
    await ch.command({
      query: `ALTER TABLE ${quoteIdent(table)} DELETE WHERE project_id = {p:String}`,
      query_params: { p: projectId },
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
}

/** Where owed erases are recorded (the metadata repository). */
export interface ErasureStore {
  pendingErasures(): Promise<Array<{ projectId: string }>>;
  erasureFailed(projectId: string, error: string): Promise<void>;
  erasureDone(projectId: string): Promise<void>;
}

export interface ProjectEraserOptions {
  ch: ClickHouseClient;
  store: ErasureStore;
  log: Logger;
  /** How often owed erases are replayed after the one at start (default 10 minutes). */
  intervalMs?: number;
}

export function createProjectEraser(o: ProjectEraserOptions) {
  const log = o.log.child({ module: 'project-erase' });
  const running = new Map<string, Promise<boolean>>();
  let timer: ReturnType<typeof setInterval> | undefined;

  /** Erases one deleted project's analytics; true once nothing is owed for it. Never throws. */
  function erase(projectId: string): Promise<boolean> {
    const busy = running.get(projectId);
    if (busy) return busy;
    const job = (async () => {
      try {
        await eraseProjectData(o.ch, projectId);
        await o.store.erasureDone(projectId);
        log.info({ projectId }, 'deleted project’s analytics erased');
        return true;
      } catch (err) {
        log.warn({ err, projectId }, 'erasing a deleted project’s analytics failed; retried later');
        await o.store.erasureFailed(projectId, err instanceof Error ? err.message : String(err)).catch(() => {});
        return false;
      } finally {
        running.delete(projectId);
      }
    })();
    running.set(projectId, job);
    return job;
  }

  /** Erases everything owed (left by a process that died, or failed before); answers how many are done. */
  async function replay(): Promise<number> {
    let done = 0;
    let owed: Array<{ projectId: string }>;
    try {
      owed = await o.store.pendingErasures();
    } catch (err) {
      log.warn({ err }, 'reading owed project erases failed; retried later');
      return 0;
    }
    for (const { projectId } of owed) if (await erase(projectId)) done++;
    return done;
  }

  return {
    erase,
    replay,
    /** Replays now (in the background) and then every `intervalMs`. */
    start(): void {
      void replay();
      timer = setInterval(() => void replay(), o.intervalMs ?? 600_000);
      timer.unref();
    },
    /** Stops replaying; waits for erases in flight. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await Promise.all(running.values());
    },
  };
}

export type ProjectEraser = ReturnType<typeof createProjectEraser>;
