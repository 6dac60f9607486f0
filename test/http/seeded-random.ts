import { randomInt } from 'node:crypto';

/** The seed of a fuzz run: `FUZZ_SEED` to replay one, otherwise a fresh one (print it). */
export function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given.trim() !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('FUZZ_SEED must be a whole number');
    return seed >>> 0;
  }
  return randomInt(2 ** 31);
}

/** A small seeded generator (mulberry32): the same seed gives the same run. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  hex(length: number): string {
    return this.string(length, '0123456789abcdef');
  }

  guid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }

  /** Random text from odd corners of Unicode: controls, accents, RTL, fullwidth, emoji, replacement. */
  unicode(length: number): string {
    const ranges: [number, number][] = [
      [0x01, 0x1f],
      [0x7f, 0x9f],
      [0xc0, 0x24f],
      [0x590, 0x5ff],
      [0x200b, 0x200f],
      [0xff10, 0xff5a],
      [0xfffd, 0xfffd],
      [0x1f600, 0x1f64f],
    ];
    let out = '';
    for (let i = 0; i < length; i++) {
      const [lo, hi] = this.pick(ranges);
      out += String.fromCodePoint(this.int(lo, hi));
    }
    return out;
  }
}
