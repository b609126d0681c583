/**
 * Keys in the order they were last touched, for evicting the least recently touched one:
 * `touch`, `delete` and `oldest` in amortised O(1). A touch appends the key to a queue with a
 * sequence number and remembers the key's latest number; an entry whose key was touched again
 * or deleted since is dropped when it reaches the front, and the queue is rebuilt from its
 * live entries once it is more than twice their number.
 *
 * Why not a Map re-inserted on every touch and evicted with `keys().next()`: V8 leaves deleted
 * entries as holes at the front of the table, and every such call walks over them — a session
 * touch went from 4 to 15–76 µs once a project held its 100,000 sessions (docs/benchmarks.md).
 */
export class TouchOrder<K> {
  /** Each live key's latest sequence number. */
  #latest = new Map<K, number>();
  #keys: K[] = [];
  #seqs: number[] = [];
  #head = 0;
  #seq = 0;

  get size(): number {
    return this.#latest.size;
  }

  /** `key` is now the most recently touched. */
  touch(key: K): void {
    const seq = ++this.#seq;
    this.#latest.set(key, seq);
    this.#keys.push(key);
    this.#seqs.push(seq);
    if (this.#keys.length > 2 * this.#latest.size + 1024) this.#compact();
  }

  delete(key: K): void {
    this.#latest.delete(key);
  }

  /** The least recently touched key still held (it stays until deleted). */
  oldest(): K | undefined {
    while (this.#head < this.#keys.length) {
      const key = this.#keys[this.#head]!;
      if (this.#latest.get(key) === this.#seqs[this.#head]) return key;
      this.#head++;
    }
    return undefined;
  }

  #compact(): void {
    const keys: K[] = [];
    const seqs: number[] = [];
    for (let i = this.#head; i < this.#keys.length; i++) {
      const key = this.#keys[i]!;
      if (this.#latest.get(key) !== this.#seqs[i]) continue;
      keys.push(key);
      seqs.push(this.#seqs[i]!);
    }
    this.#keys = keys;
    this.#seqs = seqs;
    this.#head = 0;
  }
}
