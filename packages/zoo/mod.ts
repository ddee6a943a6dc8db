/**
 * The Gradient Centralization paper's architectures for TensorFlow.js, an
 * adapter from any `tf.LayersModel` to the parameter maps centra's chains
 * use, and datasets.
 *
 * - Models (tfjs layers functional API, seedable, with `inputShape`,
 *   `numClasses`, `width` and `name` options): {@linkcode resnet18},
 *   {@linkcode resnet34}, {@linkcode resnet50}, {@linkcode resnet101} (CIFAR
 *   or ImageNet stem), {@linkcode resnext29}, {@linkcode vgg11},
 *   {@linkcode vgg16}, {@linkcode densenet121}, {@linkcode mobilenetV2},
 *   {@linkcode smallCnn}, {@linkcode mlp}; the layer {@linkcode GroupedConv2D}.
 * - Adapters: {@linkcode modelParams}, {@linkcode countParams}.
 * - Data: {@linkcode readIdx} / {@linkcode writeIdx},
 *   {@linkcode idxImageSet}, {@linkcode fashionMnist} (full set or the
 *   embedded subset, by URL), {@linkcode balancedSubset}, {@linkcode batches}.
 *
 * This entry uses no Node or Deno built-ins and loads in a browser (gzip is
 * inflated by pako, files are fetched). `@centra/zoo/fs` holds what reads
 * local files with `node:fs`: `fashionMnist` with paths relative to the
 * working directory, and `readIdxFile`.
 *
 * @example Train a small CNN for one step on the embedded Fashion-MNIST
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batches, fashionMnist, modelParams, smallCnn } from "@centra/zoo";
 * import assert from "node:assert/strict";
 *
 * const { train } = await fashionMnist();
 * const model = smallCnn({ width: 0.25, seed: 1 });
 * const { params } = modelParams(model);
 * const [batch] = batches(train, { batchSize: 8, seed: 1 });
 * const { value, grads } = tf.variableGrads(() =>
 *   tf.losses.softmaxCrossEntropy(batch!.ys, model.apply(batch!.xs) as tf.Tensor)
 * );
 * assert.deepEqual(Object.keys(grads).sort(), Object.keys(params).sort());
 * tf.dispose([value, grads, batch!.xs, batch!.ys]);
 * model.dispose();
 * ```
 *
 * @module
 */
import "@centra/chain/tfjs-check";
export * from "./resnet.ts";
export * from "./resnext.ts";
export * from "./vgg.ts";
export * from "./densenet.ts";
export * from "./mobilenet_v2.ts";
export * from "./small_cnn.ts";
export * from "./mlp.ts";
export * from "./grouped_conv2d.ts";
export * from "./model_params.ts";
export * from "./count_params.ts";
export * from "./idx.ts";
export * from "./image_set.ts";
export * from "./fashion_mnist.ts";
export * from "./balanced_subset.ts";
export * from "./batches.ts";
