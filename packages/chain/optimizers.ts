/**
 * The table of optimizers: every optimizer alias by name, with its factory
 * and the options it takes. `ChainOptimizer.from(name, json)` in
 * `@centra/tfjs` builds from it, and the test suites of every package loop
 * over it, so an optimizer is its own file plus one row here.
 *
 * @module
 */
import type { OptionKind } from "./_check.ts";
import { adagrad, ADAGRAD_OPTIONS } from "./adagrad.ts";
import { adam, ADAM_OPTIONS } from "./adam.ts";
import { adamw, ADAMW_OPTIONS } from "./adamw.ts";
import { nadam, NADAM_OPTIONS } from "./nadam.ts";
import { rmsprop, RMSPROP_OPTIONS } from "./rmsprop.ts";
import { sgd, SGD_OPTIONS } from "./sgd.ts";
import { sgdw, SGDW_OPTIONS } from "./sgdw.ts";
import { SIGN_SGD_OPTIONS, signSgd } from "./sign_sgd.ts";
import { lion, LION_OPTIONS } from "./lion.ts";
import { lamb, LAMB_OPTIONS } from "./lamb.ts";
import { lars, LARS_OPTIONS } from "./lars.ts";
import { rprop, RPROP_OPTIONS } from "./rprop.ts";
import { novograd, NOVOGRAD_OPTIONS } from "./novograd.ts";
import { NOISY_SGD_OPTIONS, noisySgd } from "./noisy_sgd.ts";
import { adafactor, ADAFACTOR_OPTIONS } from "./adafactor.ts";
import { LOOKAHEAD_OPTIONS, lookaheadAdam } from "./lookahead.ts";
import { ranger, RANGER_OPTIONS } from "./ranger.ts";
import { adamax, ADAMAX_OPTIONS } from "./adamax.ts";
import { adadelta, ADADELTA_OPTIONS } from "./adadelta.ts";
import { amsgrad, AMSGRAD_OPTIONS } from "./amsgrad.ts";
import { nadamw, NADAMW_OPTIONS } from "./nadamw.ts";
import { yogi, YOGI_OPTIONS } from "./yogi.ts";
import { adabelief, ADABELIEF_OPTIONS } from "./adabelief.ts";
import { radam, RADAM_OPTIONS } from "./radam.ts";
import { adamaxw, ADAMAXW_OPTIONS } from "./adamaxw.ts";
import type { GradientTransformation, ScalarOrSchedule } from "./types.ts";
export type { GcOptions } from "./_optimizer.ts";
export type { OptionKind };
export * from "./sgd.ts";
export * from "./sgdw.ts";
export * from "./adam.ts";
export * from "./adamw.ts";
export * from "./adagrad.ts";
export * from "./rmsprop.ts";
export * from "./nadam.ts";
export * from "./sign_sgd.ts";
export * from "./lion.ts";
export * from "./lamb.ts";
export * from "./lars.ts";
export * from "./rprop.ts";
export * from "./novograd.ts";
export * from "./noisy_sgd.ts";
export * from "./adafactor.ts";
export * from "./lookahead.ts";
export * from "./ranger.ts";
export * from "./adamax.ts";
export * from "./adadelta.ts";
export * from "./amsgrad.ts";
export * from "./nadamw.ts";
export * from "./yogi.ts";
export * from "./adabelief.ts";
export * from "./radam.ts";
export * from "./adamaxw.ts";

/** One row of {@linkcode OPTIMIZERS}. */
export interface OptimizerEntry {
  /**
   * The optimizer alias itself, `(learningRate, options) => chain`; options
   * are checked against {@linkcode OptimizerEntry.options}.
   */
  make: (
    learningRate: ScalarOrSchedule,
    // deno-lint-ignore no-explicit-any
    options?: any,
  ) => GradientTransformation<unknown[]>;
  /**
   * The options it takes, and the kind of each: `"hyper"` a number or
   * scalar tensor, `"number"`, `"boolean"`, `"mask"` a record of booleans or
   * a function, `"gc"` true, false, `"conv"` or an axes resolver, `"gcOn"`
   * `"gradient"` or `"update"`.
   */
  options: Readonly<Record<string, OptionKind>>;
}

/**
 * Every optimizer alias by name: its factory and its option schema. This is
 * the one list of optimizers: `ChainOptimizer.from` reads it for the JSON
 * form, and every test suite loops over it.
 *
 * @example
 * ```ts
 * import { OPTIMIZERS } from "@centra/chain/optimizers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(OPTIMIZERS.sgd.options.momentum, "hyper");
 * const tx = OPTIMIZERS.adam.make(1e-3, { gc: true });
 * assert.equal(typeof tx.update, "function");
 * ```
 */
export const OPTIMIZERS = {
  sgd: { make: sgd, options: SGD_OPTIONS },
  sgdw: { make: sgdw, options: SGDW_OPTIONS },
  adam: { make: adam, options: ADAM_OPTIONS },
  adamw: { make: adamw, options: ADAMW_OPTIONS },
  adagrad: { make: adagrad, options: ADAGRAD_OPTIONS },
  rmsprop: { make: rmsprop, options: RMSPROP_OPTIONS },
  nadam: { make: nadam, options: NADAM_OPTIONS },
  signSgd: { make: signSgd, options: SIGN_SGD_OPTIONS },
  lion: { make: lion, options: LION_OPTIONS },
  lamb: { make: lamb, options: LAMB_OPTIONS },
  lars: { make: lars, options: LARS_OPTIONS },
  rprop: { make: rprop, options: RPROP_OPTIONS },
  novograd: { make: novograd, options: NOVOGRAD_OPTIONS },
  noisySgd: { make: noisySgd, options: NOISY_SGD_OPTIONS },
  adafactor: { make: adafactor, options: ADAFACTOR_OPTIONS },
  lookahead: { make: lookaheadAdam, options: LOOKAHEAD_OPTIONS },
  ranger: { make: ranger, options: RANGER_OPTIONS },
  adamax: { make: adamax, options: ADAMAX_OPTIONS },
  adadelta: { make: adadelta, options: ADADELTA_OPTIONS },
  amsgrad: { make: amsgrad, options: AMSGRAD_OPTIONS },
  nadamw: { make: nadamw, options: NADAMW_OPTIONS },
  yogi: { make: yogi, options: YOGI_OPTIONS },
  adabelief: { make: adabelief, options: ADABELIEF_OPTIONS },
  radam: { make: radam, options: RADAM_OPTIONS },
  adamaxw: { make: adamaxw, options: ADAMAXW_OPTIONS },
} as const satisfies Readonly<Record<string, OptimizerEntry>>;

/** The name of an optimizer of {@linkcode OPTIMIZERS}. */
export type OptimizerName = keyof typeof OPTIMIZERS;

/**
 * The options each optimizer alias takes, and the kind of each, by name:
 * the `options` column of {@linkcode OPTIMIZERS}. An unknown key or a value
 * of the wrong kind is a `TypeError` naming it.
 *
 * @example
 * ```ts
 * import { OPTIMIZER_OPTIONS, sgd } from "@centra/chain/optimizers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(OPTIMIZER_OPTIONS.sgd.momentum, "hyper");
 * assert.throws(() => sgd(0.1, { momentun: 0.9 } as never), TypeError);
 * ```
 */
export const OPTIMIZER_OPTIONS: Readonly<
  Record<OptimizerName, Readonly<Record<string, OptionKind>>>
> = Object.freeze(
  Object.fromEntries(
    Object.entries(OPTIMIZERS).map(([name, e]) => [name, e.options]),
  ) as Record<OptimizerName, Readonly<Record<string, OptionKind>>>,
);
