// Private: dispatches a WGSL compute shader that writes several fresh
// tensors at once, on tfjs-backend-webgpu's device, command encoder and
// buffer pool. tfjs's own `runWebGPUProgram` writes one output per
// dispatch; an optimizer step that updates a weight and its state slots
// would then read the same inputs once per output. This module does what
// `runWebGPUProgram` does for one dispatch (upload, uniforms, bind group,
// compute pass, batched submit, deferred release of the buffers it used),
// for any number of outputs. It reads backend members that tfjs 4.22 does not
// document; `multiOutputSupport` checks that they are there, and callers
// fall back to one output per dispatch when they are not.
import * as tf from "@tensorflow/tfjs";

/** A tensor's data as tfjs's backend sees it. */
export interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** One uniform value in the layout `makeUniforms` packs. */
export interface UniformValue {
  type: "float32" | "int32" | "uint32";
  data: number[];
}

interface TensorData {
  resource: unknown;
}

/** The members of tfjs 4.22's `WebGPUBackend` this module uses. */
interface BackendInternals {
  device: GPUDevice;
  tensorMap: { get(dataId: object): TensorData | undefined };
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  /** Set while `tf.time` runs: one entry per dispatch. */
  activeTimers?: { name: string; query: Promise<number> }[] | null;
  supportTimestampQuery?: boolean;
  querySet?: GPUQuerySet | null;
  querySetCount?: number;
  getQueryTime?(): Promise<number>;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: "float32"): tf.TensorInfo;
  makeUniforms(u: UniformValue[]): GPUBufferBinding;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Who watches dispatches (see `dispatchStats`): outputs and inputs of each. */
export type DispatchObserver = (
  outputs: readonly TensorInfoLike[],
  inputs: readonly TensorInfoLike[],
) => void;

/** Observers notified of every dispatch this module makes. */
export const observers: Set<DispatchObserver> = new Set();

const METHODS = [
  "uploadToGPU",
  "makeTensorInfo",
  "makeUniforms",
  "ensureCommandEncoderReady",
  "endComputePassEncoder",
  "submitQueue",
] as const;

let forcedOff = false;

/**
 * Turns multi-output kernels off (`true`) or back on, as if tfjs lacked the
 * internals they need: for tests of the one-output-per-dispatch fallback.
 */
export function forceSingleOutput(off: boolean): void {
  forcedOff = off;
}

/**
 * Whether the current backend is tfjs's WebGPU backend with the internals
 * this module relies on.
 */
export function multiOutputSupport(): boolean {
  if (forcedOff || tf.getBackend() !== "webgpu") return false;
  const b = tf.backend() as unknown as Partial<BackendInternals>;
  return b.device !== undefined && b.tensorMap !== undefined &&
    b.commandQueueOwnedIds instanceof WeakSet &&
    typeof b.dispatchCountInPass === "number" &&
    METHODS.every((m) => typeof b[m] === "function");
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** How many pipelines this module has compiled for `device` (for tests). */
export function pipelineCount(device: GPUDevice): number {
  return pipelines.get(device)?.size ?? 0;
}

/** The compute pipeline for `code` (entry point `main`), compiled once per device. */
function pipelineFor(device: GPUDevice, code: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  let p = cache.get(code);
  if (p === undefined) {
    p = device.createComputePipeline({
      layout: "auto",
      compute: {
        module: device.createShaderModule({ code }),
        entryPoint: "main",
      },
    });
    cache.set(code, p);
  }
  return p;
}

/** Where {@linkcode faults} can make a dispatch throw. */
export type FaultPoint =
  /** Outputs made, nothing encoded yet. */
  | "encode"
  /** Pipeline and bind group set on the pass, no dispatch recorded. */
  | "pass"
  /** The dispatch recorded, its outputs not yet handed back. */
  | "dispatched"
  /** Before one of tfjs's own `runWebGPUProgram` dispatches (`_launch.ts`). */
  | "program";

/**
 * Test-only: makes the dispatch `skip` dispatches from now throw at `point`
 * (once; then `point` is reset to `null`), to check that a failed fused step
 * leaves every variable, state tensor and `tf.memory().numTensors` as it was.
 */
export const faults: { point: FaultPoint | null; skip: number } = {
  point: null,
  skip: 0,
};

/** Throws if {@linkcode faults} asks for a failure here. */
export function fault(point: FaultPoint): void {
  if (faults.point !== point) return;
  if (faults.skip-- > 0) return;
  faults.point = null;
  throw new Error(`@centra/webgpu: injected fault at "${point}"`);
}

/** What one dispatch needs. */
export interface MultiLaunch {
  /** The whole shader; bindings: outputs, then inputs, then the uniforms. */
  code: string;
  /** Length of each output (float32, flat). */
  outputSizes: readonly number[];
  inputs: readonly tf.Tensor[];
  uniforms: UniformValue[];
  /** What `tf.time` calls the kernel. */
  name: string;
  /** Workgroups; more than the device allows in x are spread over y. */
  groups: number;
}

/** Largest workgroup count per dimension WebGPU guarantees. */
const MAX_GROUPS = 65535;

/** Every check before anything is encoded (see `dispatchMulti`). */
function checkLaunch(launch: MultiLaunch): void {
  // an invalid dispatch or binding would invalidate the whole command
  // encoder, other tensors' work included
  if (
    !Number.isInteger(launch.groups) || launch.groups < 1 ||
    launch.outputSizes.some((n) => !Number.isInteger(n) || n < 1) ||
    launch.inputs.some((t) => t.size < 1)
  ) {
    throw new RangeError(
      `@centra/webgpu: ${launch.name} needs whole positive sizes, got ${launch.groups} workgroups, outputs [${launch.outputSizes}], inputs of ${
        launch.inputs.map((t) => t.size)
      } elements`,
    );
  }
}

/**
 * Runs one shader that writes `outputSizes.length` fresh float32 tensors,
 * returned flat; the caller owns them.
 */
export function dispatchMulti(launch: MultiLaunch): tf.Tensor[] {
  checkLaunch(launch);
  const backend = tf.backend() as unknown as BackendInternals;
  const engine = tf.engine();
  // tensors at once, so that a failure below leaves them to the caller's tidy
  const tensors = launch.outputSizes.map((n) =>
    engine.makeTensorFromTensorInfo(backend.makeTensorInfo([n], "float32"))
  );
  const outputs: TensorInfoLike[] = tensors.map((t) => ({
    dataId: t.dataId,
    shape: t.shape,
    dtype: t.dtype,
  }));
  for (const o of outputs) backend.uploadToGPU(o.dataId);
  for (const t of launch.inputs) backend.uploadToGPU(t.dataId);
  for (const f of observers) f(outputs, launch.inputs);
  const pipeline = pipelineFor(backend.device, launch.code);
  const buffer = (t: { dataId: object }): GPUBufferBinding => ({
    buffer: backend.tensorMap.get(t.dataId)!.resource as GPUBuffer,
  });
  const resources = [
    ...outputs.map(buffer),
    ...launch.inputs.map(buffer),
    backend.makeUniforms(launch.uniforms),
  ];
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({ binding, resource })),
  });
  // keep every buffer of this dispatch alive until the queue is submitted
  for (const t of [...outputs, ...launch.inputs]) {
    backend.commandQueueOwnedIds.add(t.dataId);
  }
  fault("encode");
  encode(backend, launch, pipeline, bindGroup);
  fault("dispatched");
  return tensors;
}

/** Records the dispatch on tfjs's compute pass, as `runWebGPUProgram` does. */
function encode(
  backend: BackendInternals,
  launch: MultiLaunch,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
): void {
  backend.ensureCommandEncoderReady();
  // under tf.time, a pass of its own with timestamps, as tfjs does
  const timed = backend.activeTimers != null &&
    backend.supportTimestampQuery === true &&
    typeof backend.getQueryTime === "function";
  if (timed) {
    backend.endComputePassEncoder();
    backend.querySet ??= backend.device.createQuerySet({
      type: "timestamp",
      count: backend.querySetCount ?? 2,
    });
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass({
      timestampWrites: {
        querySet: backend.querySet,
        beginningOfPassWriteIndex: 0,
        endOfPassWriteIndex: 1,
      },
    });
  } else if (backend.computePassEncoder == null) {
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass();
  }
  const pass = backend.computePassEncoder!;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  fault("pass");
  const y = Math.ceil(launch.groups / MAX_GROUPS);
  pass.dispatchWorkgroups(Math.ceil(launch.groups / y), y, 1);
  backend.dispatchCountInPass++;
  const batch = Number(tf.env().get("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE"));
  if (timed) {
    backend.endComputePassEncoder();
    backend.activeTimers!.push({
      name: launch.name,
      query: backend.getQueryTime!(),
    });
  } else if (
    backend.activeTimers != null || backend.dispatchCountInPass >= batch
  ) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}
