/**
 * The one WebGPU adapter probe of the repository, for Deno and the browser:
 * the tests' backend choice, the demo, the web page and its checks, and the
 * machine line of `deno task repro` all ask here whether WebGPU is there.
 *
 * @module
 */

/** What an adapter says about itself (empty strings where it says nothing). */
export interface AdapterInfo {
  /** The vendor, such as `"mesa"` or `"google"`. */
  vendor: string;
  /** The architecture, such as `"llvmpipe"` or `"swiftshader"`. */
  architecture: string;
  /** A free-form description. */
  description: string;
}

interface Gpu {
  requestAdapter(): Promise<{ info?: Partial<AdapterInfo> } | null>;
}

/**
 * Asks `navigator.gpu` for an adapter.
 *
 * @returns Its info, or `null` when there is no `navigator.gpu`, no adapter,
 * or the request fails.
 */
export async function webGpuAdapter(): Promise<AdapterInfo | null> {
  try {
    const gpu = (navigator as { gpu?: Gpu }).gpu;
    const adapter = gpu === undefined ? null : await gpu.requestAdapter();
    if (adapter === null || adapter === undefined) return null;
    const info = adapter.info ?? {};
    return {
      vendor: info.vendor ?? "",
      architecture: info.architecture ?? "",
      description: info.description ?? "",
    };
  } catch {
    return null;
  }
}

/**
 * An adapter's name for reports: `"vendor / architecture / description"`,
 * leaving out empty parts (empty when it says nothing).
 *
 * @param info As {@linkcode webGpuAdapter} returns it.
 * @returns The name.
 */
export function adapterName(info: AdapterInfo): string {
  return [info.vendor, info.architecture, info.description]
    .filter((s) => s !== "").join(" / ");
}
