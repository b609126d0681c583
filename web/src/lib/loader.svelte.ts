/**
 * One piece of remote data a page shows, with its loading and error state. `load()` replaces
 * what is in flight: the previous request is aborted and a late answer to it is ignored, so a
 * quick change of range or filter never shows an old answer. The last data stays visible
 * (dimmed by the view) while the next loads.
 */
export class Loader<T> {
  data = $state.raw<T | undefined>(undefined);
  error = $state.raw<Error | undefined>(undefined);
  loading = $state(false);
  #seq = 0;
  #abort: AbortController | undefined;

  load(fetcher: (signal: AbortSignal) => Promise<T>): Promise<void> {
    const seq = ++this.#seq;
    this.#abort?.abort();
    const ac = new AbortController();
    this.#abort = ac;
    this.loading = true;
    this.error = undefined;
    return fetcher(ac.signal).then(
      (data) => {
        if (seq !== this.#seq) return;
        this.data = data;
        this.loading = false;
      },
      (err: Error) => {
        if (seq !== this.#seq || err.name === 'AbortError') return;
        this.error = err;
        this.loading = false;
      },
    );
  }

  /** Aborts what is in flight (the view is going away). */
  dispose(): void {
    this.#seq++;
    this.#abort?.abort();
  }
}
