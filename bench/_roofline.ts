// The memory-bandwidth yardstick of the fused benches: the simplest kernel
// that moves what an Adam-like step must move (read four float32 arrays,
// write three, each of the model's total parameter count), run in the same
// table as the optimizers, and what each optimizer row must move at least,
// so that its effective bandwidth can be given as a fraction of it.
import * as tf from "@tensorflow/tfjs";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { Made, Row } from "./_common.ts";

/** Bytes a pass that reads four and writes three float32 arrays moves per element. */
export const ROOFLINE_BYTES_PER_PARAM = 28;

/**
 * What one step of an optimizer must move at least, in bytes, for parameter
 * tensors of these shapes: one pass that reads the gradient, the weight and
 * each state slot and writes the weight and each state slot (`slots`), plus
 * one more read of the gradient where a reduction must finish before that
 * pass: GC's per-unit means (on the tensors GC changes: rank 2 or more, more
 * than one element per unit, the default axes), a global norm, or both (one
 * pass can compute both: a clipped gradient's mean is the clipping factor
 * times the gradient's mean).
 */
export function bytesMoved(
  shapes: Record<string, number[]>,
  { slots, gc = false, globalNorm = false }: {
    slots: number;
    gc?: boolean;
    globalNorm?: boolean;
  },
): number {
  let bytes = 0;
  for (const shape of Object.values(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const perUnit = shape.length >= 2 ? n / shape[shape.length - 1]! : 1;
    // the reductions can share one read (the fused cpu step does)
    const reads = 2 + slots + ((gc && perUnit > 1) || globalNorm ? 1 : 0);
    const writes = 1 + slots;
    bytes += 4 * n * (reads + writes);
  }
  return bytes;
}

/** The number of parameters of these variables. */
function sizeOf(vars: Record<string, tf.Variable>): number {
  return Object.values(vars).reduce((n, v) => n + v.size, 0);
}

/** Seeded float32 values in [-1, 1) (a cheap LCG: only the bytes matter). */
function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** The cpu roofline's loop: `w' = w + g`, `m' = m + g`, `v' = v + g`. */
export function rooflineLoop(
  g: Float32Array,
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  w2: Float32Array,
  m2: Float32Array,
  v2: Float32Array,
): void {
  const n = g.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    w2[i] = w[i]! + gi;
    m2[i] = m[i]! + gi;
    v2[i] = v[i]! + gi;
  }
}

/**
 * The cpu roofline: one JavaScript loop over the model's size that reads
 * four Float32Arrays and writes three (`w' = w + g`, `m' = m + g`,
 * `v' = v + g`), into arrays allocated once. Before it is timed, the loop
 * runs 2,000 times over the arrays' first 4,096 elements, so that V8 has
 * compiled it for good: timed from cold, a loop this long is compiled while
 * it runs, and the first calls of a freshly made loop can take several times
 * as long as later ones (`CENTRA_BENCH_MODELS="ResNet-50" deno task
 * bench:fused:cpu` at 0aa44c5: a median of 489 ms where later samples took
 * 76 to 119; docs/benchmarks.md). The fused loops are called once per
 * tensor, tens of times per step, and compile in the warm-up step.
 */
function cpuRoofline(n: number): Made {
  const arrays = [
    ...[1, 2, 3, 4].map((s) => filled(n, s)),
    ...[0, 0, 0].map(() => new Float32Array(n)),
  ] as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const head = arrays.map((a) => a.subarray(0, Math.min(n, 4096))) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  for (let r = 0; r < 2000; r++) rooflineLoop(...head);
  return {
    step: () => rooflineLoop(...arrays),
    dispose() {},
  };
}

const WGSL = `
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> w2: array<f32>;
@group(0) @binding(5) var<storage, read_write> m2: array<f32>;
@group(0) @binding(6) var<storage, read_write> v2: array<f32>;

@compute @workgroup_size(256)
fn main(
  @builtin(global_invocation_id) id: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let n = arrayLength(&g);
  let stride = groups.x * 256u;
  for (var i = id.x; i < n; i = i + stride) {
    let gi = g[i];
    w2[i] = w[i] + gi;
    m2[i] = m[i] + gi;
    v2[i] = v[i] + gi;
  }
}
`;

/**
 * The webgpu roofline: one dispatch of a tiny WGSL shader on tfjs's own
 * device that reads four storage buffers and writes three, each of the
 * model's size (each thread strides over the arrays, so the dispatch stays
 * within 65,535 workgroups). A sample ends as the other rows' do, by
 * reading back as many floats as the largest variable holds (`readBack`),
 * here from the new weights: tfjs's read of a variable would not wait for
 * work it did not submit (it may even answer from its cpu copy).
 */
function webgpuRoofline(n: number, readBack: number): Made {
  const device = (tf.backend() as unknown as WebGPUBackend).device;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (4 * n > limit) {
    throw new RangeError(
      `roofline: ${n} floats exceed the device's maxStorageBufferBindingSize (${limit} bytes)`,
    );
  }
  const buffers = Array.from({ length: 7 }, (_, i) => {
    const b = device.createBuffer({
      size: 4 * n,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST |
        GPUBufferUsage.COPY_SRC,
      mappedAtCreation: i < 4,
    });
    if (i < 4) {
      new Float32Array(b.getMappedRange()).set(filled(n, i + 1));
      b.unmap();
    }
    return b;
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: {
      module: device.createShaderModule({ code: WGSL }),
      entryPoint: "main",
    },
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({
      binding,
      resource: { buffer },
    })),
  });
  const groups = Math.min(Math.ceil(n / 256), 65535);
  const staging = device.createBuffer({
    size: 4 * readBack,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  return {
    step() {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups);
      pass.end();
      device.queue.submit([encoder.finish()]);
    },
    async settle() {
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(buffers[4]!, 0, staging, 0, 4 * readBack);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      staging.unmap();
    },
    dispose() {
      for (const b of buffers) b.destroy();
      staging.destroy();
    },
  };
}

/** The name of the roofline row on a backend. */
export function rooflineName(backend: string): string {
  return backend === "webgpu"
    ? "roofline: 4 reads + 3 writes, one WGSL dispatch"
    : "roofline: 4 reads + 3 writes, one JS loop";
}

/**
 * The roofline as a row of a bench table, over arrays of the model's total
 * size (the variables' sizes summed), on the current backend (cpu or webgpu).
 * On webgpu it has a `settle` of its own (see webgpuRoofline).
 */
export function rooflineRow(): Row {
  const backend = tf.getBackend();
  if (backend !== "cpu" && backend !== "webgpu") {
    throw new Error(`no roofline kernel for the ${backend} backend`);
  }
  return {
    name: rooflineName(backend),
    stepsWeights: false,
    setup(vars) {
      const n = sizeOf(vars);
      const largest = Math.max(...Object.values(vars).map((v) => v.size));
      return backend === "webgpu" ? webgpuRoofline(n, largest) : cpuRoofline(n);
    },
  };
}
