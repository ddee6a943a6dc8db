/**
 * `@centra/tfjs`: centra chains as real TensorFlow.js optimizers. A
 * {@linkcode ChainOptimizer} works in `model.compile` / `model.fit`,
 * `optimizer.minimize` and `applyGradients`, saves and loads with the model
 * (`includeOptimizer`), keeps its state by variable name (so freezing a layer
 * and recompiling works) and frees every tensor on `dispose()`. Beside it:
 * a step for custom training loops, and `fit` callbacks for the learning rate
 * and progress.
 *
 * This entry uses no Deno or Node API and loads in a browser. Two entries of
 * their own need a runtime: `@centra/tfjs/file-system` (`fileSystem`, an
 * IOHandler on disk, and `file://` routers) and `@centra/tfjs/terminal`
 * (`progressLogger` writing to standard output, with a live bar on a
 * terminal).
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ChainOptimizer, progressLogger } from "@centra/tfjs";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] });
 * const optimizer = ChainOptimizer.from("sgd", { learningRate: 0.1, momentum: 0.9, gc: true });
 * model.compile({ optimizer, loss: "meanSquaredError" });
 * await model.fit(tf.ones([8, 4]), tf.zeros([8, 2]), {
 *   epochs: 1, verbose: 0, callbacks: [progressLogger({ live: false, write: () => {} })],
 * });
 * optimizer.dispose();
 * ```
 *
 * @module
 */
import "@centra/chain/tfjs-check";
export * from "./chain_optimizer.ts";
export * from "./register_chain.ts";
export * from "./train_step.ts";
export * from "./lr_range.ts";
export * from "./learning_rate.ts";
export * from "./progress_logger.ts";
export * from "./ema_weights.ts";
export * from "./reduce_lr_on_plateau.ts";
