/**
 * Redis Bus for the distributed shape. Publishes on the client it is given; subscribes on a
 * dedicated connection duplicated from it (a subscribed connection can do nothing else),
 * opened on the first subscribe and closed by `close()`. Redis channel = `P bus:<channel>`.
 * One Redis subscription per channel, shared by the local handlers; commands go out on one
 * connection in the order handlers come and go, so SUBSCRIBE/UNSUBSCRIBE never cross.
 */
import type { Redis } from 'ioredis';
import { type Bus, type BusOptions, type ChannelMap, dispatch, type Handler } from './bus.ts';

export interface RedisBusOptions extends BusOptions {
  /** Owned by the caller: used to publish and as the template of the subscriber connection. */
  redis: Redis;
  prefix: string;
}

interface Channel {
  handlers: Set<Handler<unknown>>;
  /** Settles when Redis has confirmed the SUBSCRIBE for the current set of handlers. */
  ready: Promise<unknown>;
}

export function createRedisBus<M extends ChannelMap = ChannelMap>(opts: RedisBusOptions): Bus<M> {
  const { redis, prefix } = opts;
  const channelPrefix = `${prefix}bus:`;
  const channels = new Map<string, Channel>();
  let sub: Redis | undefined;

  const subscriber = () => {
    if (sub) return sub;
    sub = redis.duplicate();
    sub.on('message', (redisChannel: string, raw: string) => {
      const name = redisChannel.slice(channelPrefix.length);
      const ch = channels.get(name);
      if (!ch) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch (err) {
        opts.onError?.(err, name);
        return;
      }
      dispatch(ch.handlers, message, name, opts);
    });
    // Errors surface on commands; without a listener ioredis would log them as unhandled.
    sub.on('error', (err) => opts.onError?.(err, '*'));
    return sub;
  };

  return {
    async publish(channel, message) {
      const json = JSON.stringify(message);
      if (json === undefined) throw new TypeError(`bus: message on ${channel} is not JSON-serialisable`);
      await redis.publish(channelPrefix + channel, json);
    },

    async subscribe(channel, handler) {
      const h = handler as Handler<unknown>;
      let ch = channels.get(channel);
      if (!ch) {
        ch = { handlers: new Set(), ready: subscriber().subscribe(channelPrefix + channel) };
        channels.set(channel, ch);
      }
      ch.handlers.add(h);
      const current = ch;
      try {
        await current.ready;
      } catch (err) {
        current.handlers.delete(h);
        if (current.handlers.size === 0 && channels.get(channel) === current) channels.delete(channel);
        throw err;
      }
      return async () => {
        if (!current.handlers.delete(h) || current.handlers.size > 0) return;
        if (channels.get(channel) === current) channels.delete(channel);
        if (sub) await sub.unsubscribe(channelPrefix + channel);
      };
    },

    async close() {
      channels.clear();
      const s = sub;
      sub = undefined;
      if (s) await s.quit().catch(() => s.disconnect());
    },
  };
}
