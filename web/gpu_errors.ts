/**
 * WebGPU validation errors on the console of a page.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Logs the WebGPU device's uncaptured errors with `console.error`, where a
 * user (and the browser test) sees them: an invalid shader or binding is
 * otherwise a silent zero. Call after `tf.setBackend("webgpu")`.
 */
export function reportGpuErrors(): void {
  const device = (tf.backend() as unknown as { device?: EventTarget }).device;
  device?.addEventListener("uncapturederror", (e) => {
    console.error(
      `WebGPU: ${
        (e as unknown as { error: { message: string } }).error.message
      }`,
    );
  });
}
