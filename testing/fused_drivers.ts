// Test drivers shared by the fused suites (packages/chain/fuse_test.ts and
// webgpu's fuse_test.ts, failure_test.ts and agreement_test.ts): seeded
// variables, a quadratic and its noisy gradients, one step by either driver,
// op by op and fused trained side by side, and the chains whose scalars
// change at every step; a run of one transformation over its own variables
// (the cpu output pool's suites).
import * as tf from "@tensorflow/tfjs";
import {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeState,
  fuse,
  type GradientTransformation,
  initState,
  injectHyperparams,
  runStep,
  runUpdate,
  warmupCosineDecaySchedule,
} from "@centra/chain";
import { collectTensors } from "../packages/chain/_tree.ts";

/** Variables by name. */
export type Vars = Record<string, tf.Variable>;
/** Gradients (or targets) by variable name. */
export type Grads = Record<string, tf.Tensor>;

let uid = 0;

/**
 * Variables of `shapes` drawn from N(0, 1), seeded from `seed` on (one seed
 * per tensor), named `<prefix><n>/<key>` with `n` unique in the process.
 */
export function seededVariables(
  shapes: Record<string, number[]>,
  prefix: string,
  seed = 1,
): Vars {
  const id = `${prefix}${uid++}`;
  const out: Vars = {};
  for (const [k, s] of Object.entries(shapes)) {
    out[k] = tf.variable(
      tf.randomNormal(s, 0, 1, "float32", seed++),
      true,
      `${id}/${k}`,
    );
  }
  return out;
}

/**
 * Seeded variables and targets of the quadratic `½‖w - t‖²`, both N(0, 1):
 * the i-th variable from seed `1 + 2i`, its target from `102 + 2i`.
 */
export function quadratic(
  shapes: Record<string, number[]>,
  prefix: string,
): { vars: Vars; targets: Grads } {
  const id = `${prefix}${uid++}`;
  const vars: Vars = {};
  const targets: Grads = {};
  let seed = 1;
  for (const [name, shape] of Object.entries(shapes)) {
    vars[name] = tf.variable(
      tf.randomNormal(shape, 0, 1, "float32", seed++),
      true,
      `${id}/${name}`,
    );
    targets[name] = tf.randomNormal(shape, 0, 1, "float32", 100 + seed++);
  }
  return { vars, targets };
}

/**
 * The quadratic's gradient `w - t` at `step`, plus noise N(`mean`, 0.5²)
 * (so that GC has means to remove), the i-th tensor's seeded `seed(i)`.
 */
export function quadraticGrads(
  vars: Vars,
  targets: Grads,
  noise: { mean: number; seed: (i: number) => number },
): Grads {
  return tf.tidy(() => {
    const out: Grads = {};
    Object.entries(vars).forEach(([k, v], i) => {
      out[k] = tf.add(
        tf.sub(v, targets[k]!),
        tf.randomNormal(v.shape, noise.mean, 0.5, "float32", noise.seed(i)),
      );
    });
    return out;
  });
}

/** One step by `runStep`, or by `runUpdate` then `applyUpdates`; the next state. */
export function stepOnce(
  tx: GradientTransformation<unknown>,
  g: Grads,
  state: unknown,
  vars: Vars,
  byUpdate: boolean,
): unknown {
  if (!byUpdate) return runStep(tx, g, state, vars);
  const [u, next] = runUpdate(tx, g, state, vars);
  applyUpdates(vars, u);
  tf.dispose(Object.values(u));
  return next;
}

/** One side of {@linkcode sideBySide}: its chain, its variables and how it steps. */
export interface Side {
  tx: GradientTransformation<unknown>;
  vars: Vars;
  /** One step; default: `runStep` on even steps, `runUpdate` on odd ones. */
  step?: (g: Grads, state: unknown, step: number) => unknown;
}

/**
 * Trains `plain` (op by op) and `fused` side by side for `steps` steps, each
 * from its own `init`, with the gradients `grads` gives each side, less
 * those of the parameters `frozen` names at that step (on both sides);
 * `afterInit` runs once both states are built, `afterStep` after each step,
 * once the gradients are freed. Returns both final states (the caller
 * disposes them).
 */
export function sideBySide(o: {
  steps: number;
  plain: Side;
  fused: Side;
  grads: (side: "plain" | "fused", step: number) => Grads;
  frozen?: (step: number) => readonly string[];
  afterInit?: () => void;
  afterStep?: (step: number) => void;
}): { plain: unknown; fused: unknown } {
  const run = (side: Side) =>
    side.step ??
      ((g: Grads, state: unknown, step: number) =>
        stepOnce(side.tx, g, state, side.vars, step % 2 === 1));
  const stepPlain = run(o.plain), stepFused = run(o.fused);
  let sa = initState(o.plain.tx, o.plain.vars);
  let sb = initState(o.fused.tx, o.fused.vars);
  o.afterInit?.();
  for (let step = 0; step < o.steps; step++) {
    const frozen = o.frozen?.(step) ?? [];
    const ga = withoutFrozen(o.grads("plain", step), frozen);
    const gb = withoutFrozen(o.grads("fused", step), frozen);
    sa = stepPlain(ga, sa, step);
    sb = stepFused(gb, sb, step);
    tf.dispose([...Object.values(ga), ...Object.values(gb)]);
    o.afterStep?.(step);
  }
  return { plain: sa, fused: sb };
}

/** `g` without the gradients of `names`, which are disposed. */
function withoutFrozen(g: Grads, names: readonly string[]): Grads {
  for (const name of names) {
    g[name]!.dispose();
    delete g[name];
  }
  return g;
}

/** Disposes both sides' states and variables (and any other tensors given). */
export function disposeSides(
  states: { plain: unknown; fused: unknown },
  ...tensors: Record<string, tf.Tensor>[]
): void {
  disposeState(states.plain);
  disposeState(states.fused);
  tf.dispose(tensors.flatMap((t) => Object.values(t)));
}

/**
 * Chains whose scalars change at every step: a warmup cosine schedule, alone
 * and inside `injectHyperparams` (clipByGlobalNorm + adamw with GC).
 */
export function scheduledChains(): [
  string,
  () => GradientTransformation<unknown>,
][] {
  const schedule = () =>
    warmupCosineDecaySchedule({
      initValue: 0,
      peakValue: 1e-2,
      warmupSteps: 5,
      decaySteps: 50,
    });
  return [
    [
      "schedule",
      () => chain(clipByGlobalNorm(1), adamw(schedule(), { gc: true })),
    ],
    [
      "injectHyperparams",
      () =>
        injectHyperparams(
          (hp) => chain(clipByGlobalNorm(1), adamw(hp.lr!, { gc: true })),
          { lr: schedule() },
        ),
    ],
  ];
}

/**
 * A quadratic's gradient plus seeded noise at `step` (`½ w + N(0.1, 0.5)`,
 * seeds `seedBase + 10 step` on): made by kernels, so that nothing is read
 * out of the variables.
 */
export function noisyGrads(vars: Vars, step: number, seedBase: number): Grads {
  return tf.tidy(() => {
    const out: Grads = {};
    let seed = seedBase + 10 * step;
    for (const [k, v] of Object.entries(vars)) {
      out[k] = tf.add(
        tf.mul(v, 0.5),
        tf.randomNormal(v.shape, 0.1, 0.5, "float32", seed++),
      );
    }
    return out;
  });
}

/**
 * Fused GC + AdamW after clipping (a global sum, per-unit means and two
 * slots): the cpu reuse suites' chain.
 */
export const fusedGcAdamwClip = (): GradientTransformation<unknown> =>
  fuse(
    chain(
      clipByGlobalNorm(1),
      adamw(0.05, { weightDecay: 0.01, gc: true }),
    ) as GradientTransformation<unknown>,
  );

/**
 * A run of `tx` over its own seeded variables, stepped with `runStep` on
 * {@linkcode noisyGrads} (seeds from `seedBase`).
 */
export class SeededRun {
  // (in a tidy: seededVariables leaves its random initial values behind)
  readonly vars: Vars;
  state: unknown;
  steps = 0;
  constructor(
    readonly tx: GradientTransformation<unknown>,
    shapes: Record<string, number[]>,
    prefix: string,
    private readonly seedBase: number,
  ) {
    this.vars = tf.tidy(() => seededVariables(shapes, prefix, 3));
    this.state = initState(tx, this.vars);
  }
  step(n = 1): void {
    for (let k = 0; k < n; k++) {
      const g = noisyGrads(this.vars, this.steps++, this.seedBase);
      try {
        this.state = runStep(this.tx, g, this.state, this.vars);
      } finally {
        tf.dispose(Object.values(g));
      }
    }
  }
  /** The variables, then every state tensor. */
  tensors(): tf.Tensor[] {
    return [...Object.values(this.vars), ...collectTensors(this.state)];
  }
  /** What {@linkcode tensors} hold, read out. */
  values(): number[][] {
    return this.tensors().map((t) => Array.from(t.dataSync()));
  }
  dispose(): void {
    disposeState(this.state);
    tf.dispose(Object.values(this.vars));
  }
}
