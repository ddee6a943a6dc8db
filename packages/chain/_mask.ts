// Private: resolving masks and labels against parameters.
import "./tfjs_check.ts";
import type { Labels, Mask, Params } from "./types.ts";

/** Throws if a map names a parameter that does not exist. */
export function checkMapNames(
  where: string,
  what: string,
  map: object,
  params: Params,
): void {
  for (const name of Object.keys(map)) {
    if (!(name in params)) {
      throw new TypeError(
        `${where}: the ${what} names "${name}", which is not a parameter`,
      );
    }
  }
}

/** Checks a mask against the parameters it will be used with. */
export function checkMask(where: string, mask: Mask, params: Params): void {
  if (typeof mask === "function") return;
  if (mask === null || typeof mask !== "object") {
    throw new TypeError(
      `${where}: mask must be a record of booleans or a function, got ${
        String(mask)
      }`,
    );
  }
  checkMapNames(where, "mask", mask, params);
  for (const [k, v] of Object.entries(mask)) {
    if (typeof v !== "boolean") {
      throw new TypeError(
        `${where}: mask entry "${k}" must be a boolean, got ${String(v)}`,
      );
    }
  }
}

/** Whether the mask selects this parameter (unnamed map entries do not). */
export function inMask(
  mask: Mask,
  name: string,
  shape: readonly number[],
): boolean {
  if (typeof mask === "function") return mask(name, shape) === true;
  return mask[name] === true;
}

/** The label of one parameter. */
export function labelOf(
  where: string,
  labels: Labels,
  name: string,
  shape: readonly number[],
): string {
  const label = typeof labels === "function"
    ? labels(name, shape)
    : labels[name];
  if (typeof label !== "string") {
    throw new TypeError(
      `${where}: no label for parameter "${name}" (got ${String(label)})`,
    );
  }
  return label;
}
