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
import * as tf from "@tensorflow/tfjs";

/**
 * The `@tensorflow/tfjs` versions centra supports, as an npm caret range.
 * The packages' `deno.json` imports use the same range.
 */
export const supportedTfjs = "^4.10.0";

/** A copy of tfjs-core found in a stack trace: its folder and version. */
interface Copy {
  root: string;
  version: string | undefined;
}

// tfjs-core's folder in a file or URL: node_modules/.deno/@tensorflow+tfjs-core@4.22.0/
// (nodeModulesDir), .../@tensorflow/tfjs-core/4.22.0/ (Deno's npm cache),
// .../@tensorflow/tfjs-core@4.22.0/ (CDNs), .../@tensorflow/tfjs-core/ (node_modules).
const CORE_ROOT =
  /^(.*?@tensorflow[+/]tfjs-core(?:[@/](\d+\.\d+\.\d+[^/]*))?\/)/;

function copiesIn(stack: string | undefined): Copy[] {
  const copies = new Map<string, Copy>();
  for (const line of (stack ?? "").split("\n")) {
    const at = line.match(/\(?((?:file|https?|npm|jsr):[^\s()]+)/);
    const m = at?.[1]?.match(CORE_ROOT);
    if (m?.[1] !== undefined && !copies.has(m[1])) {
      copies.set(m[1], { root: m[1], version: m[2] });
    }
  }
  return [...copies.values()];
}

/**
 * Whether `version` is in the caret range `range` (`^M.m.p`): same major,
 * not lower, no prerelease.
 */
function inCaret(version: string, range: string): boolean {
  const v = version.match(/^(\d+)\.(\d+)\.(\d+)$/);
  const r = range.match(/^\^(\d+)\.(\d+)\.(\d+)$/);
  if (v === null || r === null) return false;
  const [vM, vm, vp] = v.slice(1).map(Number) as [number, number, number];
  const [rM, rm, rp] = r.slice(1).map(Number) as [number, number, number];
  if (vM !== rM) return false;
  return vm > rm || (vm === rm && vp >= rp);
}

function fix(): string {
  return `Fix: import tfjs through one specifier in range, e.g. in deno.json ` +
    `"imports": { "@tensorflow/tfjs": "npm:@tensorflow/tfjs@${supportedTfjs}" } ` +
    `(or a version in ${supportedTfjs} that every import agrees on), remove ` +
    `other pins and import-map entries for @tensorflow/*, then run ` +
    `\`deno install\` (or delete the stale deno.lock entries).`;
}

function describeCopy(c: Copy | undefined): string {
  if (c === undefined) return "another copy (version unknown)";
  const v = c.version ?? "version unknown";
  const range = c.version === undefined
    ? ""
    : inCaret(c.version, supportedTfjs)
    ? ", in range"
    : `, outside ${supportedTfjs}`;
  return `${v}${range} at ${c.root}`;
}

function twoCopiesError(ours: Copy | undefined, other: Copy | undefined) {
  return new Error(
    `centra: two copies of tfjs are loaded: centra's tfjs-core ` +
      `${tf.version_core} (${ours?.root ?? "its own copy"}) and tfjs-core ` +
      `${describeCopy(other)}. They share one engine but not their ` +
      `classes, so kernels register twice and model.fit fails. centra ` +
      `supports @tensorflow/tfjs ${supportedTfjs}. ${fix()}`,
  );
}

function rangeError(): Error {
  return new Error(
    `centra: tfjs-core ${tf.version_core} is loaded, outside the range ` +
      `centra supports (@tensorflow/tfjs ${supportedTfjs}). ${fix()}`,
  );
}

// Set on the shared tfjs environment by the first centra copy that checks.
const HOOKED = Symbol.for("centra.tfjsCheck.hooked");

// The copy of tfjs-core this module's `tf` is: its functions appear in the
// stack of a callback that `tf.tidy` runs.
function ourCopy(): Copy | undefined {
  let stack: string | undefined;
  tf.tidy(() => {
    stack = new Error().stack;
  });
  // The innermost frames are the engine's (maybe another copy's), the
  // outermost tfjs-core frame is our `tidy` wrapper.
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
  const env = tf.env() as tf.Environment & { [HOOKED]?: true };
  if (!(env instanceof tf.Environment)) {
    // The engine (and its environment) came from a copy imported earlier.
    const ours = ourCopy();
    let stack: string | undefined;
    tf.engine().tidy(() => {
      stack = new Error().stack;
    });
    const other = copiesIn(stack).find((c) => c.root !== ours?.root);
    throw twoCopiesError(ours, other);
  }
  silenceNodeBanner();
  if (env[HOOKED]) return;
  const ours = ourCopy();
  // A copy imported later reuses the engine and announces its platform on
  // the shared environment while it loads: stop it there, before its
  // kernels register.
  const setPlatform = env.setPlatform;
  Object.defineProperty(env, "setPlatform", {
    configurable: true,
    writable: true,
    value(this: tf.Environment, ...args: Parameters<typeof setPlatform>) {
      const other = copiesIn(new Error().stack).find((c) =>
        c.root !== ours?.root
      );
      if (ours !== undefined && other !== undefined) {
        throw twoCopiesError(ours, other);
      }
      return setPlatform.apply(this, args);
    },
  });
  Object.defineProperty(env, HOOKED, { value: true });
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
