import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { describeParams } from "./describe_params.ts";
import { mask, select } from "./select.ts";
import { all, byClass, byLayer, byRole, not, or } from "./selectors.ts";
import { nestedModel, uniquePrefix } from "./_test_utils.ts";

await tf.setBackend("cpu");

/** A nested backbone (conv, batch norm) and a Dense head. */
function small(p: string): tf.LayersModel {
  return nestedModel(p, { side: 6, units: 3, batchNorm: true }).model;
}

Deno.test("select() returns the chosen parameters in the model's order", () => {
  const p = uniquePrefix("sel");
  const model = small(p);
  assert.deepEqual(
    select(model, or(byRole("bias"), byClass("BatchNormalization"))).map((i) =>
      i.name
    ),
    [`${p}conv/bias`, `${p}bn/gamma`, `${p}bn/beta`, `${p}head/bias`],
  );
  // moving statistics are not trainable, so only trainableOnly: false sees them
  assert.deepEqual(
    select(model, byRole("moving_*"), { trainableOnly: false }).map((i) =>
      i.role
    ),
    ["moving_mean", "moving_variance"],
  );
  assert.throws(
    () => select(model, byRole("moving_*")),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        `select: byRole("moving_*") matches no trainable parameter of model "${p}model" (pass allowEmpty: true if that is intended)`,
  );
  assert.deepEqual(select(model, byRole("moving_*"), { allowEmpty: true }), []);
  // a description works in place of the model
  const infos = describeParams(model);
  assert.deepEqual(
    select(infos, byLayer(`${p}backbone`)).map((i) => i.role),
    ["kernel", "bias", "gamma", "beta"],
  );
  assert.throws(
    () => select(infos, byRole("alpha")),
    /matches no trainable parameter of the described parameters/,
  );
  model.dispose();
});

Deno.test("mask() gives every trainable parameter a boolean", () => {
  const p = uniquePrefix("msk");
  const model = small(p);
  assert.deepEqual(mask(model, byLayer(`${p}backbone`)), {
    [`${p}conv/kernel`]: true,
    [`${p}conv/bias`]: true,
    [`${p}bn/gamma`]: true,
    [`${p}bn/beta`]: true,
    [`${p}head/kernel`]: false,
    [`${p}head/bias`]: false,
  });
  assert.equal(
    Object.keys(mask(model, all(), { trainableOnly: false })).length,
    8,
  );
  // a frozen layer's parameters stay in the mask (issue 12, item 9): an
  // optimizer built while the head is frozen must still know it once the
  // head is unfrozen; select() lists what is trained now
  model.getLayer(`${p}head`).trainable = false;
  const frozen = mask(model, not(byRole("bias")));
  assert.equal(Object.keys(frozen).length, 6);
  assert.deepEqual(Object.keys(frozen).filter((k) => frozen[k]), [
    `${p}conv/kernel`,
    `${p}bn/gamma`,
    `${p}bn/beta`,
    `${p}head/kernel`,
  ]);
  assert.deepEqual(mask(model, byLayer(`${p}head`)), {
    [`${p}conv/kernel`]: false,
    [`${p}conv/bias`]: false,
    [`${p}bn/gamma`]: false,
    [`${p}bn/beta`]: false,
    [`${p}head/kernel`]: true,
    [`${p}head/bias`]: true,
  });
  assert.throws(
    () => select(model, byLayer(`${p}head`)),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.startsWith(`select: byLayer("${p}head") matches no`),
  );
  assert.deepEqual(
    select(model, byLayer(`${p}head`), { allowEmpty: true }),
    [],
  );
  model.dispose();
});

Deno.test("select() and mask() reject bad arguments, naming them", () => {
  const p = uniquePrefix("sbad");
  const model = small(p);
  assert.throws(
    () => select({} as tf.LayersModel, all()),
    /select: expected a tf\.LayersModel/,
  );
  assert.throws(
    () => mask(model, "bias" as never),
    /mask: expected a selector, got bias/,
  );
  assert.throws(
    () => select(model, all(), { allowEmpty: 1 as unknown as boolean }),
    /select: allowEmpty must be a boolean, got 1/,
  );
  assert.throws(
    () => mask(model, all(), { trainableOnly: "no" as unknown as boolean }),
    /mask: trainableOnly must be a boolean, got no/,
  );
  assert.throws(
    () => select([{}] as never, all()),
    /select: entry 0 of the description/,
  );
  model.dispose();
});

Deno.test("select(), mask(), labels(), decayMask(), fineTuning() and perLayerLearningRates() name an unknown option", async () => {
  const { labels } = await import("./labels.ts");
  const { decayMask, fineTuning, perLayerLearningRates } = await import(
    "./recipes.ts"
  );
  const p = uniquePrefix("sopt");
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 2, inputShape: [3], name: `${p}fc` })],
  });
  const cases: [() => unknown, RegExp][] = [
    [
      () => select(model, all(), { trainable: true } as never),
      /select: unknown option "trainable" \(known: allowEmpty, trainableOnly\)/,
    ],
    [
      () => mask(model, all(), 5 as never),
      /mask: options must be a plain object, got 5/,
    ],
    [
      () => labels(model, { a: all() }, { defaults: "b" } as never),
      /labels: unknown option "defaults"/,
    ],
    [
      () => decayMask(model, { excludes: all() } as never),
      /decayMask: unknown option "excludes"/,
    ],
    [
      () => fineTuning(model, { head: all(), headLr: 0.1 } as never),
      /fineTuning: unknown option "headLr"/,
    ],
    [
      () =>
        perLayerLearningRates(model, {
          groups: { a: { select: all(), learningRate: 0.1 } },
          toString: 1,
        } as never),
      /perLayerLearningRates: unknown option "toString"/,
    ],
  ];
  for (const [fn, message] of cases) {
    assert.throws(
      fn,
      (e: Error) => e instanceof TypeError && message.test(e.message),
    );
  }
  model.dispose();
});
