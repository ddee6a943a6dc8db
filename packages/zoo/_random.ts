// Private: the one seeded generator of the repository (batches' shuffle,
// the tests' data). Its sequence is part of what a seed reproduces: do not
// change it.

/**
 * mulberry32 (Tommy Ettinger, 2017): a small, fast 32-bit generator of
 * uniform numbers in [0, 1), each seed giving the same sequence everywhere.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
