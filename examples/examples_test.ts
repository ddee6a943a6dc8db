// Runs every example exactly as its header says (`deno run -A examples/...`,
// `deno bench -A examples/...`) and checks what it prints.
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url);

async function run(
  args: string[],
): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `deno ${args.join(" ")} failed:\n${out}\n${err}`);
  return { code, out };
}

function numbers(text: string, re: RegExp): number[] {
  const m = text.match(re);
  assert.ok(m, `no match for ${re} in:\n${text}`);
  return m.slice(1).map(Number);
}

Deno.test("examples/quickstart.ts runs and prints a finite loss", async () => {
  const { out } = await run(["run", "-A", "examples/quickstart.ts"]);
  const [loss] = numbers(out, /loss after 10 steps: ([\d.]+)/);
  // tf.square(w).mean() of an unseeded standard normal kernel starts near 1.
  assert.ok(loss! > 0.5 && loss! < 1.5, out);
});

Deno.test("examples/custom_chain.ts trains with a hand-built chain", async () => {
  const { out } = await run(["run", "-A", "examples/custom_chain.ts"]);
  const [first, last, calls] = numbers(
    out,
    /loss ([\d.]+) -> ([\d.]+) in 40 steps; our block ran (\d+) times/,
  );
  assert.ok(last! < first! * 0.6, out);
  assert.equal(calls, 40);
});

Deno.test("examples/custom_loop.ts learns over three epochs", async () => {
  const { out } = await run(["run", "-A", "examples/custom_loop.ts"]);
  const lines = out.trim().split("\n").filter((l) => l.startsWith("epoch"));
  assert.equal(lines.length, 3, out);
  const loss = lines.map((l) => numbers(l, /loss ([\d.]+)/)[0]!);
  const acc = numbers(lines[2]!, /test acc ([\d.]+)%/)[0]!;
  assert.ok(loss[2]! < loss[0]!, out);
  assert.ok(acc > 30, out); // 10 classes: chance is 10%
});

Deno.test("examples/fine_tuning.ts: per-layer rates through fit", async () => {
  const { out } = await run(["run", "-A", "examples/fine_tuning.ts"]);
  assert.match(out, /ft_fineTuning_head\/kernel\s+Dense\s+GC axes \[0\]/);
  assert.match(out, /ft_fineTuning_head\/bias\s+Dense\s+GC axes null/);
  for (const name of ["fineTuning", "perLayerLearningRates"]) {
    const [a, b, acc] = numbers(
      out,
      new RegExp(
        `${name}: loss ([\\d.]+) -> ([\\d.]+), training accuracy ([\\d.]+)%`,
      ),
    );
    assert.ok(b! < a! / 2, `${name}: ${out}`);
    assert.ok(acc! > 80, `${name}: ${out}`); // 3 classes: chance is 33%
  }
});

Deno.test("examples/save_resume.ts: resumed training equals uninterrupted", async () => {
  const { out } = await run(["run", "-A", "examples/save_resume.ts"]);
  assert.match(out, /optimizer: centra\.ChainOptimizer/);
  const [diff] = numbers(out, /predictions: ([\d.e+-]+)/);
  assert.ok(diff! <= 1e-5, out);
});

Deno.test("examples/optimizers_bench.ts runs under deno bench", async () => {
  const { out } = await run([
    "bench",
    "-A",
    "examples/optimizers_bench.ts",
    "--filter",
    "sgdm",
  ]);
  assert.match(out, /\bsgdm\b/);
  assert.match(out, /\bsgdm\+gc\b/);
  assert.doesNotMatch(out, /\badamw\b/);
});
