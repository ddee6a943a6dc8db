// Test-only: a cpu test run twice, over the fused step's two kinds of
// output arrays.
import assert from "node:assert/strict";
import { backendTest } from "@centra/testing/backends.ts";
import { cpuReuse } from "./_cpu_pool.ts";
import { cpuFaults, cpuSimd } from "./_cpu_generator.ts";

/**
 * Registers `fn` as two cpu tests: over the output pool's JavaScript arrays
 * (tensors under `cpuReuse.arenaMin`, as test tensors are), and over arenas
 * (WebAssembly memories), where a SIMD loop must have run at least once.
 * `fn` is told which (SIMD loops run with the default rounding only, so a
 * test of `exact: true` steps must use the default there). Each ends with
 * reuse on, the arena threshold as it was and no fault set.
 */
export function cpuArenaTests(
  name: string,
  fn: (arenas: boolean) => void | Promise<void>,
): void {
  const min = cpuReuse.arenaMin;
  for (const arenas of [false, true]) {
    backendTest(
      "cpu",
      `${name} [cpu${arenas ? ", arenas" : ""}]`,
      async () => {
        if (arenas) cpuReuse.arenaMin = 0;
        const runs = cpuSimd.runs;
        await fn(arenas);
        if (arenas) assert.ok(cpuSimd.runs > runs, "no SIMD loop ran");
      },
      () => {
        cpuReuse.enabled = true;
        cpuReuse.arenaMin = min;
        cpuFaults.point = null;
      },
    );
  }
}
