import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";
import { ChainOptimizer } from "./chain_optimizer.ts";
import type { FitLogs } from "./learning_rate.ts";

/** Options of {@linkcode reduceLrOnPlateau} (Keras's `ReduceLROnPlateau`). */
export interface ReduceLrOnPlateauOptions {
  /** The epoch log to watch. Default `"val_loss"`. */
  monitor?: string;
  /** The factor the rate is multiplied by, in `[0, 1)`. Default 0.1. */
  factor?: number;
  /** Epochs without improvement before the rate is reduced. Default 10. */
  patience?: number;
  /**
   * `"min"`: lower is better; `"max"`: higher is; `"auto"` (default): `"max"`
   * when the monitor's name contains `acc`, else `"min"` (Keras).
   */
  mode?: "auto" | "min" | "max";
  /** The least change that counts as an improvement. Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** The rate is never reduced below this. Default 0. */
  minLr?: number;
}

/** The counters of the rule, as Keras keeps them. */
interface Counters {
  best: number;
  wait: number;
  cooldown: number;
}

const F32_MAX = 3.4028234663852886e38;
const NAMES = ["plateauBest", "plateauWait", "plateauCooldown"] as const;

class ReduceLrOnPlateau extends tf.Callback {
  readonly #o: Required<ReduceLrOnPlateauOptions>;
  readonly #better: (a: number, b: number) => boolean;
  readonly #worst: number;
  #local: Counters;
  #warned = false;

  constructor(o: Required<ReduceLrOnPlateauOptions>) {
    super();
    this.#o = o;
    const max = o.mode === "max" ||
      (o.mode === "auto" && o.monitor.includes("acc"));
    this.#better = max
      ? (a, b) => a > b + o.minDelta
      : (a, b) => a < b - o.minDelta;
    this.#worst = max ? -Infinity : Infinity;
    this.#local = { best: this.#worst, wait: 0, cooldown: 0 };
  }

  #optimizer(): ChainOptimizer {
    const opt = this.model?.optimizer;
    const where = "reduceLrOnPlateau";
    if (!(opt instanceof ChainOptimizer)) {
      throw new TypeError(
        `${where}: the model's optimizer must be a ChainOptimizer with an injected learningRate (ChainOptimizer.from), got ${
          opt?.constructor?.name ?? String(opt)
        }`,
      );
    }
    const lr = opt.spec?.options.learningRate;
    if (lr !== undefined && typeof lr !== "number") {
      throw new TypeError(
        `${where}: the learning rate is a schedule, which sets it at every step; give a number (as Keras refuses a schedule here)`,
      );
    }
    const hp = opt.hyperparams();
    if (hp?.learningRate === undefined) {
      throw new TypeError(
        `${where}: the optimizer has no injected learningRate (wrap its chain in injectHyperparams, or use ChainOptimizer.from)`,
      );
    }
    return opt;
  }

  /** Whether the optimizer holds the counters (built with `reduceOnPlateau: true`). */
  #saved(opt: ChainOptimizer): boolean {
    const hp = opt.hyperparams() ?? {};
    return NAMES.every((n) => Object.hasOwn(hp, n));
  }

  async #read(opt: ChainOptimizer): Promise<Counters> {
    if (!this.#saved(opt)) return { ...this.#local };
    const hp = await opt.readHyperparams();
    // a negative wait -1 - w: no best value seen yet, w epochs waited
    const raw = hp.plateauWait!;
    return raw < 0
      ? { best: this.#worst, wait: -1 - raw, cooldown: hp.plateauCooldown! }
      : { best: hp.plateauBest!, wait: raw, cooldown: hp.plateauCooldown! };
  }

  #write(opt: ChainOptimizer, c: Counters): void {
    if (!this.#saved(opt)) {
      this.#local = c;
      if (!this.#warned) {
        this.#warned = true;
        console.warn(
          "reduceLrOnPlateau: the optimizer keeps no plateau counters, so they are not saved with it; build it with reduceOnPlateau: true to resume the same schedule",
        );
      }
      return;
    }
    // best is the worst end exactly until a value has improved on it
    const seen = c.best !== this.#worst;
    opt.setHyperparam(
      "plateauBest",
      seen ? Math.max(-F32_MAX, Math.min(F32_MAX, c.best)) : 0,
    );
    opt.setHyperparam("plateauWait", seen ? c.wait : -1 - c.wait);
    opt.setHyperparam("plateauCooldown", c.cooldown);
  }

  override onTrainBegin(): Promise<void> {
    const opt = this.#optimizer();
    // Keras starts afresh at each fit; counters kept in the optimizer carry
    // over, so that a resumed run continues the same schedule
    if (!this.#saved(opt)) {
      this.#local = { best: this.#worst, wait: 0, cooldown: 0 };
    }
    return Promise.resolve();
  }

  override async onEpochEnd(_epoch: number, logs?: FitLogs): Promise<void> {
    const value = logs?.[this.#o.monitor];
    if (value === undefined) {
      console.warn(
        `reduceLrOnPlateau: no "${this.#o.monitor}" in the epoch logs (have: ${
          Object.keys(logs ?? {}).join(", ")
        }); the learning rate is left as it is`,
      );
      return;
    }
    const current = typeof value === "number"
      ? value
      : (await value.data())[0]!;
    const opt = this.#optimizer();
    const c = await this.#read(opt);
    if (c.cooldown > 0) {
      c.cooldown -= 1;
      c.wait = 0;
    }
    if (this.#better(current, c.best)) {
      c.best = current;
      c.wait = 0;
    } else if (c.cooldown === 0) {
      c.wait += 1;
      if (c.wait >= this.#o.patience) {
        const old = (await opt.readHyperparams()).learningRate!;
        if (old > Math.fround(this.#o.minLr)) {
          opt.setHyperparam(
            "learningRate",
            Math.max(old * this.#o.factor, this.#o.minLr),
          );
          c.cooldown = this.#o.cooldown;
          c.wait = 0;
        }
      }
    }
    this.#write(opt, c);
  }
}

function checkNumber(
  name: string,
  v: unknown,
  ok: (x: number) => boolean,
  want: string,
): void {
  if (typeof v !== "number") {
    throw new TypeError(
      `reduceLrOnPlateau: ${name} must be a number, got ${JSON.stringify(v)}`,
    );
  }
  if (!ok(v)) {
    throw new RangeError(
      `reduceLrOnPlateau: ${name} must be ${want}, got ${v}`,
    );
  }
}

/**
 * A `model.fit` callback that multiplies the learning rate by `factor` when
 * the monitored value has not improved for `patience` epochs, as Keras's
 * `ReduceLROnPlateau`: with `best` the best value so far, an epoch improves
 * when its value is below `best - minDelta` (above `best + minDelta` in
 * `"max"` mode); otherwise, outside a cooldown, it counts towards the
 * patience, and at `patience` the rate becomes `max(lr * factor, minLr)` (if
 * above `minLr`) and a cooldown of `cooldown` epochs starts, during which
 * nothing counts. It sets the {@linkcode ChainOptimizer}'s injected
 * `learningRate`, which is saved with the optimizer; build it with
 * `reduceOnPlateau: true` and the counters (best value, epochs waited,
 * cooldown) are saved too, so a resumed run continues the same schedule
 * (otherwise they start afresh at each `fit`, as in Keras, with a warning).
 *
 * @param options Keras's options, camelCased.
 * @returns The callback.
 * @throws {TypeError} For an unknown option or one of the wrong kind; at
 * the start of training, if the model's optimizer is not a
 * `ChainOptimizer` with a numeric injected learning rate.
 * @throws {RangeError} For a `factor` outside `[0, 1)`, a negative or
 * fractional `patience` or `cooldown`, a negative `minDelta` or `minLr`.
 *
 * @example Halve the rate when the loss stalls
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, reduceLrOnPlateau } from "@centra/tfjs";
 * import assert from "node:assert/strict";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
 * // a rate so small that the loss does not move: a plateau
 * const optimizer = ChainOptimizer.from("sgd", { learningRate: 1e-9, reduceOnPlateau: true });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * await model.fit(tf.ones([4, 1]), tf.zeros([4, 1]), {
 *   epochs: 4, verbose: 0,
 *   callbacks: [reduceLrOnPlateau({ monitor: "loss", factor: 0.5, patience: 1 })],
 * });
 * const { learningRate } = await optimizer.readHyperparams();
 * assert.ok(Math.abs(learningRate! - 1e-9 / 8) < 1e-15); // halved at epochs 1, 2, 3
 * optimizer.dispose();
 * ```
 */
export function reduceLrOnPlateau(
  options: ReduceLrOnPlateauOptions = {},
): tf.Callback {
  const known = [
    "monitor",
    "factor",
    "patience",
    "mode",
    "minDelta",
    "cooldown",
    "minLr",
  ];
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `reduceLrOnPlateau: options must be an object, got ${String(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new TypeError(
        `reduceLrOnPlateau: unknown option "${k}" (known: ${known.join(", ")})`,
      );
    }
  }
  const o: Required<ReduceLrOnPlateauOptions> = {
    monitor: "val_loss",
    factor: 0.1,
    patience: 10,
    mode: "auto",
    minDelta: 1e-4,
    cooldown: 0,
    minLr: 0,
    ...Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ),
  };
  if (typeof o.monitor !== "string" || o.monitor === "") {
    throw new TypeError(
      `reduceLrOnPlateau: monitor must be a non-empty string, got ${
        JSON.stringify(o.monitor)
      }`,
    );
  }
  if (!["auto", "min", "max"].includes(o.mode)) {
    throw new TypeError(
      `reduceLrOnPlateau: mode must be "auto", "min" or "max", got ${
        JSON.stringify(o.mode)
      }`,
    );
  }
  const whole = (x: number) => Number.isInteger(x) && x >= 0;
  checkNumber("factor", o.factor, (x) => x >= 0 && x < 1, "in [0, 1)");
  checkNumber("patience", o.patience, whole, "a non-negative integer");
  checkNumber("cooldown", o.cooldown, whole, "a non-negative integer");
  const nonNegative = (x: number) => Number.isFinite(x) && x >= 0;
  checkNumber("minDelta", o.minDelta, nonNegative, "finite and at least 0");
  checkNumber("minLr", o.minLr, nonNegative, "finite and at least 0");
  return new ReduceLrOnPlateau(o);
}
