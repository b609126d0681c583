/**
 * Reads an `events` job whose payload does not validate as a whole (an older or buggy
 * producer: one row with a malformed time, a wrong type) row by row, so the rows that are
 * fine are stored and only the bad ones go to the quarantine. Without this, one bad row made
 * the whole job — up to a thousand acknowledged events — unrecoverable.
 */
import type { z } from 'zod';
import { EventRow, emptyBatch, GroupRow, ProfileOp, ReplayRow, SessionRow, type WriteBatch } from '../../shared/rows.ts';
import type { QuarantineTable } from '../store/quarantine.ts';

/** The schema of each kind of row, by its key in a WriteBatch (profile ops go to `profiles`). */
const ROW_SCHEMAS: Record<keyof WriteBatch, z.ZodType> = {
  events: EventRow,
  sessions: SessionRow,
  profiles: ProfileOp,
  groups: GroupRow,
  replays: ReplayRow,
};

export interface Salvaged {
  batch: WriteBatch;
  rows: number;
  /** Rows that do not validate, with where they were and why. */
  invalid: Array<{ table: QuarantineTable; index: number; row: unknown; error: Error }>;
}

/** The job's valid rows and its invalid ones; null when the payload holds no batch to read at all. */
export function salvageBatch(data: unknown): Salvaged | null {
  const batch = (data as { batch?: unknown } | null)?.batch;
  if (!batch || typeof batch !== 'object' || Array.isArray(batch)) return null;
  const out: Salvaged = { batch: emptyBatch(), rows: 0, invalid: [] };
  for (const kind of Object.keys(ROW_SCHEMAS) as Array<keyof WriteBatch>) {
    const rows = (batch as Record<string, unknown>)[kind];
    if (rows === undefined) continue;
    if (!Array.isArray(rows)) return null;
    rows.forEach((row, index) => {
      const parsed = ROW_SCHEMAS[kind].safeParse(row);
      if (parsed.success) {
        (out.batch[kind] as unknown[]).push(parsed.data);
        out.rows++;
      } else {
        out.invalid.push({ table: kind, index, row, error: new Error(`invalid ${kind} row: ${parsed.error.issues[0]?.message ?? 'does not match'}`) });
      }
    });
  }
  return out;
}
