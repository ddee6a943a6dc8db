/**
 * Selectors: which parameters, by what they are rather than where they sit
 * in a list. Combine them with {@linkcode and}, {@linkcode or} and
 * {@linkcode not}; turn them into masks with `mask` and label maps with
 * `labels`.
 *
 * Patterns are globs matched against the whole string (`*` any run of
 * characters, `/` included; `?` one character; `[abc]`, `[!abc]` one of, or
 * none of, a set) or RegExps (matched anywhere unless anchored).
 *
 * @module
 */
import type { ParamInfo, Selector } from "./types.ts";
import { compileAll, type Pattern } from "./_pattern.ts";
import { checkSelector } from "./_source.ts";

export type { Pattern } from "./_pattern.ts";
export type { Selector } from "./types.ts";

/** One pattern or a list of them; a list matches when any pattern does. */
export type Patterns = Pattern | readonly Pattern[];

function selector(
  description: string,
  test: (info: ParamInfo) => boolean,
): Selector {
  return Object.freeze({ description, test });
}

/**
 * Selects parameters by variable name. Matches the name (the key in
 * `Params`) or the original name, so that `byName("conv/kernel")` also
 * matches the `conv/kernel_1` of a loaded model.
 *
 * @param patterns Globs or RegExps.
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { byName } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const s = byName("head/*");
 * assert.equal(s.description, 'byName("head/*")');
 * ```
 */
export function byName(patterns: Patterns): Selector {
  const p = compileAll("byName", patterns);
  return selector(
    `byName(${p.text})`,
    (i) => p.test(i.name) || p.test(i.originalName),
  );
}

/**
 * Selects parameters by layer name: the owning layer or any layer that
 * encloses it (a nested model, a Bidirectional or TimeDistributed wrapper),
 * so `byLayer("backbone")` selects every variable of a nested model named
 * `backbone`.
 *
 * @param patterns Globs or RegExps.
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { byLayer } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const s = byLayer(["head", /^fc\d$/]);
 * assert.equal(s.description, 'byLayer(["head", /^fc\\d$/])');
 * ```
 */
export function byLayer(patterns: Patterns): Selector {
  const p = compileAll("byLayer", patterns);
  return selector(
    `byLayer(${p.text})`,
    (i) => i.layerPath.some((n) => p.test(n)) || p.test(i.layerName),
  );
}

/**
 * Selects parameters by the class of their owning layer, as
 * `layer.getClassName()` reports it (`"Conv2D"`, `"Dense"`, `"LSTM"`, ...).
 *
 * @param patterns Globs or RegExps.
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { byClass } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const conv = byClass("Conv?D");
 * assert.equal(conv.description, 'byClass("Conv?D")');
 * ```
 */
export function byClass(patterns: Patterns): Selector {
  const p = compileAll("byClass", patterns);
  return selector(`byClass(${p.text})`, (i) => p.test(i.layerClass));
}

/**
 * Selects parameters by role: `"kernel"`, `"bias"`, `"gamma"`, `"beta"`,
 * `"moving_mean"`, `"moving_variance"`, `"depthwise_kernel"`,
 * `"pointwise_kernel"`, `"recurrent_kernel"`, `"embeddings"`, `"alpha"`, or
 * whatever a custom layer names its weights.
 *
 * @param patterns Globs or RegExps; `"*kernel"` matches every kind of kernel.
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { byRole } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * assert.equal(byRole(["gamma", "beta"]).description, 'byRole(["gamma", "beta"])');
 * ```
 */
export function byRole(patterns: Patterns): Selector {
  const p = compileAll("byRole", patterns);
  return selector(`byRole(${p.text})`, (i) => p.test(i.role));
}

/** A range of ranks for {@linkcode byRank}, both ends included. */
export interface RankRange {
  /** The smallest rank selected. Default 0. */
  min?: number;
  /** The largest rank selected. Default unbounded. */
  max?: number;
}

/**
 * Selects parameters by rank (the length of their shape): one rank or a
 * range.
 *
 * @param rank A rank, or `{ min, max }` (inclusive).
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { byRank } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * assert.equal(byRank({ max: 1 }).description, "byRank({ max: 1 })");
 * ```
 */
export function byRank(rank: number | RankRange): Selector {
  const where = "byRank";
  const checkRank = (what: string, r: unknown): number => {
    if (typeof r !== "number" || !Number.isInteger(r) || r < 0) {
      throw new RangeError(
        `${where}: ${what} must be a non-negative integer, got ${String(r)}`,
      );
    }
    return r;
  };
  if (typeof rank === "number") {
    const r = checkRank("rank", rank);
    return selector(`byRank(${r})`, (i) => i.shape.length === r);
  }
  if (rank === null || typeof rank !== "object") {
    throw new TypeError(
      `${where}: expected a rank or { min, max }, got ${String(rank)}`,
    );
  }
  const min = rank.min === undefined ? 0 : checkRank("min", rank.min);
  const max = rank.max === undefined ? Infinity : checkRank("max", rank.max);
  if (min > max) {
    throw new RangeError(`${where}: min ${min} is greater than max ${max}`);
  }
  const parts = [
    rank.min === undefined ? "" : `min: ${min}`,
    rank.max === undefined ? "" : `max: ${max}`,
  ].filter((s) => s !== "");
  return selector(
    `byRank({ ${parts.join(", ")} })`.replace("{  }", "{}"),
    (i) => i.shape.length >= min && i.shape.length <= max,
  );
}

/**
 * Selects parameters by any test on their description.
 *
 * @param predicate The test.
 * @param description How the selector reads in error messages.
 * @returns A selector.
 *
 * @example Kernels with at least 100 elements
 * ```ts
 * import { where } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const big = where((p) => p.shape.reduce((a, b) => a * b, 1) >= 100, "big");
 * assert.equal(big.description, 'where("big")');
 * ```
 */
export function where(
  predicate: (info: ParamInfo) => boolean,
  description = "predicate",
): Selector {
  if (typeof predicate !== "function") {
    throw new TypeError(
      `where: predicate must be a function, got ${String(predicate)}`,
    );
  }
  return selector(
    `where(${JSON.stringify(String(description))})`,
    (i) => predicate(i) === true,
  );
}

/**
 * Selects every parameter.
 *
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { all } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * assert.equal(all().description, "all()");
 * ```
 */
export function all(): Selector {
  return selector("all()", () => true);
}

/**
 * Selects the parameters every one of the selectors picks.
 *
 * @param selectors One or more selectors.
 * @returns A selector.
 *
 * @example Conv kernels only
 * ```ts
 * import { and, byClass, byRole } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const s = and(byClass("Conv2D"), byRole("kernel"));
 * assert.equal(s.description, 'and(byClass("Conv2D"), byRole("kernel"))');
 * ```
 */
export function and(...selectors: Selector[]): Selector {
  const list = selectors.map((s) => checkSelector("and", s));
  if (list.length === 0) {
    throw new TypeError("and: needs at least one selector");
  }
  return selector(
    `and(${list.map((s) => s.description).join(", ")})`,
    (i) => list.every((s) => s.test(i)),
  );
}

/**
 * Selects the parameters any of the selectors picks.
 *
 * @param selectors One or more selectors.
 * @returns A selector.
 *
 * @example Biases and norms
 * ```ts
 * import { byClass, byRole, or } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * const s = or(byRole("bias"), byClass("*Normalization"));
 * assert.equal(s.description, 'or(byRole("bias"), byClass("*Normalization"))');
 * ```
 */
export function or(...selectors: Selector[]): Selector {
  const list = selectors.map((s) => checkSelector("or", s));
  if (list.length === 0) {
    throw new TypeError("or: needs at least one selector");
  }
  return selector(
    `or(${list.map((s) => s.description).join(", ")})`,
    (i) => list.some((s) => s.test(i)),
  );
}

/**
 * Selects the parameters the selector does not pick.
 *
 * @param s A selector.
 * @returns A selector.
 *
 * @example
 * ```ts
 * import { byLayer, not } from "@centra/match/selectors";
 * import assert from "node:assert/strict";
 *
 * assert.equal(not(byLayer("head")).description, 'not(byLayer("head"))');
 * ```
 */
export function not(s: Selector): Selector {
  const inner = checkSelector("not", s);
  return selector(`not(${inner.description})`, (i) => !inner.test(i));
}
