/**
 * Times single table runs at a preset's settings, for estimating a preset's
 * wall time without running it (docs/results.md): wall seconds and the
 * process's CPU seconds (user + system from /proc/self/stat; Linux), which
 * stand in for the wall time on an idle machine.
 *
 * ```sh
 * deno run -A repro/time_run.ts mlp:cpu:sgd:0.1 cnn:webgpu:sgd:0.1 -- --epochs 8
 * ```
 *
 * Each argument before `--` is `arch:backend:optimizer:learningRate` (GC on,
 * seed 1); the flags after it are `deno task repro`'s.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { fashionMnist } from "@centra/zoo/fs";
import { type ArchName, ARCHS, parseReproArgs } from "./config.ts";
import { limit, splitValidation, tableRun, testTensors } from "./train.ts";

/** CPU seconds this process has used so far (user + system). */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100/s)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

if (import.meta.main) {
  const cut = Deno.args.indexOf("--");
  const specs = cut < 0 ? Deno.args : Deno.args.slice(0, cut);
  const o = parseReproArgs(cut < 0 ? [] : Deno.args.slice(cut + 1));
  if (o === "help" || specs.length === 0) {
    console.log(
      "deno run -A repro/time_run.ts ARCH:BACKEND:OPTIMIZER:LR ... [-- repro flags]",
    );
    Deno.exit(o === "help" ? 0 : 2);
  }
  const data = await fashionMnist(
    o.data === undefined ? {} : { dir: o.data, source: "full" },
  );
  const { train, val } = splitValidation(
    limit(data.train, o.trainLimit),
    o.valPerClass,
  );
  const test = limit(data.test, o.testLimit);
  for (const spec of specs) {
    const [arch, backend, optimizer, lr] = spec.split(":");
    if (!(ARCHS as readonly string[]).includes(arch!) || !lr) {
      throw new RangeError(`expected arch:backend:optimizer:lr, got "${spec}"`);
    }
    if (!(await tf.setBackend(backend!))) {
      throw new Error(`backend ${backend} did not start`);
    }
    await tf.ready();
    const t = testTensors(test), v = testTensors(val);
    const [load, cpu] = [Deno.loadavg()[0], cpuSeconds()];
    const r = await tableRun({ o, train, test: t, val: v }, {
      arch: arch as ArchName,
      optimizer: optimizer!,
      gc: true,
      lr: Number(lr),
      seed: 1,
    });
    console.log(
      `${spec}: ${r.steps} steps, wall ${r.seconds.toFixed(1)} s, CPU ${
        (cpuSeconds() - cpu).toFixed(1)
      } s, load ${load!.toFixed(1)}; loss ${
        r.loss.map((x) => x.toFixed(4)).join(" ")
      }; val acc ${r.valAccuracy!.map((x) => x.toFixed(3)).join(" ")}`,
    );
    tf.dispose([t.xs, t.labels, v.xs, v.labels]);
  }
}
