// Private: glob and RegExp patterns for selectors.

/** A glob (`*`, `?`, `[abc]`, `[!abc]`, matched against the whole string) or a RegExp. */
export type Pattern = string | RegExp;

/** A compiled pattern: its test and how it reads in messages. */
export interface Compiled {
  test(s: string): boolean;
  text: string;
}

/** Translates a glob into an anchored RegExp source. */
function globSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) {
        out += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = close;
    } else out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return `^${out}$`;
}

/** Compiles one pattern, throwing a TypeError that names a bad one. */
export function compile(where: string, p: unknown): Compiled {
  if (p instanceof RegExp) {
    // Without g and y, test() keeps no state between calls.
    const re = new RegExp(p.source, p.flags.replace(/[gy]/g, ""));
    return { test: (s) => re.test(s), text: String(p) };
  }
  if (typeof p === "string" && p !== "") {
    let re: RegExp;
    try {
      re = new RegExp(globSource(p), "u");
    } catch {
      throw new TypeError(`${where}: invalid glob ${JSON.stringify(p)}`);
    }
    return { test: (s) => re.test(s), text: JSON.stringify(p) };
  }
  throw new TypeError(
    `${where}: a pattern must be a non-empty glob string or a RegExp, got ${
      typeof p === "string" ? '""' : String(p)
    }`,
  );
}

/** Compiles one pattern or a non-empty list of them (any may match). */
export function compileAll(
  where: string,
  patterns: unknown,
): Compiled {
  if (!Array.isArray(patterns)) return compile(where, patterns);
  if (patterns.length === 0) {
    throw new TypeError(`${where}: the list of patterns is empty`);
  }
  const all = patterns.map((p) => compile(where, p));
  return {
    test: (s) => all.some((c) => c.test(s)),
    text: `[${all.map((c) => c.text).join(", ")}]`,
  };
}
