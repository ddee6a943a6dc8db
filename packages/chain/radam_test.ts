// scaleByRadam's rectification r_t in float32 against float64, step by step.
// ρ_t = ρ∞ - 2 t b2^t / (1 - b2^t) is a difference of two numbers near
// 2 / (1 - b2); computed from 1 - powInt(b2, t) it is off by up to 0.03 at
// b2 = 0.999, which moves r_t by up to 0.4% in the first rectified steps.
// With b1 = 0 and a constant gradient 1, m̂ = 1 and v̂ = 1, so the update is
// exactly r_t / (1 + eps) once ρ_t >= 5, and 1 before.
import * as tf from "@tensorflow/tfjs";
import { scaleByRadam } from "./mod.ts";
import { assertClose, read, testOnBackends } from "@centra/testing/mod.ts";

/**
 * r_t from the paper's formula in float64 (1 while ρ_t < 5), for the b2 the
 * optimizer holds: its float32 value (0.9999 is 0.99989998 in float32, which
 * alone moves ρ∞ and r_t by 1.7e-4 and 8e-5 relative).
 */
function r64(b2: number, t: number): number {
  b2 = Math.fround(b2);
  const rhoInf = 2 / (1 - b2) - 1;
  const b2t = Math.pow(b2, t);
  const rho = rhoInf - 2 * t * b2t / (1 - b2t);
  if (rho < 5) return 1;
  return Math.sqrt(
    (rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho),
  );
}

for (const b2 of [0.999, 0.9999]) {
  testOnBackends(
    `scaleByRadam({ b2: ${b2} }) takes the rectification r_t of float64 to 1e-5 relative at every step 1..60`,
    async () => {
      const tx = scaleByRadam({ b1: 0, b2, eps: 0 });
      let state = tx.init({ w: tf.zeros([1]) });
      const got: number[] = [];
      const want: number[] = [];
      for (let t = 1; t <= 60; t++) {
        const g = tf.ones([1]);
        const [u, next] = tx.update({ w: g }, state);
        got.push((await read(u.w!))[0]!);
        want.push(r64(b2, t));
        tf.dispose([g, u.w!, state as unknown as tf.TensorContainer]);
        state = next;
      }
      assertClose(Float64Array.from(got), Float64Array.from(want), {
        rtol: 1e-5,
        atol: 0,
        what: `r_t at b2 ${b2}`,
      });
      tf.dispose(state as unknown as tf.TensorContainer);
    },
  );
}
