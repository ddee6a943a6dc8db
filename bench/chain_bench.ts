// One optimizer step: tfjs's built-in momentum and adam beside centra's sgd
// and adam with and without GC (op by op), on the parameter shapes of
// @centra/zoo's smallCnn and ResNet-18. Backend from CENTRA_BACKEND (cpu by default).
//
// First it prints a table of median step times over rounds that visit the
// rows in turn (robust to a machine whose load drifts), with ratios to
// tf.train.adam: that table is the result. Then deno bench times the same
// rows one after the other (means), which drifting load skews; the output
// says so between the two.
//
//   deno bench -A bench/chain_bench.ts
//   CENTRA_BACKEND=webgpu deno bench -A bench/chain_bench.ts
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { adam, sgd } from "@centra/chain";
import {
  builtinRow,
  centraRow,
  countParams,
  interleavedMedians,
  makeGrads,
  makeVars,
  type ModelName,
  type Row,
  settle,
  shapesOf,
  TWO_TABLES_NOTE,
} from "./_common.ts";

const backend = Deno.env.get("CENTRA_BACKEND") ?? "cpu";
await tf.setBackend(backend);
await tf.ready();

const NAMES: ModelName[] = ["small CNN", "ResNet-18"];
const SHAPES = NAMES.map((name) => [name, shapesOf(name)] as const);
const ROWS: Row[] = [
  builtinRow("tf.train.adam", () => tf.train.adam(1e-3)),
  builtinRow("tf.train.momentum", () => tf.train.momentum(0.1, 0.9)),
  centraRow("centra adam", () => adam(1e-3, { eps: 1e-7 })),
  centraRow("centra adam + GC", () => adam(1e-3, { eps: 1e-7, gc: true })),
  centraRow("centra sgd momentum", () => sgd(0.1, { momentum: 0.9 })),
  centraRow(
    "centra sgd momentum + GC",
    () => sgd(0.1, { momentum: 0.9, gc: true }),
  ),
];
// Rounds of the interleaved table, and deno bench's samples, per model:
// ResNet-18 steps take seconds here.
const ROUNDS = { "small CNN": 15, "ResNet-18": 5 } as const;
const SAMPLES = { "small CNN": undefined, "ResNet-18": 5 } as const;

console.log(
  `\nOne optimizer step (update + apply), rows interleaved, ${backend}\n`,
);
console.log("| model | row | median ms / step | ratio to tf.train.adam |");
console.log("|---|---|---:|---:|");
for (const [model, shapes] of SHAPES) {
  const vars = makeVars(shapes);
  const grads = makeGrads(vars);
  const made = ROWS.map((row) => row.setup(vars, grads));
  const medians = await interleavedMedians(
    made,
    vars,
    ROUNDS[model as keyof typeof ROUNDS],
    1,
  );
  ROWS.forEach((row, i) => {
    const t = medians[i]!;
    console.log(
      `| ${model} | ${row.name} | ${t.toFixed(1)} | ${
        (t / medians[0]!).toFixed(2)
      } |`,
    );
  });
  made.forEach((m) => m.dispose());
  tf.dispose([Object.values(vars), Object.values(grads)]);
}
console.log();
console.log(TWO_TABLES_NOTE);

for (const [model, shapes] of SHAPES) {
  const group = `${model} (${
    (countParams(shapes) / 1e6).toFixed(2)
  }M params, ${backend})`;
  const n = SAMPLES[model as keyof typeof SAMPLES];
  const opts = n === undefined ? {} : { n, warmup: 1 };
  const vars = makeVars(shapes);
  const grads = makeGrads(vars);
  for (const row of ROWS) {
    const { step } = row.setup(vars, grads);
    Deno.bench({
      name: row.name,
      group,
      baseline: row.name === "tf.train.adam",
      ...opts,
      async fn() {
        step();
        await settle(vars);
      },
    });
  }
}
