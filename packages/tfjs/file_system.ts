import * as tf from "@tensorflow/tfjs";

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

function join(dir: string, file: string): string {
  return dir.endsWith("/") ? `${dir}${file}` : `${dir}/${file}`;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/**
 * Saves and loads a model in a directory on disk with Deno's file API:
 * `model.json` (topology, training config with the optimizer, weights
 * manifest) beside `weights.bin` (model weights, then optimizer weights),
 * the layout of tfjs-node's `file://` handler.
 *
 * Importing this module also registers `file://` save and load routers, so
 * `model.save("file://out/model")` and `tf.loadLayersModel("file://out/model/model.json")`
 * work in Deno as they do in Node.
 *
 * @param path The directory to save into (created if missing), or, to load,
 * that directory or its `model.json`.
 * @returns An IOHandler for `model.save` and `tf.loadLayersModel`.
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
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new TypeError(
          "fileSystem: only JSON model topologies can be saved",
        );
      }
      await Deno.mkdir(path, { recursive: true });
      const weightData = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: [{
          paths: [`./${WEIGHTS_BIN}`],
          weights: artifacts.weightSpecs ?? [],
        }],
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
        if (v !== undefined && v !== null) {
          (modelJson as unknown as Record<string, unknown>)[key] = v;
        }
      }
      await Deno.writeFile(join(path, WEIGHTS_BIN), new Uint8Array(weightData));
      await Deno.writeTextFile(
        join(path, MODEL_JSON),
        JSON.stringify(modelJson),
      );
      return {
        modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({
          ...artifacts,
          weightData,
        }),
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      let jsonPath = path;
      try {
        if ((await Deno.stat(path)).isDirectory) {
          jsonPath = join(path, MODEL_JSON);
        }
      } catch {
        throw new TypeError(`fileSystem: no model at "${path}"`);
      }
      const modelJson = JSON.parse(
        await Deno.readTextFile(jsonPath),
      ) as tf.io.ModelJSON;
      const dir = dirOf(jsonPath);
      return await tf.io.getModelArtifactsForJSON(
        modelJson,
        async (manifest) => {
          const specs: tf.io.WeightsManifestEntry[] = [];
          const buffers: ArrayBuffer[] = [];
          for (const group of manifest) {
            specs.push(...group.weights);
            for (const p of group.paths) {
              const bytes = await Deno.readFile(
                join(dir, p.replace(/^\.\//, "")),
              );
              buffers.push(
                bytes.buffer.slice(
                  bytes.byteOffset,
                  bytes.byteOffset + bytes.byteLength,
                ) as ArrayBuffer,
              );
            }
          }
          return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
        },
      );
    },
  };
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
