/**
 * An indexed binary min-heap of key → expiry time, for the in-process session store: each key
 * has at most one entry, re-scoring moves it in place (O(log n)), and the earliest expiry is
 * at the top, so the reaper reads only what is due instead of scanning every open session.
 */
export class ExpiryHeap {
  private keys: string[] = [];
  private scores: number[] = [];
  private index = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  /** Adds `key` or moves it to `score`. */
  set(key: string, score: number): void {
    const i = this.index.get(key);
    if (i === undefined) {
      this.keys.push(key);
      this.scores.push(score);
      this.index.set(key, this.keys.length - 1);
      this.up(this.keys.length - 1);
      return;
    }
    const old = this.scores[i]!;
    this.scores[i] = score;
    if (score < old) this.up(i);
    else this.down(i);
  }

  delete(key: string): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    const last = this.keys.length - 1;
    this.swap(i, last);
    this.keys.pop();
    this.scores.pop();
    this.index.delete(key);
    if (i < last) {
      this.up(i);
      this.down(i);
    }
  }

  /** The lowest score (undefined when empty). */
  minScore(): number | undefined {
    return this.scores[0];
  }

  /** Removes and returns the key with the lowest score if that score is <= `max`. */
  popAtMost(max: number): string | undefined {
    if (this.keys.length === 0 || this.scores[0]! > max) return undefined;
    const key = this.keys[0]!;
    this.delete(key);
    return key;
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
    const n = this.keys.length;
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
    const k = this.keys[a]!;
    const s = this.scores[a]!;
    this.keys[a] = this.keys[b]!;
    this.scores[a] = this.scores[b]!;
    this.keys[b] = k;
    this.scores[b] = s;
    this.index.set(this.keys[a]!, a);
    this.index.set(k, b);
  }
}
