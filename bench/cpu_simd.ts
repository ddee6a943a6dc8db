// What WebAssembly SIMD would give the fused cpu step, and where the cpu
// roofline stands against the memory: one Adam step over the small CNN's
// parameter count (105,914 float32: in cache) and ResNet-18's (11.7M: not),
// as the default fused loop writes it (JavaScript, float64 arithmetic, one
// division), as a WebAssembly loop over four float32 lanes at a time
// (`f32x4`) on arrays in its own memory, and as that loop after copying the
// gradient into that memory (a tfjs gradient is a JavaScript array); and the
// roofline (read four arrays, write three) as the JavaScript loop the fused
// bench uses and as an `f32x4` loop. Loops are interleaved round by round;
// each prints its median and its ratio to the JavaScript roofline, and the
// `f32x4` Adam its largest difference from a float64 Adam. `deno task
// bench:cpu-simd`; docs/benchmarks.md quotes it. (The fused step's own SIMD
// loops are generated from its expressions: `_cpu_wasm.ts`.)
import {
  ADD,
  countedLoop,
  DIV,
  F32,
  get,
  I32,
  i32,
  I32_ADD,
  LOAD,
  MUL,
  set,
  SPLAT,
  SQRT,
  STORE,
  V128,
  wasmModule,
} from "../packages/chain/_wasm_encode.ts";
import { rooflineLoop } from "./_roofline.ts";

/** Seeded values in [0, 1) (an LCG: only the bytes matter). */
function fill(a: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32;
  }
}

// Adam's per-step scalars at step 10 (b1, 1 - b1, b2, 1 - b2, the
// reciprocals of the two bias corrections, eps inside and outside the root,
// -lr), as the default fused loop takes them
const SCALARS = [
  0.9,
  0.1,
  0.999,
  0.001,
  1 / (1 - 0.9 ** 10),
  1 / (1 - 0.999 ** 10),
  0,
  1e-8,
  -1e-3,
] as const;

// ---- the two loops, with the cpu generator's WebAssembly encoder ----

// both functions take seven byte offsets (g, w, m, v, then w', m', v'), the
// length in bytes (a multiple of 16) and the nine scalars; local 17 is the
// byte index, 18-26 the scalars splat to four lanes, 27-29 temporaries
const PARAMS = [...Array(8).fill(I32), ...Array(9).fill(F32)];
const I = 17, SPLATS = 18, T = 27;
/** `v128.load` of array `p` (a parameter) at the byte index. */
const load = (p: number) => [...get(p), ...get(I), ...I32_ADD, ...LOAD];
/** `v128.store` of what `value` pushes into array `p` at the byte index. */
const store = (p: number, value: number[]) => [
  ...get(p),
  ...get(I),
  ...I32_ADD,
  ...value,
  ...STORE,
];
/** A function: splats, then `step` for every 16 bytes. */
const loopOf = (name: string, step: number[]) => ({
  name,
  params: PARAMS,
  locals: [[1, I32], [12, V128]] as [number, number][],
  code: [
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [
      ...get(8 + k),
      ...SPLAT,
      ...set(SPLATS + k),
    ]),
    ...i32(0),
    ...set(I),
    ...countedLoop(I, 7, i32(16), step),
  ],
});
const s = (k: number) => get(SPLATS + k);
// m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g²;
// w' = w - lr (m' / bc1) / (sqrt(v' / bc2 + epsRoot) + eps)
const adamStep = [
  ...load(0),
  ...set(T),
  ...[...s(0), ...load(2), ...MUL, ...s(1), ...get(T), ...MUL, ...ADD],
  ...set(T + 1),
  ...[...s(2), ...load(3), ...MUL, ...s(3), ...get(T), ...get(T), ...MUL],
  ...[...MUL, ...ADD, ...set(T + 2)],
  ...store(5, get(T + 1)),
  ...store(6, get(T + 2)),
  ...store(4, [
    ...load(1),
    ...[...s(8), ...get(T + 1), ...s(4), ...MUL, ...MUL],
    ...[...get(T + 2), ...s(5), ...MUL, ...s(6), ...ADD, ...SQRT, ...s(7)],
    ...[...ADD, ...DIV, ...ADD],
  ]),
];
// w' = w + g, m' = m + g, v' = v + g
const roofStep = [
  ...load(0),
  ...set(T),
  ...store(4, [...load(1), ...get(T), ...ADD]),
  ...store(5, [...load(2), ...get(T), ...ADD]),
  ...store(6, [...load(3), ...get(T), ...ADD]),
];
const MODULE = new WebAssembly.Module(
  wasmModule([loopOf("adam", adamStep), loopOf("roof", roofStep)]),
);
type WasmLoop = (...args: number[]) => void;

/** The loops over `n` elements, set up once. */
function setUp(n: number) {
  // seven arrays in one fixed-size memory (a memory that grows detaches
  // its arrays), each padded to whole 16-byte lanes
  const bytes = Math.ceil(n / 4) * 16;
  const pages = Math.ceil((7 * bytes) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const { adam, roof } = new WebAssembly.Instance(MODULE, {
    env: { memory },
  }).exports as { adam: WasmLoop; roof: WasmLoop };
  const at = (k: number) => new Float32Array(memory.buffer, k * bytes, n);
  const wasm = [0, 1, 2, 3, 4, 5, 6].map(at);
  const offsets = [0, 1, 2, 3, 4, 5, 6].map((k) => k * bytes);
  const js = wasm.map(() => new Float32Array(n));
  js.slice(0, 4).forEach((a, k) => fill(a, k + 1));
  js.slice(0, 4).forEach((a, k) => wasm[k]!.set(a));
  const arrays = js as Parameters<typeof rooflineLoop>;
  const [g, w, m, v, w2, m2, v2] = arrays;
  const [b1, c1, b2, c2, r1, r2, epsRoot, eps, lr] = SCALARS;
  const jsAdam = () => {
    for (let i = 0; i < n; i++) {
      const gi = g[i]!;
      const a = b1 * m[i]! + c1 * gi;
      const b = b2 * v[i]! + c2 * gi * gi;
      m2[i] = a;
      v2[i] = b;
      w2[i] = a * r1 / (Math.sqrt(b * r2 + epsRoot) + eps) * lr + w[i]!;
    }
  };
  const jsRoof = () => rooflineLoop(...arrays);
  const wasmAdam = () => adam(...offsets, bytes, ...SCALARS);
  // the largest difference of the f32x4 Adam's w' from a float64 Adam's,
  // relative to the largest update (the inputs are not changed by a step)
  wasmAdam();
  let worst = 0, largest = 0;
  for (let i = 0; i < n; i++) {
    const a = b1 * m[i]! + c1 * g[i]!;
    const b = b2 * v[i]! + c2 * g[i]! * g[i]!;
    const update = a * r1 / (Math.sqrt(b * r2 + epsRoot) + eps) * lr;
    worst = Math.max(worst, Math.abs(wasm[4]![i]! - (w[i]! + update)));
    largest = Math.max(largest, Math.abs(update));
  }
  const loops: [string, () => void][] = [
    ["Adam, the default fused loop (JavaScript, float64)", jsAdam],
    ["Adam, f32x4 WebAssembly over arrays in its memory", wasmAdam],
    ["Adam, f32x4, after copying the gradient in", () => {
      wasm[0]!.set(g);
      wasmAdam();
    }],
    ["roofline, f32x4 WebAssembly", () => roof(...offsets, bytes)],
    ["roofline, the JavaScript loop of the fused bench", jsRoof],
  ];
  return { loops, error: worst / largest };
}

const SIZES: [string, number, number][] = [
  // name, elements, loop runs per sample (a sample of a few ms)
  ["the small CNN's 105,914", 105_914, 20],
  ["ResNet-18's 11,689,512", 11_689_512, 1],
];
const ROUNDS = 9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(
  `One Adam step, loops interleaved, median of ${ROUNDS} rounds (warmed up)`,
);
console.log(
  "| elements | loop | median ns / element | ratio to the JS roofline |",
);
console.log("|---|---|---:|---:|");
const errors: string[] = [];
for (const [label, n, runs] of SIZES) {
  const { loops, error } = setUp(n);
  errors.push(`${label}: ${error.toExponential(1)}`);
  // compiled before timing (V8 optimizes a long loop while it runs)
  for (let r = 0; r < 3; r++) loops.forEach(([, f]) => f());
  const times = loops.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    loops.forEach(([, f], k) => {
      const t0 = performance.now();
      for (let r = 0; r < runs; r++) f();
      times[k]!.push((performance.now() - t0) / runs);
    });
  }
  const roof = median(times[loops.length - 1]!);
  loops.forEach(([name], k) => {
    const t = median(times[k]!);
    console.log(
      `| ${label} | ${name} | ${(t / n * 1e6).toFixed(2)} | ${
        (t / roof).toFixed(2)
      } |`,
    );
  });
}
console.log(
  `\nf32x4 Adam's largest difference from a float64 Adam, relative to the largest update: ${
    errors.join("; ")
  }`,
);
