// Private: what every optimizer alias is built from (the GC options, the
// kinds of the options they share, and the chain around the scaling).
import { guard } from "./_guard.ts";
import { checkOptions, checkPlainHyper, type OptionKind } from "./_check.ts";
import { addDecayedWeights } from "./add_decayed_weights.ts";
import { centralize, convGcAxes, defaultGcAxes } from "./centralize.ts";
import { chain } from "./chain.ts";
import { validator } from "./fuser.ts";
import { scaleByLearningRate } from "./scale.ts";
import { trace } from "./trace.ts";
import type {
  AxesResolver,
  GradientTransformation,
  Hyper,
  Mask,
  ScalarOrSchedule,
} from "./types.ts";

/** Gradient Centralization options shared by every optimizer. */
export interface GcOptions {
  /**
   * `true`: GC on every tensor of rank 2 or more (conv and FC kernels);
   * `"conv"`: on convolution kernels (rank 3 or more) only, the authors'
   * GCC; a resolver (such as `@centra/match`'s `gcAxes(model)`): exact axes
   * per parameter; `false` (default): off.
   */
  gc?: boolean | "conv" | AxesResolver;
  /**
   * `"gradient"` (default): centralize the gradient (with L2 decay, `g + λw`)
   * before the optimizer's scaling, as the paper's algorithms; `"update"`:
   * centralize the scaled update instead, the authors' variant for adaptive
   * methods.
   */
  gcOn?: "gradient" | "update";
}

/** The kinds of the GC options every optimizer takes. */
export const GC_KINDS: Readonly<Record<string, OptionKind>> = {
  gc: "gc",
  gcOn: "gcOn",
};
/** An optimizer's option table: the GC options and its own `kinds`, frozen. */
export function withGc(
  kinds: Readonly<Record<string, OptionKind>>,
): Readonly<Record<string, OptionKind>> {
  return Object.freeze({ ...GC_KINDS, ...kinds });
}

/** The kinds of the decays and epsilons of Adam-like moments. */
export const MOMENT_KINDS: Readonly<Record<string, OptionKind>> = {
  b1: "hyper",
  b2: "hyper",
  eps: "hyper",
  epsRoot: "hyper",
};
/** The kinds of a weight decay's options (decoupled or L2). */
export const DECAY_KINDS: Readonly<Record<string, OptionKind>> = {
  weightDecay: "hyper",
  weightDecayMask: "mask",
};

/** The kinds of SGD's momentum and weight decay options. */
export const MOMENTUM_KINDS: Readonly<Record<string, OptionKind>> = {
  momentum: "hyper",
  nesterov: "boolean",
  ...DECAY_KINDS,
};
/** The kinds of Adam's options (shared by adam, adamw). */
export const ADAM_KINDS: Readonly<Record<string, OptionKind>> = {
  ...GC_KINDS,
  ...MOMENT_KINDS,
  amsgrad: "boolean",
  ...DECAY_KINDS,
};

/** The GC transform an option asks for, or `null` when it is off. */
export function gcFrom(
  where: string,
  opts: GcOptions,
): [GradientTransformation<unknown> | null, "gradient" | "update"] {
  const { gc = false, gcOn = "gradient" } = opts;
  if (gcOn !== "gradient" && gcOn !== "update") {
    throw new TypeError(
      `${where}: gcOn must be "gradient" or "update", got ${String(gcOn)}`,
    );
  }
  if (gc === false) return [null, gcOn];
  if (gc === true) return [centralize({ axes: defaultGcAxes }), gcOn];
  if (gc === "conv") return [centralize({ axes: convGcAxes }), gcOn];
  if (typeof gc === "function") return [centralize({ axes: gc }), gcOn];
  throw new TypeError(
    `${where}: gc must be true, false, "conv" or an axes resolver, got ${
      String(gc)
    }`,
  );
}

/** Whether a hyperparameter switches its transform on (tensors always do). */
export function on(h: Hyper | undefined): h is Hyper {
  return h !== undefined && (typeof h !== "number" || h > 0);
}

export function checkMomentum(
  where: string,
  momentum: Hyper | undefined,
  nesterov: boolean,
): void {
  checkPlainHyper(where, "momentum", momentum, { min: 0, max: 1 });
  if (nesterov && !on(momentum)) {
    throw new RangeError(
      `${where}: nesterov needs momentum > 0, got ${momentum}`,
    );
  }
}

/** The entries of `o` named in `keys` that are defined (for exact optional types). */
export function defined<T extends object, K extends keyof T>(
  o: T,
  keys: readonly K[],
): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Pick<T, K>;
}

/** `validator(guard)`, GC where `gcOn` puts it around the scaling, and the rest. */
export function build(
  where: string,
  opts: GcOptions,
  parts: {
    before?: (GradientTransformation<unknown> | false)[];
    scaling: (GradientTransformation<unknown> | false)[];
    after?: (GradientTransformation<unknown> | false)[];
  },
): GradientTransformation<unknown[]> {
  const [gc, gcOn] = gcFrom(where, opts);
  const list = [
    validator(guard(where)),
    ...(parts.before ?? []),
    gcOn === "gradient" && gc,
    ...parts.scaling,
    gcOn === "update" && gc,
    ...(parts.after ?? []),
  ].filter((t): t is GradientTransformation<unknown> =>
    t !== false && t !== null
  );
  return chain(...list);
}

/** The options of `addDecayedWeights` for a mask (exact optional types). */
export function decayOptions(mask: Mask | undefined): { mask?: Mask } {
  return mask === undefined ? {} : { mask };
}

/** A decoupled weight decay's options. */
interface DecayOptions {
  weightDecay?: Hyper;
  weightDecayMask?: Mask;
}

/**
 * The usual optimizer alias: `options` checked against `table`, then
 * `chain(scaling, scaleByLearningRate(learningRate))` with GC where `gcOn`
 * puts it (see {@linkcode build}). `scaling` is given the options of
 * `table` that are neither GC's nor, with `decay`, the weight decay's, as
 * far as they are defined. With `decay`, `weightDecay` (default
 * `decay.weightDecay`, off when absent) and `weightDecayMask` are a weight
 * decay: decoupled, after the scaling (optax's `*w` aliases), or with
 * `l2: true` added to the gradient before GC and the scaling.
 */
export function alias<O extends GcOptions>(
  where: string,
  learningRate: ScalarOrSchedule,
  options: O,
  table: Readonly<Record<string, OptionKind>>,
  scaling: (own: O) => GradientTransformation<unknown>,
  decay?: { weightDecay?: Hyper; l2?: boolean },
): GradientTransformation<unknown[]> {
  checkOptions(where, options, table);
  const { weightDecay = decay?.weightDecay, weightDecayMask } =
    options as DecayOptions;
  if (decay !== undefined) {
    checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  }
  const notOwn = (k: string) =>
    Object.hasOwn(GC_KINDS, k) ||
    (decay !== undefined && Object.hasOwn(DECAY_KINDS, k));
  const keys = Object.keys(table).filter((k) => !notOwn(k)) as (keyof O)[];
  const decayed = (wanted: boolean) =>
    wanted && on(weightDecay) &&
    addDecayedWeights(weightDecay, decayOptions(weightDecayMask));
  const l2 = decay?.l2 === true;
  return build(where, options, {
    before: [decayed(l2)],
    scaling: [scaling(defined(options, keys) as O)],
    after: [
      decayed(decay !== undefined && !l2),
      scaleByLearningRate(learningRate),
    ],
  });
}

/** SGD's options: momentum and a weight decay, besides GC. */
interface MomentumSgdOptions extends GcOptions, DecayOptions {
  momentum?: Hyper;
  nesterov?: boolean;
}

/**
 * SGD with momentum (`trace`) and a weight decay, as `sgd` and `sgdw`:
 * `decay` `"l2"` adds `λw` to the gradient before GC and momentum (default
 * off); otherwise the decay is decoupled, after the momentum (default
 * `decay.weightDecay`).
 */
export function momentumSgd(
  where: string,
  learningRate: ScalarOrSchedule,
  options: MomentumSgdOptions,
  table: Readonly<Record<string, OptionKind>>,
  decay: "l2" | { weightDecay: Hyper },
): GradientTransformation<unknown[]> {
  checkOptions(where, options, table);
  const l2 = decay === "l2";
  const {
    momentum,
    nesterov = false,
    weightDecay = l2 ? undefined : decay.weightDecay,
    weightDecayMask,
  } = options;
  checkMomentum(where, momentum, nesterov);
  checkPlainHyper(where, "weightDecay", weightDecay, { min: 0 });
  const decayed = (wanted: boolean) =>
    wanted && addDecayedWeights(weightDecay!, decayOptions(weightDecayMask));
  return build(where, options, {
    before: [decayed(l2 && on(weightDecay))],
    scaling: [on(momentum) && trace(momentum, { nesterov })],
    after: [decayed(!l2 && on(weightDecay)), scaleByLearningRate(learningRate)],
  });
}
