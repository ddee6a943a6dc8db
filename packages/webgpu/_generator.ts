// Private: the WGSL code generator, registered with `@centra/chain/fuse`'s
// fuser for tfjs's "webgpu" backend when this package is imported. The
// fuser composes each run of elementwise stages; this plans its launches
// (`_planner.ts`, kept in the fuser's cache across steps) and runs them
// (`_launch.ts`).
import { type CodeGenerator, registerGenerator } from "@centra/chain/fuse";
import type { PlanCache } from "./_plan.ts";
import { runKernels } from "./_run.ts";

/** The WGSL generator: fused kernels on tfjs-backend-webgpu. */
export const webgpuGenerator: CodeGenerator = {
  name: "webgpu",
  run: (outputs, { inputs, hypers, cache }) =>
    runKernels(outputs, inputs, hypers, cache as unknown as PlanCache),
};

registerGenerator("webgpu", webgpuGenerator);
