/**
 * Items in the order they were last touched, for evicting the least recently touched one:
 * `touch`, `delete` and `oldest` in amortised O(1). A touch appends the item to a queue with a
 * sequence number and writes that number into the item (`touchSeq`); a queue entry whose item
 * was touched again or deleted since (its number no longer matches) is dropped when it reaches
 * the front, and the queue is rebuilt from its live entries once it is more than twice their
 * number.
 *
 * Why not a Map re-inserted on every touch and evicted with `keys().next()`: V8 leaves deleted
 * entries as holes at the front of the table, and every such call walks over them — a session
 * touch went from 4 to 15–76 µs once a project held its 100,000 sessions (docs/benchmarks.md).
 * Why the number lives in the item rather than in a Map of key → number: the session store
 * then keeps one Map entry per open session instead of three (docs/benchmarks.md).
 */

/** What the order keeps in an item: its latest sequence number, 0 when the item is not held. */
export interface Touched {
  touchSeq: number;
}

export class TouchOrder<T extends Touched> {
  #items: Array<T | undefined> = [];
  #seqs: number[] = [];
  #head = 0;
  #seq = 0;
  #size = 0;

  /** Items held (touched and not deleted since). */
  get size(): number {
    return this.#size;
  }

  /** `item` is now the most recently touched. */
  touch(item: T): void {
    if (item.touchSeq === 0) this.#size++;
    const seq = ++this.#seq;
    item.touchSeq = seq;
    this.#items.push(item);
    this.#seqs.push(seq);
    if (this.#items.length > 2 * this.#size + 1024) this.#compact();
  }

  /** Forgets `item` (a no-op when it is not held). */
  delete(item: T): void {
    if (item.touchSeq === 0) return;
    item.touchSeq = 0;
    this.#size--;
  }

  /** The least recently touched item still held (it stays until deleted). */
  oldest(): T | undefined {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (item.touchSeq === this.#seqs[this.#head]) return item;
      // Dropped at once, not only at the next rebuild: a deleted item may hold a whole session.
      this.#items[this.#head] = undefined;
      this.#head++;
    }
    return undefined;
  }

  #compact(): void {
    const items: Array<T | undefined> = [];
    const seqs: number[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.touchSeq !== this.#seqs[i]) continue;
      items.push(item);
      seqs.push(this.#seqs[i]!);
    }
    this.#items = items;
    this.#seqs = seqs;
    this.#head = 0;
  }
}
