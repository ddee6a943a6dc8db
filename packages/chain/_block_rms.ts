// Private: the root mean square of a whole tensor (optax's "block"), shared
// by clipByBlockRms and scaleByParamBlockRms.
import { div, type Expr, sqrt, square, sumAll } from "./_expr.ts";

/** `sqrt(mean(x²))` over a whole tensor of this shape (one value per tensor). */
export function blockRms(x: Expr, shape: readonly number[]): Expr {
  const n = shape.reduce((a, b) => a * b, 1);
  return sqrt(div(sumAll(square(x)), n));
}
