/**
 * Random (version 4) UUIDs for event rows, one per event. `crypto.randomUUID` builds each id
 * from twenty concatenated pieces — ≈ 570 bytes of garbage per event, flattened again when the
 * row is written — where this writes the 36 characters into one reused buffer and reads them
 * out as a single string. The random bytes come from the same source (`randomFillSync`,
 * drawn 256 ids at a time, as Node buffers its own).
 */
import { randomFillSync } from 'node:crypto';

const IDS_PER_FILL = 256;
const pool = Buffer.alloc(16 * IDS_PER_FILL);
let next = IDS_PER_FILL;
const text = Buffer.alloc(36);
/** ASCII codes of each byte's two hex digits. */
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  HIGH[b] = '0123456789abcdef'.charCodeAt(b >> 4);
  LOW[b] = '0123456789abcdef'.charCodeAt(b & 15);
}
const DASH = 45;

/** A new random UUID, lower-case hex (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`). */
export function eventId(): string {
  if (next === IDS_PER_FILL) {
    randomFillSync(pool);
    next = 0;
  }
  const at = 16 * next++;
  let out = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[out++] = DASH;
    let b = pool[at + i]!;
    if (i === 6)
      b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
    text[out++] = HIGH[b]!;
    text[out++] = LOW[b]!;
  }
  return text.toString('latin1', 0, 36);
}
