// Seeded data for reproducible tests.
import { mulberry32 } from "../packages/zoo/_random.ts";

/** A seeded uniform generator in [0, 1) (mulberry32), for reproducible data. */
export const rng: (seed: number) => () => number = mulberry32;

/** Seeded standard-normal values (Box-Muller), as a float64 array. */
export function randn(n: number, seed: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    out[i] = r * Math.cos(2 * Math.PI * u());
  }
  return out;
}
