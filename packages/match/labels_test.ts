import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initState, partition, runUpdate, sgd } from "@centra/chain";
import { labels } from "./labels.ts";
import { byClass, byLayer, byRole, not, type Selector } from "./selectors.ts";
import { uniquePrefix } from "./_test_utils.ts";
import { read, testOnBackends } from "@centra/testing/mod.ts";

// Tests that build models without a backend loop run on cpu; testOnBackends
// switches for its own.
await tf.setBackend("cpu");

function small(p: string): tf.LayersModel {
  return tf.sequential({
    name: `${p}model`,
    layers: [
      tf.layers.dense({ units: 4, inputShape: [3], name: `${p}body` }),
      tf.layers.layerNormalization({ name: `${p}ln` }),
      tf.layers.dense({ units: 2, name: `${p}head` }),
    ],
  });
}

Deno.test("labels() labels every trainable parameter by group, in the model's order", () => {
  const p = uniquePrefix("lbl");
  const model = small(p);
  const map = labels(model, {
    norm: byClass("LayerNormalization"),
    head: byLayer(`${p}head`),
  }, { default: "rest" });
  assert.deepEqual(Object.entries(map), [
    [`${p}body/kernel`, "rest"],
    [`${p}body/bias`, "rest"],
    [`${p}ln/gamma`, "norm"],
    [`${p}ln/beta`, "norm"],
    [`${p}head/kernel`, "head"],
    [`${p}head/bias`, "head"],
  ]);
  // groups that cover everything need no default
  const full = labels(model, {
    head: byLayer(`${p}head`),
    backbone: not(byLayer(`${p}head`)),
  });
  assert.equal(Object.keys(full).length, 6);
  model.dispose();
});

Deno.test("labels() rejects overlaps, gaps and empty groups, naming them", () => {
  const p = uniquePrefix("lbx");
  const model = small(p);
  assert.throws(
    () =>
      labels(model, { biases: byRole("bias"), head: byLayer(`${p}head`) }, {
        default: "x",
      }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        `labels: parameter "${p}head/bias" is in both group "biases" and group "head"`,
  );
  assert.throws(
    () => labels(model, { head: byLayer(`${p}head`) }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith(
        `labels: parameter "${p}body/kernel" (layer "${p}body", role "kernel") is in no group`,
      ),
  );
  assert.throws(
    () => labels(model, { head: byLayer("hed") }, { default: "rest" }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith(
        `labels (group "head"): byLayer("hed") matches no trainable parameter of model "${p}model"`,
      ),
  );
  // an empty group is fine when allowed, by name or for all
  const allowed = { head: byLayer("hed"), body: byLayer(`${p}body`) };
  assert.equal(
    Object.values(
      labels(model, allowed, { default: "rest", allowEmpty: ["head"] }),
    ).filter((l) => l === "rest").length,
    4,
  );
  assert.equal(
    Object.keys(labels(model, allowed, { default: "rest", allowEmpty: true }))
      .length,
    6,
  );
  assert.throws(
    () =>
      labels(model, allowed, { default: "rest", allowEmpty: ["body", "tail"] }),
    (e: Error) =>
      e instanceof TypeError &&
      /allowEmpty names "tail", which is not a group/.test(e.message),
  );
  const bad: [() => unknown, RegExp][] = [
    [
      () => labels(model, null as never),
      /labels: groups must be a record of selectors by label, got null/,
    ],
    [
      () => labels(model, {}),
      /labels: groups is empty and there is no default/,
    ],
    [
      () => labels(model, { head: "head" as unknown as Selector }),
      /labels \(group "head"\): expected a selector, got head/,
    ],
    [
      () => labels(model, { "": byRole("bias") }, { default: "x" }),
      /labels: a label is empty/,
    ],
    [
      () => labels(model, { a: byRole("bias") }, { default: "" }),
      /labels: default must be a non-empty string/,
    ],
    [
      () =>
        labels(model, { a: byRole("bias") }, {
          default: "x",
          allowEmpty: "yes" as never,
        }),
      /allowEmpty must be a boolean, got yes/,
    ],
  ];
  for (const [fn, message] of bad) {
    assert.throws(
      fn,
      (e: Error) => e instanceof TypeError && message.test(e.message),
    );
  }
  // everything default: allowed
  assert.deepEqual(
    new Set(Object.values(labels(model, {}, { default: "all" }))),
    new Set(["all"]),
  );
  model.dispose();
});

testOnBackends(
  "labels() drive partition: the head and the backbone step at their own rates",
  async () => {
    const p = uniquePrefix("lbp");
    const model = small(p);
    const map = labels(model, { head: byLayer(`${p}head`) }, {
      default: "backbone",
    });
    const tx = partition({ head: sgd(0.1), backbone: sgd(0.01) }, map);
    const params = Object.fromEntries(
      model.trainableWeights.map((w) => [w.name, w.read()]),
    );
    const grads = Object.fromEntries(
      model.trainableWeights.map((w) => [w.name, tf.onesLike(w.read())]),
    );
    const state = initState(tx, params);
    const [u, next] = runUpdate(tx, grads, state, params);
    for (const [name, t] of Object.entries(u)) {
      const want = map[name] === "head" ? -0.1 : -0.01;
      for (const x of await read(t)) {
        assert.ok(Math.abs(x - want) < 1e-7, `${name}: ${x}`);
      }
    }
    tf.dispose([u, grads, next as tf.TensorContainer]);
    model.dispose();
  },
);
