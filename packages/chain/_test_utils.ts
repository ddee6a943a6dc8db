// Private test helpers shared by every package's tests: which backends to run
// on (decided once), and float64 comparisons.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import assert from "node:assert/strict";
import type { GradientTransformation, Params, Updates } from "./types.ts";
import { mulberry32 } from "../zoo/_random.ts";
import { webGpuAdapter } from "../../tools/webgpu_adapter.ts";

async function hasWebGpu(): Promise<boolean> {
  return (await webGpuAdapter()) !== null;
}

const wanted = (Deno.env.get("CENTRA_BACKENDS") ?? "cpu,webgpu").split(",").map(
  (s) => s.trim(),
);

/** The backends tests run on: cpu always, webgpu when an adapter exists. */
export const BACKENDS: readonly string[] =
  wanted.includes("webgpu") && (await hasWebGpu())
    ? wanted.filter((b) => b === "cpu" || b === "webgpu")
    : wanted.filter((b) => b === "cpu");

/** Whether a WebGPU adapter was found (and not excluded by CENTRA_BACKENDS). */
export const HAS_WEBGPU: boolean = BACKENDS.includes("webgpu");

/**
 * Registers one `Deno.test` per backend, named `"<name> [<backend>]"`, that
 * switches to that backend before running `fn`.
 */
export function testOnBackends(
  name: string,
  fn: (backend: string) => void | Promise<void>,
): void {
  for (const backend of BACKENDS) {
    Deno.test({
      name: `${name} [${backend}]`,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        await tf.setBackend(backend);
        await tf.ready();
        await fn(backend);
      },
    });
  }
}

/** Reads a tensor as a float64 array. */
export async function read(t: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data() as Float32Array);
}

/**
 * Asserts `|a - b| <= atol + rtol * |b|` elementwise, naming the first index
 * that fails.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, what = "value" } = {},
): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: length ${actual.length} != ${expected.length}`,
  );
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, b = expected[i]!;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      assert.fail(
        `${what}[${i}]: got ${a}, expected ${b} (rtol ${rtol}, atol ${atol})`,
      );
    }
  }
}

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

/** A transformation with a hand-written `step`, and how often it was called. */
export interface Stepped<S> {
  tx: GradientTransformation<S>;
  /** How often `step` and `update` were called. */
  calls: { step: number; update: number };
}

/**
 * `inner` with a hand-written `step`: `inner.update`, then `p + u` with
 * `tf.add` (an independent reference for `runStep`'s fast path). `edit` may
 * change what it returns, to misbehave on purpose.
 */
export function withStep<S>(
  inner: GradientTransformation<S>,
  edit: (values: Params, next: S, grads: Updates) => [Params, S] = (
    values,
    next,
  ) => [values, next],
): Stepped<S> {
  const calls = { step: 0, update: 0 };
  const tx: GradientTransformation<S> = {
    init: (params) => inner.init(params),
    update(updates, state, params) {
      calls.update++;
      return inner.update(updates, state, params);
    },
    step(updates, state, params) {
      calls.step++;
      const [u, next] = inner.update(updates, state, params);
      const values: Params = {};
      for (const [k, d] of Object.entries(u)) {
        values[k] = tf.add(params[k]!, d);
      }
      return edit(values, next, updates);
    },
  };
  return { tx, calls };
}
