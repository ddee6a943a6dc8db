import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose, testOnBackends } from "../chain/_test_utils.ts";
import { ChainOptimizer } from "./chain_optimizer.ts";
import { fileSystem } from "./file_system.ts";
import { readWeights, release, tinyData, tinyModel } from "./_test_utils.ts";

testOnBackends(
  "fileSystem() saves model and optimizer to disk and loads them back",
  async (backend) => {
    const dir = await Deno.makeTempDir();
    try {
      const { xs, ys } = tinyData(16);
      const m = tinyModel(11);
      const opt = ChainOptimizer.from("adamw", {
        learningRate: 0.01,
        weightDecay: 1e-3,
        gc: true,
      });
      m.compile({
        optimizer: opt,
        loss: "categoricalCrossentropy",
        metrics: ["accuracy"],
      });
      await m.fit(xs, ys, {
        epochs: 1,
        batchSize: 8,
        shuffle: false,
        verbose: 0,
      });
      const result = await m.save(fileSystem(`${dir}/model`), {
        includeOptimizer: true,
      });
      assert.ok(result.modelArtifactsInfo.weightDataBytes! > 0);
      const json = JSON.parse(
        await Deno.readTextFile(`${dir}/model/model.json`),
      );
      assert.equal(
        json.trainingConfig.optimizer_config.class_name,
        "centra.ChainOptimizer",
      );
      assert.deepEqual(json.weightsManifest[0].paths, ["./weights.bin"]);
      assert.ok((await Deno.stat(`${dir}/model/weights.bin`)).size > 0);

      // Load through the file:// router, from the model.json path.
      const loaded = await tf.loadLayersModel(`file://${dir}/model/model.json`);
      const wa = await readWeights(m);
      const wb = await readWeights(loaded);
      wa.forEach((w, i) =>
        assertClose(w, wb[i]!, { rtol: 0, atol: 0, what: `weight ${i}` })
      );
      const lopt = loaded.optimizer as ChainOptimizer;
      assert.ok(lopt instanceof ChainOptimizer);
      assert.equal(lopt.iterations, 2);
      const saved = await opt.getWeights();
      const restored = await lopt.getWeights();
      assert.deepEqual(restored.map((w) => w.name), saved.map((w) => w.name));
      for (let i = 0; i < saved.length; i++) {
        assertClose(
          await restored[i]!.tensor.data(),
          await saved[i]!.tensor.data(),
          {
            rtol: 0,
            atol: 0,
            what: saved[i]!.name,
          },
        );
      }
      // ...and both train on the same way.
      const [h1, h2] = [
        await m.fit(xs, ys, {
          epochs: 1,
          batchSize: 8,
          shuffle: false,
          verbose: 0,
        }),
        await loaded.fit(xs, ys, {
          epochs: 1,
          batchSize: 8,
          shuffle: false,
          verbose: 0,
        }),
      ];
      const tol = backend === "cpu"
        ? { rtol: 0, atol: 0 }
        : { rtol: 1e-4, atol: 1e-6 };
      assertClose(h2.history.loss as number[], h1.history.loss as number[], {
        ...tol,
        what: "loss",
      });

      // The router saves too.
      await m.save(`file://${dir}/again`);
      assert.ok((await Deno.stat(`${dir}/again/model.json`)).isFile);
      opt.dispose();
      lopt.dispose();
      release(m, loaded, xs, ys);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("fileSystem() names a missing path and rejects bad arguments", async () => {
  await assert.rejects(
    () => fileSystem("/nonexistent/centra/model").load!(),
    /no model at "\/nonexistent\/centra\/model"/,
  );
  assert.throws(() => fileSystem(""), TypeError);
});
