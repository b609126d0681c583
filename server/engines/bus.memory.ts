/**
 * In-process Bus for the embedded shape. Messages go through JSON and are delivered on a
 * later microtask, so handlers see exactly what a Redis subscriber would (a copy, never
 * synchronously inside `publish`).
 */
import { type Bus, type BusOptions, type ChannelMap, dispatch, type Handler } from './bus.ts';

export function createMemoryBus<M extends ChannelMap = ChannelMap>(opts: BusOptions = {}): Bus<M> {
  const channels = new Map<string, Set<Handler<unknown>>>();
  return {
    async publish(channel, message) {
      const json = JSON.stringify(message);
      if (json === undefined) throw new TypeError(`bus: message on ${channel} is not JSON-serialisable`);
      const handlers = channels.get(channel);
      if (!handlers || handlers.size === 0) return;
      const targets = [...handlers];
      queueMicrotask(() => dispatch(targets, JSON.parse(json), channel, opts));
    },
    async subscribe(channel, handler) {
      const handlers = channels.get(channel) ?? new Set<Handler<unknown>>();
      channels.set(channel, handlers);
      const h = handler as Handler<unknown>;
      handlers.add(h);
      return async () => {
        handlers.delete(h);
        if (handlers.size === 0 && channels.get(channel) === handlers) channels.delete(channel);
      };
    },
    async close() {
      channels.clear();
    },
  };
}
