// Private test fixtures of @centra/match: unique layer names, a nested
// model, host-side means and a file handler. The model holding every layer
// type, with its description written out by hand, is in testing/.
import * as tf from "@tensorflow/tfjs";

export { everyLayerExpected } from "@centra/testing/every_layer_expected.ts";
export {
  everyLayerInputs,
  everyLayerModel,
} from "@centra/testing/every_layer_model.ts";

let serial = 0;

/** A prefix that makes the layer names of one model unique in the process. */
export function uniquePrefix(tag: string): string {
  serial += 1;
  return `${tag}${serial}_`;
}

/**
 * A nested Sequential backbone (conv, optional batch norm, flatten) under a
 * Dense head; every layer name carries the prefix `p`.
 */
export function nestedModel(
  p: string,
  options: { side: number; units: number; batchNorm?: boolean },
): { model: tf.Sequential; backbone: tf.Sequential } {
  const backbone = tf.sequential({
    name: `${p}backbone`,
    layers: [
      tf.layers.conv2d({
        filters: 2,
        kernelSize: 3,
        inputShape: [options.side, options.side, 1],
        name: `${p}conv`,
      }),
      ...(options.batchNorm
        ? [tf.layers.batchNormalization({ name: `${p}bn` })]
        : []),
      tf.layers.flatten({ name: `${p}flat` }),
    ],
  });
  const model = tf.sequential({
    name: `${p}model`,
    layers: [
      backbone,
      tf.layers.dense({ units: options.units, name: `${p}head` }),
    ],
  });
  return { model, backbone };
}

/**
 * Means over `axes` of a row-major array of this shape, computed on the host
 * in float64: one mean per index of the kept axes, in row-major order.
 */
export function meansOver(
  values: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
): Float64Array {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptSize = kept.reduce((n, a) => n * shape[a]!, 1);
  const sums = new Float64Array(keptSize);
  const counts = new Float64Array(keptSize);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < values.length; flat++) {
    let key = 0;
    for (const a of kept) key = key * shape[a]! + idx[a]!;
    sums[key]! += values[flat]!;
    counts[key]! += 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]! += 1;
      if (idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return sums.map((s, i) => s / counts[i]!);
}

/** A tf.io handler that saves to and loads from files in `dir`. */
export function fileIO(dir: string): tf.io.IOHandler {
  const json = `${dir}/model.json`;
  const bin = `${dir}/weights.bin`;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const data = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await Deno.writeFile(bin, new Uint8Array(data));
      await Deno.writeTextFile(
        json,
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          weightsManifest: [{
            paths: ["weights.bin"],
            weights: artifacts.weightSpecs,
          }],
        }),
      );
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: data.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const model = JSON.parse(await Deno.readTextFile(json));
      const bytes = await Deno.readFile(bin);
      return {
        modelTopology: model.modelTopology,
        weightSpecs: model.weightsManifest[0].weights,
        weightData: bytes.buffer.slice(
          bytes.byteOffset,
          bytes.byteOffset + bytes.byteLength,
        ),
      };
    },
  };
}
