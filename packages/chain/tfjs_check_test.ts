// Each case runs in a child process with its own import map, so that a
// second copy of tfjs never loads into the test process.
import assert from "node:assert/strict";
import { join } from "node:path";

const check = new URL("./tfjs_check.ts", import.meta.url).href;

async function runScript(
  imports: Record<string, string>,
  files: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "centra_tfjs_check_" });
  try {
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({ imports }),
    );
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code, output: text.decode(stdout) + text.decode(stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// centra's copy: the version the workspace locks; the other: another 4.x.
const tfjs = { "@tensorflow/tfjs": "npm:@tensorflow/tfjs@4.22.0" };
const other = "npm:@tensorflow/tfjs@4.21.0";

for (const order of ["centra first", "the other copy first"]) {
  Deno.test({
    name: `checkTfjs() throws one error naming both versions (${order})`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const lines = [`import "${check}";`, `import "${other}";`];
      if (order !== "centra first") lines.reverse();
      const r = await runScript(tfjs, {
        "main.ts": `${lines.join("\n")}\nconsole.log("IMPORT_OK");\n`,
      });
      assert.notEqual(r.code, 0, r.output);
      assert.doesNotMatch(r.output, /IMPORT_OK/);
      assert.match(r.output, /centra: two copies of tfjs are loaded/);
      assert.match(r.output, /tfjs-core 4\.22\.0/);
      assert.match(r.output, /tfjs-core 4\.21\.0 \(in range\)/);
      assert.match(r.output, /tfjs-core 4\.22\.0 \(in range\)/);
      assert.match(r.output, /"@tensorflow\/tfjs": "npm:@tensorflow\/tfjs@\^4/);
      assert.doesNotMatch(r.output, /already registered/);
      assert.equal(r.output.match(/two copies/g)?.length, 1);
    },
  });
}

Deno.test({
  name: "checkTfjs() throws when tfjs is outside the supported range",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // tfjs 4.22.0 that says it is 5.0.0, as a later major would.
    const r = await runScript({ "@tensorflow/tfjs": "./fake_tfjs.ts" }, {
      "fake_tfjs.ts": `export * from "npm:@tensorflow/tfjs@4.22.0";\n` +
        `export const version_core = "5.0.0";\n`,
      "main.ts": `import "${check}";\nconsole.log("IMPORT_OK");\n`,
    });
    assert.notEqual(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /IMPORT_OK/);
    assert.match(
      r.output,
      /tfjs-core 5\.0\.0 is loaded, outside the range centra supports \(@tensorflow\/tfjs \^4\./,
    );
  },
});

Deno.test({
  name: "importing centra silences only tfjs's node-backend banner",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A warning tfjs prints for a kernel registered twice stays.
    const body = `import * as tf from "@tensorflow/tfjs";
await tf.setBackend("cpu");
tf.add(tf.scalar(1), tf.scalar(2)).dataSync();
tf.registerKernel(tf.getKernel("Add", "cpu")!);
console.log("done");
`;
    const without = await runScript(tfjs, { "main.ts": body });
    assert.equal(without.code, 0, without.output);
    assert.match(without.output, /install our node backend/);
    const withCentra = await runScript(tfjs, {
      "main.ts": `import "${check}";\n${body}`,
    });
    assert.equal(withCentra.code, 0, withCentra.output);
    assert.match(withCentra.output, /done/);
    assert.doesNotMatch(withCentra.output, /node backend/);
    assert.match(
      withCentra.output,
      /The kernel 'Add' for backend 'cpu' is already registered/,
    );
  },
});
