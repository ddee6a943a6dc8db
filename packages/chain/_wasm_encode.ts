// Private: just enough of the WebAssembly binary format to write one module
// of loops over float32 lanes (`f32x4`, fixed-width SIMD): a memory imported
// as `env.memory`, and exported functions of i32 and f32 parameters (and an
// f64 result). The cpu code generator's SIMD loops and reductions
// (`_cpu_wasm.ts`, `_cpu_wasm_reduce.ts`) and `bench/cpu_simd.ts` are
// written with it. Reference: the WebAssembly core specification 2.0,
// binary format (sections, LEB128) and its fixed-width SIMD instructions.

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

/** Unsigned LEB128. */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (`i32.const`). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  while (true) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (b & 0x40) === 0) ||
      (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [
  id,
  ...leb(body.length),
  ...body,
];

/** `local.get`, `local.set`, `local.tee`. */
export const get = (i: number) => [0x20, ...leb(i)];
export const set = (i: number) => [0x21, ...leb(i)];
export const tee = (i: number) => [0x22, ...leb(i)];
/** `i32.const`, `i32.add`, `i32.mul`, `i32.ge_u`. */
export const i32 = (n: number) => [0x41, ...sleb(n)];
export const I32_ADD = [0x6a], I32_MUL = [0x6c], I32_GE_U = [0x4f];
/** `f32.const`. */
export function f32(x: number): number[] {
  const b = new Uint8Array(new Float32Array([x]).buffer);
  return [0x43, ...b];
}

const simd = (op: number) => [0xfd, ...leb(op)];
/** `v128.load` / `v128.store` at the address on the stack (16-byte aligned). */
export const LOAD = [...simd(0), 4, 0], STORE = [...simd(11), 4, 0];
/** `v128.load` / `v128.store` at the address on the stack plus `offset`. */
export const loadAt = (offset: number) => [...simd(0), 4, ...leb(offset)];
export const storeAt = (offset: number) => [...simd(11), 4, ...leb(offset)];
/** `v128.const` of four i32 lanes. */
export function i32x4(lanes: readonly [number, number, number, number]) {
  const b = new Uint8Array(new Int32Array(lanes).buffer);
  return [...simd(12), ...b];
}
export const SPLAT = simd(19);
export const ABS = simd(224), NEG = simd(225), SQRT = simd(227);
export const ADD = simd(228), SUB = simd(229), MUL = simd(230);
export const DIV = simd(231), MIN = simd(232), MAX = simd(233);
/** `i8x16.shuffle` of one vector: its lanes 2 and 3 (f32x4) to 0 and 1. */
export const HIGH_HALF = [
  ...simd(13),
  ...[8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7],
];
/** `f64x2.promote_low_f32x4`, `f64x2.add`, `f64x2.extract_lane` k. */
export const PROMOTE_LOW = simd(95), ADD_F64X2 = simd(240);
export const extractF64 = (k: number) => [...simd(33), k];
/** `v128.and`, `i32x4.splat`, `i32x4.lt_s`, `f64.add`. */
export const AND = simd(78), SPLAT_I32 = simd(17), LT_I32 = simd(57);
export const F64_ADD = [0xa0];
/** `if (pop() != 0) { body }`. */
export const when = (body: number[]) => [0x04, 0x40, ...body, 0x0b];

/**
 * `block { loop { if (local[i] >= local[end]) break; body; local[i] +=
 * step; continue } }`, `step` the code that pushes the increment (`i32(16)`,
 * `get(row)`).
 */
export function countedLoop(
  i: number,
  end: number,
  step: number[],
  body: number[],
): number[] {
  return [
    ...[0x02, 0x40, 0x03, 0x40],
    ...[...get(i), ...get(end), ...I32_GE_U, 0x0d, 1],
    ...body,
    ...[...get(i), ...step, ...I32_ADD, ...set(i)],
    ...[0x0c, 0, 0x0b, 0x0b],
  ];
}

/** One exported function: its name, parameter types, locals and code. */
export interface WasmFunction {
  name: string;
  params: readonly number[];
  /** Result types (none by default). */
  results?: readonly number[];
  /** Extra locals: [count, type] groups. */
  locals: readonly [number, number][];
  code: readonly number[];
}

/** A module importing `env.memory` and exporting `functions`. */
export function wasmModule(
  functions: readonly WasmFunction[],
): Uint8Array<ArrayBuffer> {
  const types = functions.flatMap((f) => [
    0x60,
    ...leb(f.params.length),
    ...f.params,
    ...leb(f.results?.length ?? 0),
    ...(f.results ?? []),
  ]);
  const bodies = functions.flatMap((f) => {
    const body = [
      ...leb(f.locals.length),
      ...f.locals.flatMap(([n, t]) => [...leb(n), t]),
      ...f.code,
      0x0b,
    ];
    return [...leb(body.length), ...body];
  });
  const n = leb(functions.length);
  return new Uint8Array([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [...n, ...types]),
    ...section(2, [1, ...name("env"), ...name("memory"), 2, 0, 0]),
    ...section(3, [...n, ...functions.map((_, k) => k)]),
    ...section(7, [
      ...n,
      ...functions.flatMap((f, k) => [...name(f.name), 0, k]),
    ]),
    ...section(10, [...n, ...bodies]),
  ]);
}

/** Whether this runtime runs WebAssembly with fixed-width SIMD. */
export function hasSimd(): boolean {
  try {
    const bytes = wasmModule([{
      name: "f",
      params: [],
      locals: [[1, V128]],
      code: [...f32(1), ...SPLAT, ...set(0)],
    }]);
    return typeof WebAssembly === "object" && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}
