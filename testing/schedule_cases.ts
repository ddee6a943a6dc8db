// Schedules against closed forms: a case is a schedule and the float64
// formula it must follow at a list of steps, one test per case on every
// backend (chain's reference_test.ts and schedules_test.ts).
import * as tf from "@tensorflow/tfjs";
import type { Schedule } from "@centra/chain/types";
import { assertClose, read } from "./assert.ts";
import { testOnBackends } from "./backends.ts";

/** A schedule and the closed form, in float64, it must follow at `steps`. */
export interface ScheduleCase {
  /** The test's name. */
  name: string;
  /** Builds the schedule (on the backend under test). */
  schedule: () => Schedule;
  /** The value at step `t`, written from the documented formula. */
  closedForm: (t: number) => number;
  /** The steps to compare at. */
  steps: number[];
}

/** `[0, 1, ..., n - 1]`. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * One test per case: the schedule's values at the case's steps, read back
 * at once (webgpu readbacks are slow), against the closed form within
 * rtol 1e-5 and atol 1e-7 (float32 values: pow and cos a few ulps off).
 */
export function testScheduleCases(cases: readonly ScheduleCase[]): void {
  for (const c of cases) {
    testOnBackends(c.name, async () => {
      const s = c.schedule();
      const values = tf.tidy(() =>
        tf.stack(c.steps.map((t) => s(tf.scalar(t, "float32"))))
      );
      const got = await read(values);
      values.dispose();
      assertClose(got, c.steps.map(c.closedForm), {
        rtol: 1e-5,
        atol: 1e-7,
        what: c.name,
      });
    });
  }
}
