// Private: the pieces of JavaScript source the cpu code generator
// (`_cpu_codegen.ts`) writes its kernels from: numbers as literals, the
// elementwise ops with their float32 rounding, and the sum of a reduction's
// partial sums.

/**
 * Rows (one from each of as many parts of the tensor) a default-rounding
 * reduction reads per pass (`rowsAtOnce` in `_cpu_codegen.ts`).
 */
export const ROWS = 4;

/** `(a + b) + (c + d)`: a sum of names as a balanced tree of adds. */
export function pairwise(xs: readonly string[]): string {
  if (xs.length === 1) return xs[0]!;
  const h = Math.ceil(xs.length / 2);
  return `(${pairwise(xs.slice(0, h))} + ${pairwise(xs.slice(h))})`;
}

/** A number as JavaScript source, exactly (`-0`, NaN and infinities too). */
export function literal(v: number): string {
  if (Object.is(v, -0)) return "-0";
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return `${v}`;
}

/** `code` rounded to float32 (exact rounding) or as it is (float64). */
export type Round = (code: string) => string;

/** Binary ops as source, rounded with `R` where tfjs's cpu kernels round. */
export const BINARY: Partial<
  Record<string, (a: string, b: string, R: Round) => string>
> = {
  add: (a, b, R) => R(`${a} + ${b}`),
  sub: (a, b, R) => R(`${a} - ${b}`),
  mul: (a, b, R) => R(`${a} * ${b}`),
  div: (a, b, R) => R(`${a} / ${b}`),
  max: (a, b) => `Math.max(${a}, ${b})`,
  min: (a, b) => `Math.min(${a}, ${b})`,
  pow: (a, b, R) => R(`Math.pow(${a}, ${b})`),
  gt: (a, b) => `(${a} > ${b} ? 1 : 0)`,
};

/** Unary ops as source, rounded with `R` where tfjs's cpu kernels round. */
export const UNARY: Partial<Record<string, (a: string, R: Round) => string>> = {
  neg: (a) => `(-${a})`,
  sqrt: (a, R) => R(`Math.sqrt(${a})`),
  square: (a, R) => R(`${a} * ${a}`),
  abs: (a) => `Math.abs(${a})`,
  // tfjs's cpu Sign: 0 for NaN
  sign: (a) => `(${a} < 0 ? -1 : ${a} > 0 ? 1 : 0)`,
};
