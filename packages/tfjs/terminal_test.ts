import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { progressLogger as browserLogger } from "./progress_logger.ts";
import { progressLogger } from "./terminal.ts";

async function fit(callback: tf.Callback): Promise<void> {
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 1, inputShape: [1] })],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
  const [xs, ys] = [tf.ones([4, 1]), tf.ones([4, 1])];
  await model.fit(xs, ys, {
    epochs: 2,
    batchSize: 2,
    verbose: 0,
    callbacks: [callback],
  });
  tf.dispose([xs, ys]);
  model.dispose();
}

Deno.test("progressLogger() of the main entry logs whole lines to console.log and draws no bar by default", async () => {
  const logged: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => logged.push(args);
  try {
    await fit(browserLogger());
  } finally {
    console.log = log;
  }
  assert.equal(logged.length, 2, JSON.stringify(logged));
  logged.forEach((args, i) => {
    assert.equal(args.length, 1);
    assert.match(String(args[0]), new RegExp(`^epoch ${i + 1}/2  loss `));
    const line = String(args[0]);
    assert.ok(!/[\r\n]/.test(line) && !line.includes("\x1b"), line);
  });
});

Deno.test("progressLogger() of @centra/tfjs/terminal draws the bar when asked, else when stdout is a terminal", async () => {
  const live: string[] = [];
  await fit(progressLogger({ write: (t) => live.push(t), redrawMs: 0 }));
  const drew = live.some((t) => t.startsWith("\r\x1b[K["));
  assert.equal(drew, Deno.stdout.isTerminal());
  const forced: string[] = [];
  await fit(
    progressLogger({ write: (t) => forced.push(t), live: true, redrawMs: 0 }),
  );
  assert.ok(forced.some((t) => t.startsWith("\r\x1b[K[")), forced.join(""));
  assert.equal(forced.filter((t) => t.endsWith("\n")).length, 2);
  assert.throws(() => progressLogger({ barWidth: 0 }), RangeError);
});
