/**
 * Boards (saved layouts of live tiles) in the metadata database. The layout is stored as JSON
 * already validated by shared/boards.ts; it is parsed again when read, so a row written by an
 * older version with fields since renamed still answers (defaults fill what is missing, and a
 * layout that no longer parses answers as an empty board rather than failing the page).
 */
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { boards } from '../../db/schema.ts';
import { BOARD_LIMITS, type Board, BoardLayout } from '../../shared/boards.ts';
import { AppError } from '../errors.ts';
import type { MetadataDb } from './postgres.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type Row = typeof boards.$inferSelect;

function board(r: Row): Board {
  const layout = BoardLayout.safeParse(r.layout);
  return {
    id: r.id,
    projectId: r.projectId,
    name: r.name,
    layout: layout.success ? layout.data : { tiles: [], highlights: true },
    version: r.version,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

const noBoard = () => new AppError(404, 'not_found', 'No such board');

export function createBoardStore(db: MetadataDb) {
  return {
    async list(projectId: string): Promise<Board[]> {
      const rows = await db.select().from(boards).where(eq(boards.projectId, projectId)).orderBy(asc(boards.createdAt), asc(boards.id));
      return rows.map(board);
    },

    /** The board of this project, or null (an id of another project answers null too). */
    async get(projectId: string, id: string): Promise<Board | null> {
      if (!UUID.test(id)) return null;
      const [row] = await db
        .select()
        .from(boards)
        .where(and(eq(boards.projectId, projectId), eq(boards.id, id)))
        .limit(1);
      return row ? board(row) : null;
    },

    async create(b: { projectId: string; name: string; layout: BoardLayout; createdBy: string | null }): Promise<Board> {
      const [{ n }] = (await db.select({ n: count() }).from(boards).where(eq(boards.projectId, b.projectId))) as [{ n: number }];
      if (n >= BOARD_LIMITS.perProject) throw new AppError(409, 'conflict', `A project has at most ${BOARD_LIMITS.perProject} boards; delete one first`);
      const [row] = await db.insert(boards).values({ projectId: b.projectId, name: b.name, layout: b.layout, createdBy: b.createdBy }).returning();
      return board(row!);
    },

    /**
     * Renames and/or replaces the layout. With `version`, only over that version (409
     * `conflict` when someone saved in between); 404 when the board is not the project's.
     */
    async update(projectId: string, id: string, change: { name?: string; layout?: BoardLayout; version?: number }): Promise<Board> {
      if (!UUID.test(id)) throw noBoard();
      const where = [eq(boards.projectId, projectId), eq(boards.id, id)];
      if (change.version !== undefined) where.push(eq(boards.version, change.version));
      const [row] = await db
        .update(boards)
        .set({
          ...(change.name !== undefined && { name: change.name }),
          ...(change.layout !== undefined && { layout: change.layout }),
          version: sql`${boards.version} + 1`,
          updatedAt: new Date(),
        })
        .where(and(...where))
        .returning();
      if (row) return board(row);
      if (change.version !== undefined && (await this.get(projectId, id))) {
        throw new AppError(409, 'conflict', 'This board was changed by someone else since you opened it; reload it and apply your change again');
      }
      throw noBoard();
    },

    async delete(projectId: string, id: string): Promise<Board> {
      if (!UUID.test(id)) throw noBoard();
      const [row] = await db
        .delete(boards)
        .where(and(eq(boards.projectId, projectId), eq(boards.id, id)))
        .returning();
      if (!row) throw noBoard();
      return board(row);
    },

    async exists(projectId: string, id: string): Promise<boolean> {
      return (await this.get(projectId, id)) !== null;
    },
  };
}

export type BoardStore = ReturnType<typeof createBoardStore>;
