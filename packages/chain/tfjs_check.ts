/**
 * One tfjs per program. centra's packages depend on `@tensorflow/tfjs` by
 * the caret range {@linkcode supportedTfjs}, so that npm resolution shares
 * the copy a project already uses. When a program still ends up with two
 * copies (two exact pins, an import map pointing elsewhere), tfjs shares one
 * engine between them but not its classes: every kernel is registered twice
 * ("already registered", hundreds of lines) and objects of one copy fail the
 * other's checks (`model.fit` crashes on private members). This module,
 * imported by every centra package, turns that into one error at import time
 * that names the versions found and the fix.
 *
 * It also silences tfjs's "install our node backend" banner, which the cpu
 * backend prints under Deno although that backend does not exist for Deno;
 * other warnings are left alone.
 *
 * @example
 * ```ts
 * import { checkTfjs, supportedTfjs } from "@centra/chain/tfjs-check";
 * import assert from "node:assert/strict";
 *
 * checkTfjs(); // throws when two copies of tfjs-core are loaded
 * assert.match(supportedTfjs, /^\^4\./);
 * ```
 *
 * @module
 */
// First, so that it runs before centra's copy of tfjs is evaluated.
import {
  copiesIn,
  engineCopy,
  type EngineLike,
  fix,
  guard,
  inCaret,
  supportedTfjs,
  twoCopiesError,
} from "./_tfjs_guard.ts";
import * as tf from "@tensorflow/tfjs";

export { supportedTfjs };

function rangeError(): Error {
  return new Error(
    `centra: tfjs-core ${tf.version_core} is loaded, outside the range ` +
      `centra supports (@tensorflow/tfjs ${supportedTfjs}). ${fix()}`,
  );
}

// The copy of tfjs-core this module's `tf` is: the outermost tfjs-core frame
// of a callback that its `tidy` wrapper runs.
function ourCopy() {
  let stack: string | undefined;
  tf.tidy(() => {
    stack = new Error().stack;
  });
  return copiesIn(stack).at(-1);
}

/**
 * Checks that the tfjs this program loaded is one copy, in
 * {@linkcode supportedTfjs}; runs when any centra package is imported, and
 * arms a check that throws as soon as a second copy of tfjs-core loads
 * later. Calling it again is cheap.
 *
 * The other copy's version is read from the file or URL its code was loaded
 * from; bundled code gives no version, and a second copy inside the same
 * bundle that loads after centra is not detected (bundlers keep one copy).
 *
 * @throws {Error} When tfjs-core is outside {@linkcode supportedTfjs}, or
 * another copy of tfjs-core created the tfjs engine (it was imported first).
 * The message names the versions found and the import-map fix.
 *
 * @example
 * ```ts
 * import { checkTfjs } from "@centra/chain/tfjs-check";
 *
 * checkTfjs();
 * ```
 */
export function checkTfjs(): void {
  if (!inCaret(tf.version_core, supportedTfjs)) throw rangeError();
  const engine = tf.engine() as unknown as EngineLike;
  if (!(tf.env() instanceof tf.Environment)) {
    // The engine (and its environment) came from a copy imported earlier.
    throw twoCopiesError(engineCopy(engine), ourCopy());
  }
  silenceNodeBanner();
  guard(engine);
}

type CpuBackend = tf.KernelBackend & { firstUse?: boolean };
type Factory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

// The cpu backend prints "install our node backend" on its first write when
// tfjs believes it runs in Node (Deno looks like Node to it), though
// tfjs-node does not load in Deno. The message is tied to the backend's
// `firstUse` flag, so clearing that flag drops this message only.
function silenceNodeBanner(): void {
  const engine = tf.engine() as unknown as {
    registry: Record<string, tf.KernelBackend>;
    registryFactory: Record<string, { factory: Factory; silenced?: true }>;
  };
  const quiet = (b: tf.KernelBackend): tf.KernelBackend => {
    if ((b as CpuBackend).firstUse === true) (b as CpuBackend).firstUse = false;
    return b;
  };
  const live = engine.registry["cpu"];
  if (live !== undefined) quiet(live);
  const entry = engine.registryFactory["cpu"];
  if (entry === undefined || entry.silenced) return;
  const make = entry.factory;
  entry.factory = () => {
    const b = make();
    return b instanceof Promise ? b.then(quiet) : quiet(b);
  };
  entry.silenced = true;
}

checkTfjs();
