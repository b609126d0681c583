/**
 * One error type for every expected failure: an HTTP status plus a stable code from
 * `shared/errors.ts`. Transports turn it into a response in one place (`http/respond.ts`);
 * anything else that is thrown is a bug and answers 500 `internal`.
 */
import type { ErrorBody, ErrorCode } from '../shared/errors.ts';

export type Issue = { path: string; message: string };

export class AppError extends Error {
  /** For 429/503: how long the caller should wait (sent as `Retry-After`, and in the body). */
  retryAfterMs?: number;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = 'AppError';
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues ? { issues: this.issues } : {}),
        ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      },
    };
  }
}

/** 429 `rate_limited`, telling the client when to try again. */
export function rateLimitedError(retryAfterMs: number, message: string): AppError {
  const err = new AppError(429, 'rate_limited', message);
  err.retryAfterMs = Math.max(1, Math.ceil(retryAfterMs));
  return err;
}

/** zod issues → our `{path, message}` list (first 20). */
export function zodIssues(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): Issue[] {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}
