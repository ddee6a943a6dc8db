// The table of optimizers the test suites of every package loop over (as
// optax's alias tests do): one row per optimizer of @centra/chain's
// OPTIMIZERS, each in its own file under rows/ with its float64 reference
// step and the settings each suite runs it with. The rows are found by name:
// optimizer `fooBar`'s row is the export `fooBarRow` of `rows/foo_bar.ts`,
// so a new optimizer adds that file and nothing here; a missing file or
// export fails every suite at load, naming it. This file loads in a browser
// (web/checks.ts reads it; `deno bundle` includes every file of rows/).
import type * as tf from "@tensorflow/tfjs";
import {
  type GradientTransformation,
  type OptimizerName,
  OPTIMIZERS,
  type Schedule,
} from "@centra/chain";
import type { Lr64 } from "./reference64.ts";
import type { OptimizerRow, Options, RefLr } from "./row_types.ts";
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

/** The file of rows/ that holds optimizer `name`'s row: `signSgd` → `sign_sgd`. */
export function rowFile(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Optimizer `name`'s row, from the export `<name>Row` of `rows/<file>.ts`. */
async function loadRow(name: OptimizerName): Promise<OptimizerRow> {
  const file = rowFile(name);
  const module: Record<string, unknown> = await import(`./rows/${file}.ts`);
  const row = module[`${name}Row`];
  if (row === undefined) {
    throw new TypeError(
      `testing/rows/${file}.ts must export ${name}Row, the test row of the optimizer "${name}"`,
    );
  }
  return row as OptimizerRow;
}

const NAMES = Object.keys(OPTIMIZERS) as OptimizerName[];

/**
 * The optimizers the suites run: all of them, or those named in
 * `CENTRA_OPTIMIZERS` (comma-separated, e.g. `CENTRA_OPTIMIZERS=adamaxw`), a
 * contributor's quick loop over one new row. An unknown name is an error.
 */
function selected(): OptimizerName[] {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  const env = deno?.permissions.querySync?.({
      name: "env",
      variable: "CENTRA_OPTIMIZERS",
    }).state === "granted"
    ? deno.env.get("CENTRA_OPTIMIZERS")
    : undefined;
  if (env === undefined || env.trim() === "") return NAMES;
  const wanted = env.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const unknown = wanted.filter((n) => !(NAMES as string[]).includes(n));
  if (unknown.length > 0) {
    throw new TypeError(
      `CENTRA_OPTIMIZERS: unknown optimizer "${unknown[0]}" (known: ${
        NAMES.join(", ")
      })`,
    );
  }
  const chosen = NAMES.filter((n) => wanted.includes(n));
  console.error(
    `CENTRA_OPTIMIZERS: the table's suites run on ${chosen.length} of ${NAMES.length} optimizers (${
      chosen.join(", ")
    })`,
  );
  return chosen;
}

const ALL: readonly (readonly [OptimizerName, OptimizerRow])[] = await Promise
  .all(NAMES.map(async (n) => [n, await loadRow(n)] as const));

/**
 * Every optimizer of @centra/chain's `OPTIMIZERS` with its test row, by name
 * (all of them, whatever `CENTRA_OPTIMIZERS` says).
 */
export const OPTIMIZER_TABLE: { readonly [N in OptimizerName]: OptimizerRow } =
  Object.fromEntries(ALL) as { readonly [N in OptimizerName]: OptimizerRow };

/**
 * The rows in table order (the order of `OPTIMIZERS`), with their names, for
 * the suites' loops; only those of `CENTRA_OPTIMIZERS` when it is set.
 */
export const OPTIMIZER_ROWS:
  readonly (readonly [OptimizerName, OptimizerRow])[] =
    ((names) => ALL.filter(([n]) => names.includes(n)))(selected());
