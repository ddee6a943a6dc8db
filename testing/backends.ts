// Which backends the tests of every package run on, decided once: cpu always,
// webgpu when an adapter exists and CENTRA_BACKENDS does not exclude it.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { webGpuAdapter } from "../tools/webgpu_adapter.ts";

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

/**
 * One `Deno.test` named `name` on `backend` (skipped on webgpu without an
 * adapter), with `cleanup` run after `fn`, also when it throws.
 */
export function backendTest(
  backend: "cpu" | "webgpu",
  name: string,
  fn: () => void | Promise<void>,
  cleanup?: () => void,
): void {
  Deno.test({
    name,
    ignore: backend === "webgpu" && !HAS_WEBGPU,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await tf.setBackend(backend);
      try {
        await fn();
      } finally {
        cleanup?.();
      }
    },
  });
}
