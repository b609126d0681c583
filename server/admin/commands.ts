/**
 * The admin command table, independent of transport: the CLI runs it directly (PostgreSQL,
 * or PGlite when no server holds DATA_DIR) and the server runs it for the CLI over
 * `POST /api/admin/<command>`. Arguments are validated here, once, for both paths.
 */
import { z } from 'zod';
import { CLIENT_TYPES } from '../../db/schema.ts';
import { PROJECT_RATE_LIMITS, type ProjectRateLimits, RateSpecText } from '../../shared/rate-limits.ts';
import { normalizeOrigin } from '../auth/origin.ts';
import { AppError, zodIssues } from '../errors.ts';
import type { Metadata, NewClient, ProjectSummary } from '../store/metadata.ts';

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
  'set-rate-limits': z.strictObject({
    project: text,
    /** `name=value` pairs: a limit (`2000/10s`), `off`, or `default` to drop the override. */
    limits: z
      .array(
        z
          .string()
          .max(80)
          .transform((pair, ctx) => {
            const [name = '', value = ''] = pair.split('=', 2).map((x) => x.trim());
            if (!(PROJECT_RATE_LIMITS as readonly string[]).includes(name)) {
              ctx.addIssue({ code: 'custom', message: `${JSON.stringify(name)} is not a per-project limit (${PROJECT_RATE_LIMITS.join(', ')})` });
            } else if (value !== 'default' && !RateSpecText.safeParse(value).success) {
              ctx.addIssue({ code: 'custom', message: `${name}: ${JSON.stringify(value)} is not a limit (1000/10s, 600/1m, off or default)` });
            }
            return [name, value] as const;
          }),
      )
      .max(PROJECT_RATE_LIMITS.length)
      .default([]),
  }),
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
  'set-rate-limits': { projectId: string; rateLimits: ProjectRateLimits };
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

const handlers: { [C in AdminCommand]: (md: Metadata, args: AdminArgs[C]) => Promise<AdminResults[C]> } = {
  'create-project': (md, a) => md.createProject({ name: a.name, domain: a.domain }),
  'create-client': (md, a) => md.createClient({ projectId: a.project, type: a.type, origins: a.origins, name: a.name }),
  'list-projects': (md) => md.listProjects(),
  'set-rate-limits': async (md, a) => ({ projectId: a.project, rateLimits: await md.setProjectRateLimits(a.project, Object.fromEntries(a.limits)) }),
  'disable-client': async (md, a) => {
    await md.disableClient(a.client);
    return { clientId: a.client, disabled: true as const };
  },
};

/** Validates `args` and runs `command` against the metadata store; throws AppError on bad input. */
export async function runAdminCommand<C extends AdminCommand>(metadata: Metadata, command: C, args: unknown): Promise<AdminResults[C]>;
export async function runAdminCommand(metadata: Metadata, command: string, args: unknown): Promise<AdminResults[AdminCommand]>;
export async function runAdminCommand(metadata: Metadata, command: string, args: unknown): Promise<AdminResults[AdminCommand]> {
  const parsed = parseAdminArgs(command, args);
  const handler = handlers[command as AdminCommand] as (md: Metadata, a: typeof parsed) => Promise<AdminResults[AdminCommand]>;
  return handler(metadata, parsed);
}
