// The file-system side of `fileSystem`: reading a checkpoint's files only
// from inside its directory, and writing a checkpoint so that a reader sees
// the old one or the new one, never a mix. No tfjs here, so that the crash
// test can run the writer in a small child process.
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";
import {
  checkGroupBytes,
  checkGroupSize,
  checkManifest,
  hasStrings,
  type WeightGroup,
} from "./_checkpoint_paths.ts";

/** The manifest's name in a checkpoint directory. */
export const MODEL_JSON = "model.json";

/** The most bytes a `model.json` may have (refused before it is read). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Whether `real` lies strictly inside the directory `realDir`. */
function inside(realDir: string, real: string): boolean {
  const rel = relative(realDir, real);
  return rel !== "" && !isAbsolute(rel) && rel.split(sep)[0] !== "..";
}

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

/**
 * A file of the checkpoint, resolved: its real path (links followed), which
 * lies inside the directory's real path, and its size.
 */
interface Resolved {
  name: string;
  real: string;
  size: number;
  dev: number | null;
  ino: number | null;
}

async function resolveInside(
  realDir: string,
  name: string,
  manifest: string,
): Promise<Resolved> {
  const refuse = (why: string): never => {
    throw new TypeError(
      `fileSystem: ${manifest} names the file "${name}", which ${why}`,
    );
  };
  let real: string;
  try {
    real = await Deno.realPath(join(realDir, name));
  } catch (e) {
    if (isNotFound(e)) return refuse(`does not exist in ${realDir}`);
    throw e;
  }
  if (!inside(realDir, real)) {
    return refuse(
      `resolves to ${real}, outside the checkpoint directory ${realDir}`,
    );
  }
  const st = await Deno.stat(real);
  if (!st.isFile) return refuse(`is not a regular file (${real})`);
  return { name, real, size: st.size, dev: st.dev, ino: st.ino };
}

/**
 * Reads a resolved file whole. The file opened must still be the one checked
 * (same device and inode, and its path still resolves inside), so a link
 * swapped in between is caught; it must still have the size checked.
 */
async function readResolved(
  realDir: string,
  file: Resolved,
  manifest: string,
): Promise<Uint8Array> {
  using handle = await Deno.open(file.real, { read: true });
  const st = await handle.stat();
  const again = await Deno.realPath(join(realDir, file.name)).catch(() => "");
  if (
    again !== file.real || st.dev !== file.dev || st.ino !== file.ino ||
    !st.isFile
  ) {
    throw new TypeError(
      `fileSystem: ${manifest} names the file "${file.name}", which changed while it was being opened`,
    );
  }
  if (st.size !== file.size) {
    throw new RangeError(
      `fileSystem: ${file.real} changed size while it was read (${file.size} bytes, then ${st.size})`,
    );
  }
  const out = new Uint8Array(file.size);
  let at = 0;
  while (at < out.length) {
    const n = await handle.read(out.subarray(at));
    if (n === null) break;
    at += n;
  }
  const extra = await handle.read(new Uint8Array(1));
  if (at !== out.length || (extra !== null && extra > 0)) {
    throw new RangeError(
      `fileSystem: ${file.real} changed size while it was read (expected ${file.size} bytes)`,
    );
  }
  return out;
}

/** What {@linkcode readCheckpoint} returns. */
export interface CheckpointFiles {
  /** The parsed `model.json`. */
  modelJson: Record<string, unknown>;
  /** The real path of `model.json`. */
  manifestFile: string;
  /** The weight groups, checked. */
  groups: WeightGroup[];
  /** Each group's files, concatenated; exactly the bytes its weights take. */
  data: Uint8Array[];
}

/**
 * Reads a checkpoint: `path` is its directory or its `model.json`. Every
 * file is opened by its real path, which must lie inside the directory's
 * real path; every weight file name must be a plain relative name; each
 * group's files must hold exactly the bytes its weights declare. All of this
 * is checked before any weight file is read.
 *
 * @throws {TypeError} for a missing model, a bad manifest or a file outside.
 * @throws {RangeError} for weight files of the wrong size.
 */
export async function readCheckpoint(path: string): Promise<CheckpointFiles> {
  const { realDir, modelJson, manifestFile } = await readModelJson(path);
  const groups = checkManifest(modelJson.weightsManifest, manifestFile);
  const data = await readGroups(realDir, groups, manifestFile);
  return { modelJson, manifestFile, groups, data };
}

/** Finds and parses the checkpoint's `model.json`, inside its directory. */
async function readModelJson(path: string): Promise<{
  realDir: string;
  modelJson: Record<string, unknown>;
  manifestFile: string;
}> {
  let dir = path;
  let name = MODEL_JSON;
  try {
    if (!(await Deno.stat(path)).isDirectory) {
      dir = dirname(path);
      name = basename(path);
    }
  } catch (e) {
    if (isNotFound(e)) {
      throw new TypeError(`fileSystem: no model at "${path}"`);
    }
    throw e;
  }
  const realDir = await Deno.realPath(dir);
  const where = join(dir, name);
  const exists = await Deno.lstat(where).then(() => true, (e) => {
    if (isNotFound(e)) return false;
    throw e;
  });
  if (!exists) {
    throw new TypeError(`fileSystem: no model at "${path}" (no ${where})`);
  }
  const json = await resolveInside(realDir, name, `the path "${where}"`);
  if (json.size > MAX_MANIFEST_BYTES) {
    throw new RangeError(
      `fileSystem: ${json.real} has ${json.size} bytes, more than the ${MAX_MANIFEST_BYTES} a model.json may have`,
    );
  }
  const manifestFile = json.real;
  let modelJson: Record<string, unknown>;
  try {
    modelJson = JSON.parse(
      new TextDecoder().decode(await readResolved(realDir, json, where)),
    );
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new TypeError(
        `fileSystem: ${manifestFile} is not valid JSON (${e.message})`,
      );
    }
    throw e;
  }
  if (typeof modelJson !== "object" || modelJson === null) {
    throw new TypeError(`fileSystem: ${manifestFile} is not a JSON object`);
  }
  return { realDir, modelJson, manifestFile };
}

/**
 * Every group's bytes: each file resolved and sized before any is read,
 * then read and checked.
 */
async function readGroups(
  realDir: string,
  groups: CheckpointFiles["groups"],
  manifestFile: string,
): Promise<Uint8Array[]> {
  // Resolve and size every file before reading any.
  const resolved: Resolved[][] = [];
  for (const group of groups) {
    const files: Resolved[] = [];
    for (const f of group.files) {
      files.push(await resolveInside(realDir, f, manifestFile));
    }
    const size = files.reduce((a, f) => a + f.size, 0);
    checkGroupSize(group.weights, size, describe(files), manifestFile);
    resolved.push(files);
  }
  const data: Uint8Array[] = [];
  for (const [g, files] of resolved.entries()) {
    const parts: Uint8Array[] = [];
    for (const f of files) {
      parts.push(await readResolved(realDir, f, manifestFile));
    }
    const bytes = concat(parts);
    if (hasStrings(groups[g]!.weights)) {
      checkGroupBytes(groups[g]!.weights, bytes, describe(files), manifestFile);
    }
    data.push(bytes);
  }
  return data;
}

function describe(files: readonly Resolved[]): string {
  if (files.length === 0) return "a group with no files";
  return files.length === 1
    ? files[0]!.real
    : `the files ${files.map((f) => f.real).join(", ")}`;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The steps of {@linkcode writeCheckpoint}, in order, for tests. */
export type WriteStep =
  | "weights-partial"
  | "weights-written"
  | "manifest-written"
  | "manifest-renamed"
  | "done";

/** Options of {@linkcode writeCheckpoint}. */
export interface WriteCheckpointOptions {
  /** Called after each step; a test throws or exits here to fail a save. */
  onStep?: (step: WriteStep) => void | Promise<void>;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function syncDir(dir: string): Promise<void> {
  try {
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Not every platform opens directories (Windows); the renames still
    // happen in order.
  }
}

// createNew (O_EXCL) never opens an existing file or follows a link; the
// file joins `created` as soon as it exists, so a failed save removes it.
async function writeNew(
  path: string,
  bytes: Uint8Array,
  created: string[],
  halfway: () => void | Promise<void> = () => {},
): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  created.push(path);
  const write = async (end: number, from: number) => {
    for (let at = from; at < end;) {
      at += await file.write(bytes.subarray(at, end));
    }
  };
  const half = bytes.length >> 1;
  await write(half, 0);
  await halfway();
  await write(bytes.length, half);
  await file.sync();
}

// The weight files the current manifest names, if it is a regular file
// inside `realDir`; only single `.bin` names, the only ones a save removes.
async function currentWeightFiles(realDir: string): Promise<string[]> {
  try {
    const path = join(realDir, MODEL_JSON);
    const st = await Deno.lstat(path);
    if (!st.isFile || st.size > MAX_MANIFEST_BYTES) return [];
    const json = JSON.parse(await Deno.readTextFile(path));
    const groups = checkManifest(json?.weightsManifest, path);
    return groups.flatMap((g) => g.files).filter((f) =>
      !f.includes("/") && f.endsWith(".bin")
    );
  } catch {
    return [];
  }
}

/** How long a file of a save must be untouched to count as left over. */
export const LEFTOVER_AGE_MS = 60 * 60 * 1000;

const OUR_FILES =
  /^(?:weights\.[0-9a-f]{16}\.bin|\.model\.json\.[0-9a-f]{16}\.tmp)$/;

// Removes what saves killed before their rename left: regular files named as
// a save names them, that the manifest does not use, untouched for an hour
// (a save running now in another process writes its files within seconds).
async function removeLeftovers(realDir: string, keep: string): Promise<void> {
  const now = Date.now();
  for await (const entry of Deno.readDir(realDir)) {
    if (!entry.isFile || entry.name === keep || !OUR_FILES.test(entry.name)) {
      continue;
    }
    const path = join(realDir, entry.name);
    const st = await Deno.lstat(path).catch(() => null);
    if (st?.mtime && now - st.mtime.getTime() > LEFTOVER_AGE_MS) {
      await Deno.remove(path).catch(() => {});
    }
  }
}

/**
 * Writes a checkpoint into `dir` (created if missing) so that a reader, or a
 * process killed at any point, sees the old checkpoint or the new one, never
 * a mix: the weights go to a new file `weights.<random>.bin`, the manifest to
 * a temporary file, both are synced, the manifest is renamed over
 * `model.json` (atomic), and only then are the old weight files removed
 * (with leftovers of saves killed more than an hour ago). No
 * existing file is written through: a link named `model.json` or
 * `weights.bin` is replaced, never followed. A save that fails removes what
 * it wrote and leaves the old files as they were.
 *
 * @param dir The checkpoint directory.
 * @param manifest Builds `model.json`'s text from the weight file's path.
 * @param weights The weight bytes.
 * @param options A step hook for tests.
 * @returns The weight file's name.
 */
export async function writeCheckpoint(
  dir: string,
  manifest: (weightsPath: string) => string,
  weights: Uint8Array,
  options: WriteCheckpointOptions = {},
): Promise<string> {
  const step = options.onStep ?? (() => {});
  await Deno.mkdir(dir, { recursive: true });
  const realDir = await Deno.realPath(dir);
  const old = await currentWeightFiles(realDir);
  const id = randomId();
  const weightsName = `weights.${id}.bin`;
  const weightsPath = join(realDir, weightsName);
  const tmpPath = join(realDir, `.model.json.${id}.tmp`);
  const text = manifest(`./${weightsName}`);
  const created: string[] = [];
  try {
    await writeNew(
      weightsPath,
      weights,
      created,
      () => step("weights-partial"),
    );
    await step("weights-written");
    await writeNew(tmpPath, new TextEncoder().encode(text), created);
    await step("manifest-written");
    await Deno.rename(tmpPath, join(realDir, MODEL_JSON));
    created.length = 0;
  } catch (e) {
    for (const p of created) await Deno.remove(p).catch(() => {});
    throw e;
  }
  await syncDir(realDir);
  await step("manifest-renamed");
  for (const f of old) {
    if (f !== weightsName) {
      await Deno.remove(join(realDir, f)).catch(() => {});
    }
  }
  await removeLeftovers(realDir, weightsName);
  await syncDir(realDir);
  await step("done");
  return weightsName;
}
