/**
 * The command-line entry shared by `deno task demo` (examples/demo.ts),
 * `deno task repro` (repro/main.ts) and `deno task serve` (web/serve.ts): flags read with `node:util`'s
 * `parseArgs` and errors in the commands' own words, value checks that name
 * the flag and the value, and the `--help` / exit-2 main.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The flags a command takes: those with a value and the switches. */
export interface FlagSpec<V extends string, B extends string> {
  /** Flags followed by a value (`--epochs 3` or `--epochs=3`). */
  values: readonly V[];
  /** Flags without a value (`--fresh`). `-h`/`--help` is always there. */
  booleans: readonly B[];
}

/** What {@linkcode readFlags} returns: each flag given, by name. */
export type Flags<V extends string, B extends string> =
  & { [K in V]?: string }
  & { [K in B]?: boolean }
  & { help?: boolean };

/**
 * Reads flags with `node:util`'s `parseArgs` (strict, no positionals). A
 * value that starts with `-` (`--lr -1`) is taken as the value, so that the
 * range check names it; unknown or valueless flags and stray arguments are
 * TypeErrors that say so.
 *
 * @param args The command-line arguments.
 * @param spec The flags the command takes.
 * @returns The flags given.
 * @throws {TypeError} On an unknown flag, a missing value, a value given to
 * a switch, or an argument that follows no flag.
 */
export function readFlags<V extends string, B extends string>(
  args: readonly string[],
  spec: FlagSpec<V, B>,
): Flags<V, B> {
  const values: readonly string[] = spec.values;
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const name = a.startsWith("--") ? a.slice(2) : "";
    if (
      values.includes(name) && next !== undefined && next.startsWith("-") &&
      !next.startsWith("--") && next !== "-h"
    ) {
      joined.push(`${a}=${next}`);
      i++;
    } else joined.push(a);
  }
  try {
    return parseArgs({
      args: joined,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(values.map((f) => [f, { type: "string" }])),
        ...Object.fromEntries(
          spec.booleans.map((f) => [f, { type: "boolean" }]),
        ),
        help: { type: "boolean", short: "h" },
      },
    }).values as Flags<V, B>;
  } catch (e) {
    throw flagError(e, values);
  }
}

/** parseArgs's error in the commands' words. */
function flagError(e: unknown, values: readonly string[]): unknown {
  const code = (e as { code?: string }).code;
  const message = String((e as Error).message);
  const flag = message.match(/'(-[^' ]+)/)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    return new TypeError(`unknown flag "${flag}" (see --help)`);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return new TypeError(
      values.some((f) => flag === `--${f}`)
        ? `${flag} needs a value`
        : `${flag} takes no value`,
    );
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return new TypeError(
      `unexpected argument ${
        message.match(/'([^']*)'/)?.[0] ?? ""
      }: every value follows its flag (see --help)`,
    );
  }
  return e;
}

/**
 * An integer flag.
 *
 * @param name The flag, without `--`.
 * @param v Its value, or `undefined` when not given.
 * @param fallback The value when not given.
 * @param min The least allowed value (default 1).
 * @returns The integer.
 * @throws {RangeError} Naming the flag and the value.
 */
export function int(
  name: string,
  v: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}, got "${v}"`);
  }
  return n;
}

/**
 * A finite number flag, at least `min` (above it when `open`).
 *
 * @typeParam F The fallback's type (`number` or `undefined`).
 * @param name The flag, without `--`.
 * @param v Its value, or `undefined` when not given.
 * @param bounds The fallback, the least value and whether it is excluded.
 * @returns The number.
 * @throws {RangeError} Naming the flag and the value.
 */
export function real<F extends number | undefined>(
  name: string,
  v: string | undefined,
  bounds: { fallback: F; min: number; open?: boolean },
): number | F {
  const { fallback, min, open = false } = bounds;
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || (open ? n <= min : n < min)) {
    throw new RangeError(
      `--${name} must be a number ${open ? ">" : ">="} ${min}, got "${v}"`,
    );
  }
  return n;
}

/**
 * A flag that takes one of a few words.
 *
 * @typeParam T The words.
 * @param name The flag, without `--`.
 * @param v Its value, or `undefined` when not given.
 * @param allowed The words, and the value when not given.
 * @returns The word.
 * @throws {RangeError} Naming the flag, the words and the value.
 */
export function oneOf<T extends string>(
  name: string,
  v: string | undefined,
  allowed: { of: readonly T[]; fallback: T },
): T {
  if (v === undefined) return allowed.fallback;
  if (!(allowed.of as readonly string[]).includes(v)) {
    throw new RangeError(
      `--${name} must be one of ${allowed.of.join(", ")}, got "${v}"`,
    );
  }
  return v as T;
}

/**
 * A comma-separated list of known names.
 *
 * @typeParam T The names.
 * @param name The flag, without `--`.
 * @param v Its value, or `undefined` when not given.
 * @param allowed The names, and the list when not given.
 * @returns The names given, in order.
 * @throws {RangeError} On an unknown name (naming it) or an empty list.
 */
export function list<T extends string>(
  name: string,
  v: string | undefined,
  allowed: { of: readonly T[]; fallback: T[] },
): T[] {
  if (v === undefined) return allowed.fallback;
  const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const s of items) {
    if (!(allowed.of as readonly string[]).includes(s)) {
      throw new RangeError(
        `--${name}: unknown "${s}" (known: ${allowed.of.join(", ")})`,
      );
    }
  }
  if (items.length === 0) {
    throw new RangeError(`--${name}: empty list, name at least one`);
  }
  return items as T[];
}

/** A command: how it reads its flags, its help text, and what it runs. */
export interface Command<T> {
  /** The command's name, at the start of an error line. */
  name: string;
  /** Reads the flags; `"help"` when `--help` was asked for. */
  parse(args: readonly string[]): T | "help";
  /** The text `--help` prints. */
  help: string;
  /** Runs the command. */
  run(options: T): Promise<unknown>;
}

/**
 * Runs a command from `Deno.args`: prints the help on `--help`, and on a bad
 * flag the error and the help to stderr, exiting with status 2.
 *
 * @typeParam T The command's settings.
 * @param command The command.
 */
export async function main<T>(command: Command<T>): Promise<void> {
  let options: T | "help";
  try {
    options = command.parse(Deno.args);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${command.help}`);
    Deno.exit(2);
  }
  if (options === "help") {
    console.log(command.help);
    return;
  }
  try {
    await command.run(options);
  } catch (e) {
    // a missing data set or an unavailable backend is the user's setting:
    // one line, not a stack trace (CENTRA_DEBUG=1 shows the stack)
    if (Deno.env.get("CENTRA_DEBUG") === "1") throw e;
    console.error(`${command.name}: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
