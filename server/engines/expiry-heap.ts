/**
 * An indexed binary min-heap of items by expiry time, for the in-process session store: each
 * item is in it at most once, re-scoring moves it in place (O(log n)), and the earliest expiry
 * is at the top, so the reaper reads only what is due instead of scanning every open session.
 *
 * The heap is intrusive: an item carries its own position (`heapIndex`), so a move costs a
 * field write per level instead of a Map write per level, and the store holds no Map of
 * positions beside its sessions (one Map entry per open session fewer).
 */

/** What the heap keeps in an item: its position, -1 when the item is not in the heap. */
export interface HeapItem {
  heapIndex: number;
}

export class ExpiryHeap<T extends HeapItem> {
  private items: T[] = [];
  private scores: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Adds `item` or moves it to `score`. */
  set(item: T, score: number): void {
    const i = item.heapIndex;
    if (i < 0) {
      item.heapIndex = this.items.length;
      this.items.push(item);
      this.scores.push(score);
      this.up(item.heapIndex);
      return;
    }
    const old = this.scores[i]!;
    this.scores[i] = score;
    if (score < old) this.up(i);
    else this.down(i);
  }

  delete(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.items.length - 1;
    this.swap(i, last);
    this.items.pop();
    this.scores.pop();
    item.heapIndex = -1;
    if (i < last) {
      this.up(i);
      this.down(i);
    }
  }

  /** The lowest score (undefined when empty). */
  minScore(): number | undefined {
    return this.scores[0];
  }

  /** Removes and returns the item with the lowest score if that score is <= `max`. */
  popAtMost(max: number): T | undefined {
    if (this.items.length === 0 || this.scores[0]! > max) return undefined;
    const item = this.items[0]!;
    this.delete(item);
    return item;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.scores[parent]! <= this.scores[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && this.scores[l]! < this.scores[min]!) min = l;
      if (r < n && this.scores[r]! < this.scores[min]!) min = r;
      if (min === i) return;
      this.swap(i, min);
      i = min;
    }
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    const x = this.items[a]!;
    const s = this.scores[a]!;
    const y = this.items[b]!;
    this.items[a] = y;
    this.scores[a] = this.scores[b]!;
    this.items[b] = x;
    this.scores[b] = s;
    y.heapIndex = a;
    x.heapIndex = b;
  }
}
