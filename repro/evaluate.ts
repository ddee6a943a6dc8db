/**
 * A classifier's accuracy and mean softmax cross-entropy on a labelled set,
 * evaluated in chunks: the figure every repro run reports after each epoch,
 * and the demo page's accuracy (web/train.ts), so it imports only tfjs and
 * bundles for a browser.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A labelled set as tensors: images and their class indices. */
export interface TestTensors {
  /** Images `[n, h, w, c]`. */
  xs: tf.Tensor4D;
  /** Class indices `[n]`, int32. */
  labels: tf.Tensor1D;
}

/**
 * Accuracy and mean softmax cross-entropy of `model` (which outputs logits)
 * on `set`, `chunk` images per forward pass.
 *
 * @param model The classifier.
 * @param set The images and their labels.
 * @param chunk Images per forward pass.
 * @returns The fraction classified right, in [0, 1], and the mean loss.
 */
export async function evaluate(
  model: tf.LayersModel,
  set: TestTensors,
  chunk: number,
): Promise<{ accuracy: number; loss: number }> {
  const n = set.xs.shape[0];
  const classes = model.outputs[0]!.shape.at(-1)!;
  let correct = 0, loss = 0;
  for (let i = 0; i < n; i += chunk) {
    const both = tf.tidy(() => {
      const size = Math.min(chunk, n - i);
      const logits = model.predict(set.xs.slice(i, size)) as tf.Tensor;
      const labels = set.labels.slice(i, size);
      const hits = tf.sum(tf.equal(tf.argMax(logits, -1), labels));
      const ce = tf.losses.softmaxCrossEntropy(
        tf.oneHot(labels, classes),
        logits,
        undefined,
        undefined,
        tf.Reduction.SUM,
      );
      return tf.stack([tf.cast(hits, "float32"), ce]);
    });
    const [h, l] = await both.data();
    both.dispose();
    correct += h!;
    loss += l!;
  }
  return { accuracy: correct / n, loss: loss / n };
}
