// What the benchmarks share: parameter shapes (tfjs layouts) of the models
// they step over, random variables and gradients of those shapes, rows
// (optimizers set up over them), and timing that visits the rows in turn.
import * as tf from "@tensorflow/tfjs";
import {
  applyUpdates,
  disposeState,
  type GradientTransformation,
  initState,
  runUpdate,
} from "@centra/chain";

/** A ~108k-parameter CNN for 28x28x1 inputs: two 3x3 convs and two Dense layers. */
export const SMALL_CNN: Record<string, number[]> = {
  "conv1/kernel": [3, 3, 1, 16],
  "conv1/bias": [16],
  "conv2/kernel": [3, 3, 16, 32],
  "conv2/bias": [32],
  "dense1/kernel": [800, 128],
  "dense1/bias": [128],
  "dense2/kernel": [128, 10],
  "dense2/bias": [10],
};

/** ResNet-18 (ImageNet stem, 1000 classes): 11,689,512 parameters. */
export const RESNET18: Record<string, number[]> = (() => {
  const shapes: Record<string, number[]> = {};
  const bn = (name: string, c: number) => {
    shapes[`${name}/gamma`] = [c];
    shapes[`${name}/beta`] = [c];
  };
  shapes["conv1/kernel"] = [7, 7, 3, 64];
  bn("bn1", 64);
  let cin = 64;
  [64, 128, 256, 512].forEach((c, stage) => {
    for (let block = 0; block < 2; block++) {
      const p = `layer${stage + 1}.${block}`;
      shapes[`${p}/conv1/kernel`] = [3, 3, cin, c];
      bn(`${p}/bn1`, c);
      shapes[`${p}/conv2/kernel`] = [3, 3, c, c];
      bn(`${p}/bn2`, c);
      if (cin !== c) {
        shapes[`${p}/downsample/kernel`] = [1, 1, cin, c];
        bn(`${p}/downsample/bn`, c);
      }
      cin = c;
    }
  });
  shapes["fc/kernel"] = [512, 1000];
  shapes["fc/bias"] = [1000];
  return shapes;
})();

/** ResNet-50 (ImageNet stem, 1000 classes): 25,557,032 parameters. */
export const RESNET50: Record<string, number[]> = (() => {
  const shapes: Record<string, number[]> = {};
  const bn = (name: string, c: number) => {
    shapes[`${name}/gamma`] = [c];
    shapes[`${name}/beta`] = [c];
  };
  shapes["conv1/kernel"] = [7, 7, 3, 64];
  bn("bn1", 64);
  let cin = 64;
  [[64, 3], [128, 4], [256, 6], [512, 3]].forEach(([w, blocks], stage) => {
    for (let block = 0; block < blocks!; block++) {
      const p = `layer${stage + 1}.${block}`;
      shapes[`${p}/conv1/kernel`] = [1, 1, cin, w!];
      bn(`${p}/bn1`, w!);
      shapes[`${p}/conv2/kernel`] = [3, 3, w!, w!];
      bn(`${p}/bn2`, w!);
      shapes[`${p}/conv3/kernel`] = [1, 1, w!, 4 * w!];
      bn(`${p}/bn3`, 4 * w!);
      if (block === 0) {
        shapes[`${p}/downsample/kernel`] = [1, 1, cin, 4 * w!];
        bn(`${p}/downsample/bn`, 4 * w!);
      }
      cin = 4 * w!;
    }
  });
  shapes["fc/kernel"] = [2048, 1000];
  shapes["fc/bias"] = [1000];
  return shapes;
})();

/** The number of parameters in a shape table. */
export function countParams(shapes: Record<string, number[]>): number {
  return Object.values(shapes).reduce(
    (n, s) => n + s.reduce((a, b) => a * b, 1),
    0,
  );
}

let uid = 0;

/** Variables of these shapes, N(0, 0.05), under a fresh name prefix. */
export function makeVars(
  shapes: Record<string, number[]>,
): Record<string, tf.Variable> {
  const id = `bench${uid++}`;
  const out: Record<string, tf.Variable> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    out[name] = tf.variable(
      tf.randomNormal(shape, 0, 0.05),
      true,
      `${id}/${name}`,
    );
  }
  return out;
}

/** Random gradients N(0, 0.01) for these variables, keyed the same way. */
export function makeGrads(
  vars: Record<string, tf.Variable>,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(vars)) {
    out[name] = tf.randomNormal(v.shape, 0, 0.01);
  }
  return out;
}

/**
 * Ends a step the same way for every row: waits until the device has done
 * all the work submitted so far, by reading back the largest variable. (A
 * small one would not do on webgpu: tfjs runs ops on tensors under 1,000
 * elements on the cpu when their data is there, so reading one can return
 * before the queued GPU work of the others has run.)
 */
export async function settle(
  vars: Record<string, tf.Variable>,
): Promise<void> {
  let largest: tf.Variable | undefined;
  for (const v of Object.values(vars)) {
    if (largest === undefined || v.size > largest.size) largest = v;
  }
  await largest?.data();
}

/** One step of a row: update and apply. */
export type Step = () => void;

/** A row of a benchmark table: an optimizer set up over a model's tensors. */
export interface Row {
  name: string;
  /** Builds the row's step over the model's variables and gradients. */
  setup(
    vars: Record<string, tf.Variable>,
    grads: Record<string, tf.Tensor>,
  ): { step: Step; dispose(): void };
}

/** A row that steps a centra chain with runUpdate and applyUpdates. */
export function centraRow(
  name: string,
  make: () => GradientTransformation<unknown>,
): Row {
  return {
    name,
    setup(vars, grads) {
      const tx = make();
      let state = initState(tx, vars);
      return {
        step() {
          const [u, next] = runUpdate(tx, grads, state, vars);
          state = next;
          applyUpdates(vars, u);
          tf.dispose(u);
        },
        dispose: () => void disposeState(state),
      };
    },
  };
}

/** A row that steps one of tfjs's own optimizers. */
export function builtinRow(name: string, make: () => tf.Optimizer): Row {
  return {
    name,
    setup(vars, grads) {
      const opt = make();
      const named: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(vars)) named[v.name] = grads[k]!;
      return {
        step: () => opt.applyGradients(named),
        dispose: () => opt.dispose(),
      };
    },
  };
}

/** The median of a non-empty list. */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Median milliseconds per step of each row, over `rounds` rounds that visit
 * the rows in turn (so that a machine whose load drifts slows every row
 * alike), each sample `steps` steps ended by {@linkcode settle}.
 */
export async function interleavedMedians(
  made: readonly { step: Step }[],
  vars: Record<string, tf.Variable>,
  rounds: number,
  steps: number,
): Promise<number[]> {
  for (const m of made) m.step(); // warm up: shaders, kernels, state
  await settle(vars);
  const times: number[][] = made.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, m] of made.entries()) {
      const t0 = performance.now();
      for (let k = 0; k < steps; k++) m.step();
      await settle(vars);
      times[i]!.push((performance.now() - t0) / steps);
    }
  }
  return times.map(median);
}
