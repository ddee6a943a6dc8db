import assert from "node:assert/strict";
import { countParams } from "./count_params.ts";
import { mlp } from "./mlp.ts";
import { smallCnn } from "./small_cnn.ts";

Deno.test("countParams() counts trainable weights by default, all on request", () => {
  const model = smallCnn({ width: 0.5 });
  // conv 9*1*8, bn 16, conv 9*8*16, bn 32, fc1 (7*7*16)*32+32, fc 32*10+10
  const trainable = 72 + 16 + 1152 + 32 + 784 * 32 + 32 + 330;
  assert.equal(countParams(model), trainable);
  assert.equal(countParams(model, { trainableOnly: false }), trainable + 48);
  model.getLayer("small_cnn/fc").trainable = false;
  assert.equal(countParams(model), trainable - 330);
  model.dispose();
  const m = mlp({ inputShape: [3], hidden: [2], numClasses: 2 });
  assert.equal(countParams(m), 3 * 2 + 2 + 2 * 2 + 2);
  m.dispose();
});
