/**
 * Bus: typed publish/subscribe between processes (live ticks, cache invalidation, control
 * messages). Messages are JSON: a subscriber receives a parsed copy, never the publisher's
 * object, on every implementation. Delivery is at-most-once and asynchronous (never inside
 * `publish`); messages from one publisher on one bus arrive in the order published.
 * Implementations: `bus.memory.ts` (one process), `bus.redis.ts` (Redis pub/sub); both pass
 * `bus.contract.ts`.
 */

/** Channel name → message type. Callers define theirs (ideally from zod schemas in `shared/`). */
export type ChannelMap = Record<string, unknown>;

export type Handler<T> = (message: T) => void;
export type Unsubscribe = () => Promise<void>;

export interface Bus<M extends ChannelMap = ChannelMap> {
  /** Sends `message` (JSON-serialisable) to every current subscriber of `channel` in every process. */
  publish<C extends keyof M & string>(channel: C, message: M[C]): Promise<void>;
  /**
   * Calls `handler` for each message on `channel` until the returned function is called.
   * Resolves once the subscription is active: anything published after that is delivered.
   * A handler that throws is reported to the bus' `onError`, not to the publisher.
   */
  subscribe<C extends keyof M & string>(channel: C, handler: Handler<M[C]>): Promise<Unsubscribe>;
  /** Drops every subscription and releases what the bus opened (not a client it was given). */
  close(): Promise<void>;
}

export interface BusOptions {
  /** Called when a handler throws or a message cannot be parsed (default: ignore). */
  onError?: (err: unknown, channel: string) => void;
}

/** Calls each handler with the message, reporting rather than propagating handler errors. */
export function dispatch(handlers: Iterable<Handler<unknown>>, message: unknown, channel: string, opts: BusOptions): void {
  for (const handler of [...handlers]) {
    try {
      handler(message);
    } catch (err) {
      opts.onError?.(err, channel);
    }
  }
}
