import "@centra/chain/tfjs-check";
import * as tf from "@tensorflow/tfjs";

import { readCheckpoint, writeCheckpoint } from "./_checkpoint_files.ts";
import {
  checkGroupBytes,
  checkManifest,
  type WeightSpec,
} from "./_checkpoint_paths.ts";

/**
 * Saves and loads a model in a directory on disk with Deno's file API:
 * `model.json` (topology, training config with the optimizer, weights
 * manifest) beside one weight file (model weights, then optimizer weights),
 * the layout of tfjs-node's `file://` handler.
 *
 * Saving is atomic: the weights go to a new file `weights.<random>.bin`, the
 * manifest to a temporary file, both are synced, the manifest is renamed over
 * `model.json`, and only then is the previous weight file removed, so a
 * reader (or a process killed at any point) sees the old checkpoint or the
 * new one, never a mix. A save never writes through an existing file or
 * symbolic link.
 *
 * Loading treats the directory as untrusted: each weight path in the manifest
 * must be a plain relative file name (no `..`, absolute path, drive letter,
 * backslash, colon, NUL or empty name); every file, `model.json` included, is
 * opened by its real path (links resolved), which must lie inside the
 * directory's real path; and each weight group's files must hold exactly the
 * bytes its weights declare. All of this is checked before any weight file is
 * read. Checkpoints written by tfjs-node (`weights.bin`) or the tfjs
 * converter (`group1-shard1of2.bin`, ...) load as before.
 *
 * Importing this module also registers `file://` save and load routers, so
 * `model.save("file://out/model")` and `tf.loadLayersModel("file://out/model/model.json")`
 * work in Deno as they do in Node, under the same rules.
 *
 * @param path The directory to save into (created if missing), or, to load,
 * that directory or its `model.json`.
 * @returns An IOHandler for `model.save` and `tf.loadLayersModel`.
 * @throws {TypeError} on load, for a missing model, a manifest that is not
 * JSON or names a weight path outside the directory (the error names the
 * path and the manifest file), or a file whose real path is outside.
 * @throws {RangeError} on load, when a weight group's files do not hold
 * exactly the bytes the manifest declares (the error names the file and the
 * weight), or `model.json` is larger than 64 MiB.
 *
 * @example Save with the optimizer and load it back
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer } from "@centra/tfjs/chain-optimizer";
 * import { fileSystem } from "@centra/tfjs/file-system";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * model.compile({ optimizer: ChainOptimizer.from("adam", { learningRate: 0.01 }), loss: "meanSquaredError" });
 * await model.fit(tf.ones([2, 2]), tf.ones([2, 1]), { epochs: 1, verbose: 0 });
 * await model.save(fileSystem(dir), { includeOptimizer: true });
 * const loaded = await tf.loadLayersModel(fileSystem(dir));
 * assert.equal(loaded.optimizer.iterations, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fileSystem(path: string): tf.io.IOHandler {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(
      `fileSystem: path must be a non-empty string, got ${
        JSON.stringify(path)
      }`,
    );
  }
  return {
    save: (artifacts) => saveModel(path, artifacts),
    load: () => loadModel(path),
  };
}

/** Writes a model's files, after checking that they would load. */
async function saveModel(
  path: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new TypeError(
      "fileSystem: only JSON model topologies can be saved",
    );
  }
  const weightData = artifacts.weightData === undefined
    ? new ArrayBuffer(0)
    : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const weightSpecs = artifacts.weightSpecs ?? [];
  const bytes = new Uint8Array(weightData);
  // A checkpoint that would not load is refused before anything is
  // written.
  checkManifest(
    [{ paths: ["./weights.bin"], weights: weightSpecs }],
    "the model to save",
  );
  checkGroupBytes(
    weightSpecs as unknown as WeightSpec[],
    bytes,
    "the weight data to save",
    "the model to save",
  );
  const modelJson: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology ?? {},
  };
  const optional = [
    "format",
    "generatedBy",
    "convertedBy",
    "trainingConfig",
    "userDefinedMetadata",
    "signature",
  ];
  for (const key of optional) {
    const v = (artifacts as unknown as Record<string, unknown>)[key];
    if (v !== undefined && v !== null) modelJson[key] = v;
  }
  await writeCheckpoint(
    path,
    (weightsPath) =>
      JSON.stringify({
        ...modelJson,
        weightsManifest: [{ paths: [weightsPath], weights: weightSpecs }],
      }),
    bytes,
  );
  return {
    modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({
      ...artifacts,
      weightData,
    }),
  };
}

/** Reads a model's files, checked, as tfjs's artifacts. */
async function loadModel(path: string): Promise<tf.io.ModelArtifacts> {
  const { modelJson, groups, data } = await readCheckpoint(path);
  return await tf.io.getModelArtifactsForJSON(
    modelJson as unknown as tf.io.ModelJSON,
    () => {
      const specs = groups.flatMap((g) =>
        g.weights
      ) as unknown as tf.io.WeightsManifestEntry[];
      // Whole buffers as they are (no copy), else the view's bytes.
      const buffers = data.map((d) =>
        d.byteOffset === 0 && d.byteLength === d.buffer.byteLength
          ? d.buffer
          : d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)
      ) as ArrayBuffer[];
      return Promise.resolve([
        specs,
        tf.io.CompositeArrayBuffer.join(buffers),
      ]);
    },
  );
}

const SCHEME = "file://";

function route(url: string | string[]): tf.io.IOHandler | null {
  if (typeof url !== "string" || !url.startsWith(SCHEME)) return null;
  return fileSystem(url.slice(SCHEME.length));
}

// tfjs's routers return null for URLs they do not handle, though its type
// says otherwise.
type Router = Parameters<typeof tf.io.registerSaveRouter>[0];
tf.io.registerSaveRouter(route as Router);
tf.io.registerLoadRouter(route as Router);
