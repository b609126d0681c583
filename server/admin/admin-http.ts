/**
 * The server side of the admin CLI: one transport-free handler for
 * `POST /api/admin/<command>` that the uWS app mounts. The token is the random one the
 * server wrote into the 0600 data lock, so only a local user who can read DATA_DIR gets in.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ErrorBody } from '../../shared/errors.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type AdminCommand, type AdminContext, type AdminResults, runAdminCommand } from './commands.ts';

/** Header carrying the admin token. */
export const ADMIN_TOKEN_HEADER = 'x-livepanel-admin-token';
/** URL prefix; the command name follows it. */
export const ADMIN_PATH_PREFIX = '/api/admin/';

/** A fresh admin token to put in the data lock at server start. */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time string comparison (hashing first makes the lengths equal). */
function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export interface AdminResponse {
  status: number;
  /** the command's JSON result, or an error body; serialize with JSON.stringify */
  body: AdminResults[AdminCommand] | ErrorBody;
}

/**
 * Answers one admin request. 401 `bad_secret` for a missing or wrong token (checked first),
 * 404 `not_found` for an unknown command, 400 `invalid_json` / `invalid_body` for bad input,
 * 500 `internal` for anything unexpected (logged when `log` is given). An empty body is `{}`.
 */
export async function handleAdminRequest(
  ctx: AdminContext,
  adminToken: string,
  command: string,
  tokenHeader: string | undefined,
  bodyText: string,
  log?: Logger,
): Promise<AdminResponse> {
  try {
    if (!adminToken || !tokenHeader || !tokensEqual(tokenHeader, adminToken)) {
      throw new AppError(401, 'bad_secret', `missing or wrong ${ADMIN_TOKEN_HEADER}`);
    }
    let args: unknown = {};
    if (bodyText.trim() !== '') {
      try {
        args = JSON.parse(bodyText);
      } catch {
        throw new AppError(400, 'invalid_json', 'body is not JSON');
      }
    }
    return { status: 200, body: await runAdminCommand(ctx, command, args) };
  } catch (err) {
    if (err instanceof AppError) return { status: err.status, body: err.toBody() };
    log?.error({ err, command }, 'admin command failed');
    return { status: 500, body: { error: { code: 'internal', message: 'admin command failed; see the server log' } } };
  }
}
