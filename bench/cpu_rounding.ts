// What the cpu fused step's rounding and its fresh outputs cost: one Adam
// step over one tensor of ResNet-18's size (11.7M float32), written five ways
// as JavaScript loops, interleaved round by round: every intermediate rounded
// to float32 (`Math.fround`, as `fuse(tx, { exact: true })` does, so that it
// equals tfjs's op-by-op kernels bit for bit); the same formula in float64
// rounded once at the store; that with its two divisions by per-step scalars
// made multiplications (what `fuse` does by default), into arrays it already
// has (as a fused step writes into the arrays of its freed earlier outputs,
// `_cpu_pool.ts`) and into fresh ones (as it did before, and still does when
// no freed array fits); and the roofline loop (read four arrays, write three). Prints each loop's median and its ratio to
// the roofline. `deno task bench:cpu-rounding`; docs/benchmarks.md quotes it.
const N = 11_700_000;
const ROUNDS = 7;

function filled(seed: number): Float32Array {
  const a = new Float32Array(N);
  let s = seed >>> 0;
  for (let i = 0; i < N; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32;
  }
  return a;
}
const g = filled(1), w = filled(2), m = filled(3), v = filled(4);
const o0 = new Float32Array(N), o1 = new Float32Array(N);
const o2 = new Float32Array(N);
// Adam's per-step scalars (b1, 1 - b1, b2, 1 - b2, the two bias
// corrections at step 10, eps inside and outside the root, -lr)
const b1 = 0.9, c1 = 0.1, b2 = 0.999, c2 = 0.001;
const bc1 = 1 - 0.9 ** 10, bc2 = 1 - 0.999 ** 10, epsRoot = 0, eps = 1e-8;
const lr = -1e-3;
const F = Math.fround;

let sink = 0;
const LOOPS: [string, () => void][] = [
  ["Adam, every intermediate rounded to float32 (fuse exact)", () => {
    for (let i = 0; i < N; i++) {
      const gi = g[i]!;
      const a = F(F(b1 * m[i]!) + F(c1 * gi));
      const b = F(F(b2 * v[i]!) + F(c2 * F(gi * gi)));
      const d = F(F(Math.sqrt(F(F(b / bc2) + epsRoot))) + eps);
      o0[i] = a;
      o1[i] = b;
      o2[i] = F(F(F(F(a / bc1) / d) * lr) + w[i]!);
    }
  }],
  ["Adam in float64, rounded once at the store", () => {
    for (let i = 0; i < N; i++) {
      const gi = g[i]!;
      const a = b1 * m[i]! + c1 * gi;
      const b = b2 * v[i]! + c2 * gi * gi;
      o0[i] = a;
      o1[i] = b;
      o2[i] = (a / bc1) / (Math.sqrt(b / bc2 + epsRoot) + eps) * lr + w[i]!;
    }
  }],
  ["Adam in float64, one division", () => {
    const r1 = 1 / bc1, r2 = 1 / bc2;
    for (let i = 0; i < N; i++) {
      const gi = g[i]!;
      const a = b1 * m[i]! + c1 * gi;
      const b = b2 * v[i]! + c2 * gi * gi;
      o0[i] = a;
      o1[i] = b;
      o2[i] = a * r1 / (Math.sqrt(b * r2 + epsRoot) + eps) * lr + w[i]!;
    }
  }],
  // what fresh outputs cost: arrays the runtime zeroes (and faults in) first
  ["Adam in float64, one division, into fresh arrays", () => {
    const r1 = 1 / bc1, r2 = 1 / bc2;
    const f0 = new Float32Array(N), f1 = new Float32Array(N);
    const f2 = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const gi = g[i]!;
      const a = b1 * m[i]! + c1 * gi;
      const b = b2 * v[i]! + c2 * gi * gi;
      f0[i] = a;
      f1[i] = b;
      f2[i] = a * r1 / (Math.sqrt(b * r2 + epsRoot) + eps) * lr + w[i]!;
    }
    sink = f0[N - 1]! + f1[N - 1]! + f2[N - 1]!;
  }],
  ["roofline: 4 reads + 3 writes", () => {
    for (let i = 0; i < N; i++) {
      const gi = g[i]!;
      o0[i] = m[i]! + gi;
      o1[i] = v[i]! + gi;
      o2[i] = w[i]! + gi;
    }
  }],
];

const times = LOOPS.map((): number[] => []);
for (let r = 0; r < ROUNDS; r++) {
  LOOPS.forEach(([, f], k) => {
    const t0 = performance.now();
    f();
    times[k]!.push(performance.now() - t0);
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const roof = median(times[LOOPS.length - 1]!);
console.log(
  `One Adam step over ${N} float32, loops interleaved, median of ${ROUNDS}`,
);
console.log("| loop | median ms | ratio to the roofline |");
console.log("|---|---:|---:|");
LOOPS.forEach(([name], k) => {
  const t = median(times[k]!);
  console.log(`| ${name} | ${t.toFixed(1)} | ${(t / roof).toFixed(2)} |`);
});
if (Number.isNaN(sink)) console.log("(a fresh array's last value is NaN)");
