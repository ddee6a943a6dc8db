// Private: plain-JSON values, as saved in a model's training config.

/** A value that survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

function copy(x: unknown, path: string): JsonValue {
  if (x === null || typeof x === "boolean" || typeof x === "string") return x;
  if (typeof x === "number") {
    if (!Number.isFinite(x)) {
      throw new TypeError(
        `${path} must be a finite number to be saved as JSON, got ${x}`,
      );
    }
    return x;
  }
  if (Array.isArray(x)) return x.map((v, i) => copy(v, `${path}[${i}]`));
  if (typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(x)) out[k] = copy(v, `${path}.${k}`);
    return out;
  }
  throw new TypeError(
    `${path} must be plain JSON (numbers, strings, booleans, arrays, objects), got ${
      typeof x === "function" ? "a function" : String(x)
    }`,
  );
}

/** A deep copy of `x`, or a TypeError naming the first value that is not plain JSON. */
export function toJsonObject(x: unknown, path: string): JsonObject {
  if (x === null || typeof x !== "object" || Array.isArray(x)) {
    throw new TypeError(
      `${path} must be a JSON object, got ${
        Array.isArray(x) ? "an array" : String(x)
      }`,
    );
  }
  return copy(x, path) as JsonObject;
}
