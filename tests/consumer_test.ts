// Runs tests/consumer, a user's project that depends on every centra package
// the way a JSR user does (`jsr:@centra/...` imports; `links` to this
// checkout, since JSR is not reachable from CI), from a copy outside the
// workspace: `deno check` and its own `deno test`, once with Deno's default
// compiler options and once with the workspace's strict ones.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixture = join(root, "tests", "consumer");

async function run(
  cwd: string,
  args: string[],
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

/** Copies the fixture outside the workspace, links made absolute. */
async function project(strict: boolean): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "centra_consumer_" });
  const config = JSON.parse(
    await Deno.readTextFile(join(fixture, "deno.json")),
  );
  config.links = (config.links as string[]).map((l) => join(fixture, l));
  if (strict) {
    const workspace = JSON.parse(
      await Deno.readTextFile(join(root, "deno.json")),
    );
    config.compilerOptions = workspace.compilerOptions;
  }
  await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config));
  for (const f of ["train.ts", "train_test.ts"]) {
    await Deno.copyFile(join(fixture, f), join(dir, f));
  }
  return dir;
}

for (const strict of [false, true]) {
  const options = strict ? "strict" : "default";
  Deno.test({
    name:
      `a user's project checks and tests against centra (${options} compiler options)`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await project(strict);
      try {
        const check = await run(dir, ["check", "train.ts", "train_test.ts"]);
        assert.equal(check.code, 0, `deno check failed:\n${check.output}`);
        const test = await run(dir, ["test", "-A"]);
        assert.equal(test.code, 0, `deno test failed:\n${test.output}`);
        assert.match(test.output, /ok \| 3 passed \| 0 failed/);
        // One tfjs: no kernel registered twice, no banner for a backend
        // that Deno cannot load.
        assert.doesNotMatch(test.output, /already registered/);
        assert.doesNotMatch(test.output, /node backend/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
