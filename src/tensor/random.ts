// xoshiro128** (Blackman & Vigna, 2018): a small, fast generator with a 128-bit state that fits
// in four uint32 words, so its state serialises to JSON exactly and training can resume
// bit-exactly. Seeds are expanded with SplitMix64, as the authors recommend.

const MASK64 = (1n << 64n) - 1n;

function splitMix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(s: readonly number[]) {
    this.s0 = s[0]! >>> 0;
    this.s1 = s[1]! >>> 0;
    this.s2 = s[2]! >>> 0;
    this.s3 = s[3]! >>> 0;
  }

  /** A generator seeded from any integer (number or bigint; taken modulo 2^64). */
  static fromSeed(seed: number | bigint): Rng {
    if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
      throw new Error(`seed must be an integer, got ${seed}`);
    }
    let x = BigInt.asUintN(64, BigInt(seed));
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      let out: bigint;
      [x, out] = splitMix64(x);
      words.push(Number(out & 0xffffffffn), Number(out >> 32n));
    }
    if (!words.some((w) => w !== 0)) words[0] = 1; // the all-zero state is a fixed point
    return new Rng(words);
  }

  /** A generator continuing from a state returned by `state()`. */
  static fromState(state: readonly number[]): Rng {
    if (
      !Array.isArray(state) || state.length !== 4 ||
      !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || state.every((w) => w === 0)
    ) {
      throw new Error(`invalid RNG state ${JSON.stringify(state)}: expected four uint32 words, not all zero`);
    }
    return new Rng(state);
  }

  /** The state as four uint32 numbers (JSON-safe). */
  state(): number[] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  clone(): Rng {
    return new Rng(this.state());
  }

  /** The next uniformly distributed uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** A uniform float in [0, 1) with 24 random bits (exactly representable in float32). */
  nextFloat(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }

  /** A uniform integer in [0, n), unbiased (rejection sampling), for 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new RangeError(`nextInt: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n); // largest multiple of n that fits
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Advance by 2^64 steps: gives a non-overlapping stream for another consumer. */
  jump(): void {
    const JUMP = [0x8764000b, 0xf542d2d3, 0x6fa035c3, 0x77f2db5b];
    let a = 0, b = 0, c = 0, d = 0;
    for (const word of JUMP) {
      for (let bit = 0; bit < 32; bit++) {
        if (word & (1 << bit)) {
          a ^= this.s0;
          b ^= this.s1;
          c ^= this.s2;
          d ^= this.s3;
        }
        this.nextU32();
      }
    }
    this.s0 = a >>> 0;
    this.s1 = b >>> 0;
    this.s2 = c >>> 0;
    this.s3 = d >>> 0;
  }
}

/** Fisher–Yates: overwrite `out` with a uniformly random permutation of 0..out.length-1. */
export function permutation(rng: Rng, out: Int32Array): Int32Array {
  for (let i = 0; i < out.length; i++) out[i] = i;
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** Sampling helpers on top of the raw stream (weight initialisation, tests). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * (rng.nextU32() / 4294967296);
}

/** Standard normal by Box–Muller (one value per call keeps the stream simple to resume). */
export function normal(rng: Rng): number {
  const u = 1 - rng.nextU32() / 4294967296;
  const v = rng.nextU32() / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The generator behind parameter initialisation; `manualSeed` resets it, like torch.manual_seed. */
let global = Rng.fromSeed(0);
export function manualSeed(seed: number): void {
  global = Rng.fromSeed(seed);
}
export function globalRng(): Rng {
  return global;
}

/** Run `fn` and put the global generator back as it was (building a model whose weights are then loaded must not move the caller's stream). */
export function withRngSaved<T>(fn: () => T): T {
  const saved = global.clone();
  try {
    return fn();
  } finally {
    global = saved;
  }
}
