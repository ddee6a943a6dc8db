// Private helpers that give every tensor of an optimizer state a stable name,
// so that a state can be saved as a flat list of named tensors (the way
// tfjs saves optimizer weights) and rebuilt from the structure of a fresh
// `init`.
import * as tf from "@tensorflow/tfjs";

/** One tensor of a state, with where it sits and the name it is saved under. */
export interface NamedLeaf {
  /** Saved name: `<variable>/<slot path>` or `state/<path>`. */
  name: string;
  /** The parameter this tensor belongs to, or `null` for shared state (a step count). */
  varName: string | null;
  /** The path inside the state, without the parameter name. */
  rest: string;
  /** The tensor. */
  tensor: tf.Tensor;
}

interface Seg {
  key: string;
  /** An object key (a possible parameter name), not an array index. */
  isKey: boolean;
}

function walk(
  x: unknown,
  path: Seg[],
  out: Array<{ path: Seg[]; tensor: tf.Tensor }>,
): void {
  if (x instanceof tf.Tensor) {
    out.push({ path, tensor: x });
  } else if (Array.isArray(x)) {
    x.forEach((v, i) =>
      walk(v, [...path, { key: String(i), isKey: false }], out)
    );
  } else if (x !== null && typeof x === "object") {
    for (const [k, v] of Object.entries(x)) {
      walk(v, [...path, { key: k, isKey: true }], out);
    }
  }
}

function nameOf(
  path: Seg[],
  paramNames: ReadonlySet<string>,
): Omit<NamedLeaf, "tensor"> {
  const owners = path.filter((s) => s.isKey && paramNames.has(s.key));
  if (owners.length === 1) {
    const owner = owners[0]!;
    const rest = path.filter((s) => s !== owner).map((s) => s.key).join("/") ||
      "value";
    return { name: `${owner.key}/${rest}`, varName: owner.key, rest };
  }
  const rest = path.map((s) => s.key).join("/");
  return { name: `state/${rest}`, varName: null, rest };
}

/**
 * Every tensor of `state` with its saved name. A tensor sitting under an
 * object key that is a parameter name is named after that parameter.
 * Throws if two tensors would get the same name.
 */
export function namedLeaves(
  state: unknown,
  paramNames: ReadonlySet<string>,
): NamedLeaf[] {
  const raw: Array<{ path: Seg[]; tensor: tf.Tensor }> = [];
  walk(state, [], raw);
  const out = raw.map(({ path, tensor }) => ({
    ...nameOf(path, paramNames),
    tensor,
  }));
  const seen = new Set<string>();
  for (const leaf of out) {
    if (seen.has(leaf.name)) {
      throw new TypeError(
        `ChainOptimizer: two state tensors would be saved as "${leaf.name}"; rename the parameters or the chain's parts`,
      );
    }
    seen.add(leaf.name);
  }
  return out;
}

/**
 * Rebuilds `state` with every tensor replaced by `fn(tensor, leaf)`, keeping
 * arrays, objects and other values as they are. Leaves are visited in the
 * order of {@linkcode namedLeaves}.
 */
export function mapLeaves(
  state: unknown,
  paramNames: ReadonlySet<string>,
  fn: (leaf: NamedLeaf) => tf.Tensor,
): unknown {
  const rebuild = (x: unknown, path: Seg[]): unknown => {
    if (x instanceof tf.Tensor) {
      return fn({ ...nameOf(path, paramNames), tensor: x });
    }
    if (Array.isArray(x)) {
      return x.map((v, i) =>
        rebuild(v, [...path, { key: String(i), isKey: false }])
      );
    }
    if (x !== null && typeof x === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) {
        out[k] = rebuild(v, [...path, { key: k, isKey: true }]);
      }
      return out;
    }
    return x;
  };
  return rebuild(state, []);
}

/**
 * A variable name without the `_<n>` suffix tfjs adds when a second variable
 * gets the same name (as when a saved model is loaded in the same process).
 */
export function canonicalName(name: string): string {
  return name.replace(/_\d+$/, "");
}

/**
 * Maps each current parameter name to the name its state was saved under:
 * the same name when it was saved, otherwise the one saved name that differs
 * from it only by tfjs's `_<n>` uniqueness suffix. Throws naming the first
 * parameter it cannot place.
 */
export function matchSavedNames(
  fresh: readonly NamedLeaf[],
  saved: ReadonlyMap<string, unknown>,
): Map<string, string> {
  const restsByVar = new Map<string, string[]>();
  for (const leaf of fresh) {
    if (leaf.varName === null) continue;
    const list = restsByVar.get(leaf.varName) ?? [];
    list.push(leaf.rest);
    restsByVar.set(leaf.varName, list);
  }
  const out = new Map<string, string>();
  const taken = new Map<string, string>();
  for (const [varName, rests] of restsByVar) {
    let match: string | undefined;
    if (rests.every((r) => saved.has(`${varName}/${r}`))) {
      match = varName;
    } else {
      const canon = canonicalName(varName);
      const candidates = new Set<string>();
      const probe = rests[0]!;
      for (const name of saved.keys()) {
        if (!name.endsWith(`/${probe}`)) continue;
        const prefix = name.slice(0, name.length - probe.length - 1);
        if (
          canonicalName(prefix) === canon &&
          rests.every((r) => saved.has(`${prefix}/${r}`))
        ) {
          candidates.add(prefix);
        }
      }
      if (candidates.size === 1) match = [...candidates][0]!;
      else if (candidates.size > 1) {
        throw new TypeError(
          `ChainOptimizer: the saved state has several entries that could belong to "${varName}": ${
            [...candidates].join(", ")
          }`,
        );
      }
    }
    if (match === undefined) {
      throw new TypeError(
        `ChainOptimizer: the saved state has no "${varName}/${
          rests[0]
        }" (saved: ${[...saved.keys()].slice(0, 6).join(", ")}${
          saved.size > 6 ? ", ..." : ""
        })`,
      );
    }
    const other = taken.get(match);
    if (other !== undefined) {
      throw new TypeError(
        `ChainOptimizer: "${varName}" and "${other}" both match the saved state of "${match}"`,
      );
    }
    taken.set(match, varName);
    out.set(varName, match);
  }
  return out;
}

/**
 * Renames for variables seen for the first time (not in `old`, not
 * `known`), where the saved state has them; a variable it has none for is
 * left out (it starts fresh).
 */
export function looseRenames(
  leaves: readonly NamedLeaf[],
  saved: ReadonlyMap<string, tf.Tensor>,
  old: ReadonlyMap<string, tf.Tensor>,
  known: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  if (saved.size === 0) return out;
  const newcomers = leaves.filter((l) =>
    l.varName !== null && !old.has(l.name) && !known.includes(l.varName)
  );
  for (const v of new Set(newcomers.map((l) => l.varName!))) {
    try {
      const m = matchSavedNames(
        newcomers.filter((l) => l.varName === v),
        saved,
      );
      out.set(v, m.get(v)!);
    } catch {
      // No saved state for this variable: it starts fresh.
    }
  }
  return out;
}
