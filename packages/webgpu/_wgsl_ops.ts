// Private: the WGSL of the operators (for `_wgsl.ts`, which writes every
// shader): those that are one expression of their operands, and the helper
// functions the others call.
import type { Expr } from "./_chain.ts";

/** `pow` for every base and exponent (WGSL's is undefined for negative bases). */
export const POW_HELPER = `
fn centraPow(a : f32, b : f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a == 0.0) { return select(0.0, uniforms.INFINITY, b < 0.0); }
  if (a > 0.0) { return pow(a, b); }
  let r = pow(-a, b);
  if (fract(b) != 0.0) { return uniforms.NAN; }
  return select(r, -r, fract(b * 0.5) != 0.0);
}`;

/** {@linkcode POW_HELPER} per lane of a `vec4<f32>`. */
export const POW4_HELPER = `
fn centraPow4(a : vec4<f32>, b : vec4<f32>) -> vec4<f32> {
  return vec4<f32>(centraPow(a.x, b.x), centraPow(a.y, b.y),
                   centraPow(a.z, b.z), centraPow(a.w, b.w));
}`;

/** WGSL for the operators that are one expression of their operands. */
export const BINARY: Partial<
  Record<Expr["op"], (a: string, b: string) => string>
> = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b) => `(${a} * ${b})`,
  div: (a, b) => `(${a} / ${b})`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
  gt: (a, b) => `(${a} > ${b})`,
};
/** WGSL for the operators that are one function of their operand. */
export const UNARY: Partial<Record<Expr["op"], (a: string) => string>> = {
  neg: (a) => `(-${a})`,
  sqrt: (a) => `sqrt(${a})`,
  abs: (a) => `abs(${a})`,
  sign: (a) => `sign(${a})`,
};
