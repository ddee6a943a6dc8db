import assert from "node:assert/strict";
import { ranger } from "./mod.ts";
import { assertClose, testOnBackends } from "@centra/testing/mod.ts";
import { runSteps, seeded } from "@centra/testing/run_steps.ts";
import { rangerRef } from "@centra/testing/rows/ranger.ts";
import type { Shape } from "@centra/testing/reference64.ts";

const SHAPES: readonly Shape[] = [[3, 3, 2, 4], [4], [6, 5]];

for (const gc of [true, false]) {
  testOnBackends(
    `ranger() ${
      gc ? "with GC (its default)" : "with gc: false"
    } matches a float64 RAdam + Lookahead reference over 100 steps (16 synchronizations), with a flat tensor count`,
    async () => {
      const options = { gc, b2: 0.99, weightDecay: 1e-3 };
      const w0 = seeded(SHAPES, 111);
      const grads = Array.from(
        { length: 100 },
        (_, t) => seeded(SHAPES, 11100 + t).map((g) => g.map((x) => x + 0.3)),
      );
      const got = await runSteps(ranger(0.01, options), SHAPES, w0, grads);
      const want = w0.map((w) => w.slice());
      const step = rangerRef(0.01, options)(SHAPES);
      grads.forEach((g, t) => step(want, g, t + 1));
      got.forEach((w, k) =>
        assertClose(w, want[k]!, { rtol: 1e-4, atol: 1e-5, what: `p${k}` })
      );
    },
  );
}

Deno.test("ranger() has pytorch_optimizer's defaults: GC on, b1 0.95, eps 1e-5, syncPeriod 6, alpha 0.5, and refuses a threshold below 4", async () => {
  const shapes: readonly Shape[] = [[4, 3]];
  const w0 = seeded(shapes, 5);
  const grads = Array.from({ length: 12 }, (_, t) => seeded(shapes, 50 + t));
  const got = await runSteps(ranger(0.01), shapes, w0, grads);
  const want = w0.map((w) => w.slice());
  const step = rangerRef(0.01, {
    gc: true,
    b1: 0.95,
    b2: 0.999,
    eps: 1e-5,
    syncPeriod: 6,
    alpha: 0.5,
  })(shapes);
  grads.forEach((g, t) => step(want, g, t + 1));
  // b2 0.999 passes the threshold at step 6, where float32 gets ρ's third
  // digit wrong; r is about 0.03 there, so the weights stay within tolerance
  assertClose(got[0]!, want[0]!, { rtol: 1e-4, atol: 1e-5, what: "w" });
  assert.throws(
    () => ranger(0.01, { threshold: 3.9 }),
    /threshold must be in \[4, Infinity\], got 3.9/,
  );
});
