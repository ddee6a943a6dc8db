// The table of optimizers the test suites of every package loop over (as
// optax's alias tests do): one row per optimizer of @centra/chain's
// OPTIMIZERS, each in its own file under rows/ with its float64 reference
// step and the settings each suite runs it with. A new optimizer adds its
// file there and one line here; the type makes the row required. This file
// loads in a browser (web/checks.ts reads it).
import type * as tf from "@tensorflow/tfjs";
import {
  type GradientTransformation,
  type OptimizerName,
  OPTIMIZERS,
  type Schedule,
} from "@centra/chain";
import type { Lr64 } from "./reference64.ts";
import type { OptimizerRow, Options, RefLr } from "./row_types.ts";
import { sgdRow } from "./rows/sgd.ts";
import { sgdwRow } from "./rows/sgdw.ts";
import { adamRow } from "./rows/adam.ts";
import { adamwRow } from "./rows/adamw.ts";
import { adagradRow } from "./rows/adagrad.ts";
import { rmspropRow } from "./rows/rmsprop.ts";
import { nadamRow } from "./rows/nadam.ts";
import { signSgdRow } from "./rows/sign_sgd.ts";
import { lionRow } from "./rows/lion.ts";
import { lambRow } from "./rows/lamb.ts";
import { larsRow } from "./rows/lars.ts";
import { rpropRow } from "./rows/rprop.ts";
import { novogradRow } from "./rows/novograd.ts";
import { noisySgdRow } from "./rows/noisy_sgd.ts";
import { adafactorRow } from "./rows/adafactor.ts";
import { lookaheadRow } from "./rows/lookahead.ts";
import { rangerRow } from "./rows/ranger.ts";
import { adamaxRow } from "./rows/adamax.ts";
import { adadeltaRow } from "./rows/adadelta.ts";
import { amsgradRow } from "./rows/amsgrad.ts";
import { nadamwRow } from "./rows/nadamw.ts";
import { yogiRow } from "./rows/yogi.ts";
import { adabeliefRow } from "./rows/adabelief.ts";
import { radamRow } from "./rows/radam.ts";
export type * from "./row_types.ts";

/** Builds optimizer `name` of @centra/chain's table. */
export function makeOptimizer(
  name: OptimizerName,
  lr: number | Schedule | tf.Scalar,
  options: Options = {},
): GradientTransformation<unknown> {
  return OPTIMIZERS[name].make(lr, options);
}

/** The learning rate a `RefLr` gives the chain and the reference. */
export function refLr(lr: RefLr): [number | Schedule, Lr64] {
  return typeof lr === "number" ? [lr, lr] : [lr.schedule(), lr.at];
}

/**
 * Every optimizer of @centra/chain's `OPTIMIZERS` with its test row; a
 * missing row is a type error.
 */
export const OPTIMIZER_TABLE: { readonly [N in OptimizerName]: OptimizerRow } =
  {
    sgd: sgdRow,
    sgdw: sgdwRow,
    adam: adamRow,
    adamw: adamwRow,
    adagrad: adagradRow,
    rmsprop: rmspropRow,
    nadam: nadamRow,
    signSgd: signSgdRow,
    lion: lionRow,
    lamb: lambRow,
    lars: larsRow,
    rprop: rpropRow,
    novograd: novogradRow,
    noisySgd: noisySgdRow,
    adafactor: adafactorRow,
    lookahead: lookaheadRow,
    ranger: rangerRow,
    adamax: adamaxRow,
    adadelta: adadeltaRow,
    amsgrad: amsgradRow,
    nadamw: nadamwRow,
    yogi: yogiRow,
    adabelief: adabeliefRow,
    radam: radamRow,
  };

/** The rows in table order, with their names. */
export const OPTIMIZER_ROWS:
  readonly (readonly [OptimizerName, OptimizerRow])[] =
    (Object.keys(OPTIMIZERS) as OptimizerName[]).map((n) =>
      [n, OPTIMIZER_TABLE[n]] as const
    );
