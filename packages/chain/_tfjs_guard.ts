// The part of tfjs_check.ts that needs no tfjs: it runs before centra's own
// copy of tfjs is evaluated, so that a second copy is stopped while it loads,
// before it registers its kernels (hundreds of "already registered" lines).

/**
 * The `@tensorflow/tfjs` versions centra supports, as an npm caret range.
 * The packages' `deno.json` imports use the same range.
 */
export const supportedTfjs = "^4.10.0";

/** A copy of tfjs-core found in a stack trace: its folder and version. */
export interface Copy {
  root: string;
  version: string | undefined;
}

/** The slice of tfjs's engine the guard uses (`globalThis._tfengine`). */
export interface EngineLike {
  ENV: object;
  tidy(fn: () => void): unknown;
}

// tfjs-core's folder in a file or URL: node_modules/.deno/@tensorflow+tfjs-core@4.22.0/
// (nodeModulesDir), .../@tensorflow/tfjs-core/4.22.0/ (Deno's npm cache),
// .../@tensorflow/tfjs-core@4.22.0/ (CDNs), .../@tensorflow/tfjs-core/ (node_modules).
const CORE_ROOT =
  /^(.*?@tensorflow[+/]tfjs-core(?:[@/](\d+\.\d+\.\d+[^/]*))?\/)/;

/** The distinct tfjs-core copies whose code is in a stack, innermost first. */
export function copiesIn(stack: string | undefined): Copy[] {
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
export function inCaret(version: string, range: string): boolean {
  const v = version.match(/^(\d+)\.(\d+)\.(\d+)$/);
  const r = range.match(/^\^(\d+)\.(\d+)\.(\d+)$/);
  if (v === null || r === null) return false;
  const [vM, vm, vp] = v.slice(1).map(Number) as [number, number, number];
  const [rM, rm, rp] = r.slice(1).map(Number) as [number, number, number];
  if (vM !== rM) return false;
  return vm > rm || (vm === rm && vp >= rp);
}

/** How to fix an import map that loads two copies, or one out of range. */
export function fix(): string {
  return `Fix: import tfjs through one specifier in range, e.g. in deno.json ` +
    `"imports": { "@tensorflow/tfjs": "npm:@tensorflow/tfjs@${supportedTfjs}" } ` +
    `(or a version in ${supportedTfjs} that every import agrees on), remove ` +
    `other pins and import-map entries for @tensorflow/*, then run ` +
    `\`deno install\` (or delete the stale deno.lock entries).`;
}

function describeCopy(c: Copy | undefined): string {
  if (c === undefined) return "(version and location unknown)";
  if (c.version === undefined) return `(version unknown) at ${c.root}`;
  const range = inCaret(c.version, supportedTfjs)
    ? "in range"
    : `outside ${supportedTfjs}`;
  return `${c.version} (${range}) at ${c.root}`;
}

/** The error for two copies: the engine's (loaded first) and another. */
export function twoCopiesError(
  first: Copy | undefined,
  second: Copy | undefined,
): Error {
  return new Error(
    `centra: two copies of tfjs are loaded: tfjs-core ${
      describeCopy(first)
    }, loaded first, and tfjs-core ${describeCopy(second)}. They share one ` +
      `engine but not their classes, so kernels register twice and ` +
      `model.fit fails. centra supports @tensorflow/tfjs ${supportedTfjs}. ` +
      fix(),
  );
}

/** The copy of tfjs-core that made `engine`, from its frames in a stack. */
export function engineCopy(engine: EngineLike): Copy | undefined {
  let stack: string | undefined;
  engine.tidy(() => {
    stack = new Error().stack;
  });
  return copiesIn(stack)[0];
}

const HOOKED = Symbol.for("centra.tfjsCheck.hooked");

/**
 * Watches the engine's shared environment: a copy of tfjs-core other than
 * the engine's announces its platform on it while it loads, and is stopped
 * there with {@linkcode twoCopiesError}. Installed once per engine.
 */
export function guard(engine: EngineLike): void {
  const env = engine.ENV as {
    setPlatform(...args: unknown[]): void;
    [HOOKED]?: true;
  };
  if (env[HOOKED]) return;
  const first = engineCopy(engine);
  if (first === undefined) return; // bundled: no way to tell copies apart
  const setPlatform = env.setPlatform;
  Object.defineProperty(env, "setPlatform", {
    configurable: true,
    writable: true,
    value(this: unknown, ...args: unknown[]) {
      const other = copiesIn(new Error().stack).find((c) =>
        c.root !== first.root
      );
      if (other !== undefined) throw twoCopiesError(first, other);
      return setPlatform.apply(this, args);
    },
  });
  Object.defineProperty(env, HOOKED, { value: true });
}

// A tfjs loaded before centra (the project's own import) already made the
// engine: guard it now, before centra's `import "@tensorflow/tfjs"` runs.
const existing = (globalThis as { _tfengine?: EngineLike })._tfengine;
if (existing !== undefined) guard(existing);
