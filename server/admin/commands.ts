/**
 * The admin command table, independent of transport: the CLI runs it directly (PostgreSQL,
 * or PGlite when no server holds DATA_DIR) and the server runs it for the CLI over
 * `POST /api/admin/<command>`. Arguments are validated here, once, for both paths.
 */
import { z } from 'zod';
import { CLIENT_TYPES } from '../../db/schema.ts';
import { normalizeOrigin } from '../auth/origin.ts';
import { AppError, zodIssues } from '../errors.ts';
import type { Metadata, NewClient, ProjectSummary } from '../store/metadata.ts';
import { type Quarantine, type QuarantineEntry, type ReplayResult, replayQuarantine } from '../store/quarantine.ts';
import type { Writer } from '../store/writer.ts';

const text = z.string().trim().min(1).max(200);
const domain = text.refine((v) => ![null, '*'].includes(normalizeOrigin(v)), 'not a domain (e.g. example.com)');
const origin = z
  .string()
  .max(300)
  .refine((v) => normalizeOrigin(v) !== null, 'not an origin (e.g. https://example.com, *.example.com, localhost:3000)');

const argSchemas = {
  'create-project': z.strictObject({ name: text, domain }),
  'create-client': z.strictObject({
    project: text,
    type: z.enum(CLIENT_TYPES),
    origins: z.array(origin).max(100).default([]),
    name: text.optional(),
  }),
  'list-projects': z.strictObject({}),
  'disable-client': z.strictObject({ client: text }),
  'quarantine-list': z.strictObject({ project: text.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) }),
  'quarantine-replay': z.strictObject({
    project: text.optional(),
    ids: z.array(text).max(10_000).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  }),
  'quarantine-drop': z
    .strictObject({ ids: z.array(text).max(10_000).optional(), all: z.boolean().optional() })
    .refine((a) => (a.ids !== undefined) !== (a.all === true), 'give --id (one or more) or --all'),
} as const;

export type AdminCommand = keyof typeof argSchemas;
export const ADMIN_COMMANDS = Object.keys(argSchemas) as AdminCommand[];

/** Validated arguments of each command. */
export type AdminArgs = { [C in AdminCommand]: z.output<(typeof argSchemas)[C]> };

/** JSON result of each command. */
export interface AdminResults {
  'create-project': NewClient & { projectId: string };
  'create-client': NewClient;
  'list-projects': ProjectSummary[];
  'disable-client': { clientId: string; disabled: true };
  'quarantine-list': { count: number; entries: QuarantineEntry[] };
  'quarantine-replay': ReplayResult;
  'quarantine-drop': { dropped: number };
}

/** The event store, for the quarantine commands (held by the process that opens ClickHouse). */
export interface AdminStore {
  quarantine: Quarantine;
  insertRows: Writer['insertRows'];
}

/** True when `command` names an admin command. */
export function isAdminCommand(command: string): command is AdminCommand {
  return Object.hasOwn(argSchemas, command);
}

/**
 * Validates `args` for `command`. 404 `not_found` for an unknown command, 400 `invalid_body`
 * (with issues) for bad arguments. Callers may use it to fail before opening any database.
 */
export function parseAdminArgs<C extends string>(command: C, args: unknown): C extends AdminCommand ? AdminArgs[C] : never;
export function parseAdminArgs(command: string, args: unknown): AdminArgs[AdminCommand] {
  if (!isAdminCommand(command)) {
    throw new AppError(404, 'not_found', `unknown admin command ${JSON.stringify(command)}; commands: ${ADMIN_COMMANDS.join(', ')}`);
  }
  const parsed = argSchemas[command].safeParse(args);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    const summary = issues.map((i) => `${i.path || '(args)'}: ${i.message}`).join('; ');
    throw new AppError(400, 'invalid_body', `invalid arguments for ${command}: ${summary}`, issues);
  }
  return parsed.data;
}

function needStore(store: AdminStore | undefined): AdminStore {
  if (!store)
    throw new AppError(503, 'not_ready', 'This process does not hold the event store; run the command where ClickHouse is opened (the worker or web role)');
  return store;
}

const handlers: { [C in AdminCommand]: (md: Metadata, args: AdminArgs[C], store?: AdminStore) => Promise<AdminResults[C]> } = {
  'create-project': (md, a) => md.createProject({ name: a.name, domain: a.domain }),
  'create-client': (md, a) => md.createClient({ projectId: a.project, type: a.type, origins: a.origins, name: a.name }),
  'list-projects': (md) => md.listProjects(),
  'disable-client': async (md, a) => {
    await md.disableClient(a.client);
    return { clientId: a.client, disabled: true as const };
  },
  'quarantine-list': async (_md, a, store) => {
    const q = needStore(store).quarantine;
    return { count: await q.count(), entries: await q.list({ projectId: a.project, limit: a.limit }) };
  },
  'quarantine-replay': async (_md, a, store) => {
    const { quarantine, insertRows } = needStore(store);
    let entries = await quarantine.list({ projectId: a.project, limit: a.ids ? 10_000 : a.limit });
    if (a.ids) entries = entries.filter((e) => a.ids!.includes(e.id));
    return replayQuarantine(quarantine, insertRows, entries);
  },
  'quarantine-drop': async (_md, a, store) => ({ dropped: await needStore(store).quarantine.drop(a.all ? undefined : a.ids) }),
};

/** True for the commands that need the event store (AdminStore) rather than the metadata database. */
export const needsStore = (command: string) => command.startsWith('quarantine-');

/** Validates `args` and runs `command` against the metadata store; throws AppError on bad input. */
export async function runAdminCommand<C extends AdminCommand>(metadata: Metadata, command: C, args: unknown, store?: AdminStore): Promise<AdminResults[C]>;
export async function runAdminCommand(metadata: Metadata, command: string, args: unknown, store?: AdminStore): Promise<AdminResults[AdminCommand]>;
export async function runAdminCommand(metadata: Metadata, command: string, args: unknown, store?: AdminStore): Promise<AdminResults[AdminCommand]> {
  const parsed = parseAdminArgs(command, args);
  const handler = handlers[command as AdminCommand] as (md: Metadata, a: typeof parsed, store?: AdminStore) => Promise<AdminResults[AdminCommand]>;
  return handler(metadata, parsed, store);
}
