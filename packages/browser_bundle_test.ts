// Every package's main entry loads in a browser: bundled for the browser
// platform, it imports no Node built-in (or anything else left unbundled) and
// names no `Deno` global. The bundle is minified, so that comments (JSDoc
// examples import node:assert) are gone and only code is scanned. The
// file-system and terminal entries are bundled too, as controls: the scan
// must find what they use, or it is not looking. Every other export of a
// package must be in its main entry's module graph, so that the bundle covers
// it: an entry that needs a runtime is listed in RUNTIME_ENTRIES.
import assert from "node:assert/strict";
import { builtinModules } from "node:module";

const root = new URL("..", import.meta.url);

// The exports that need Deno or Node, by package: kept out of `mod.ts`.
const RUNTIME_ENTRIES: Record<string, string[]> = {
  zoo: ["./fs"],
  tfjs: ["./file-system", "./terminal"],
};

function violations(code: string): string[] {
  const found: string[] = [];
  const specifier =
    /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(["'`])([^"'`\s]+)\1/g;
  for (const m of code.matchAll(specifier)) {
    const s = m[2]!;
    const builtin = s.startsWith("node:") ||
      builtinModules.includes(s.split("/")[0]!);
    found.push(`${builtin ? "Node built-in" : "unbundled import"} "${s}"`);
  }
  // import.meta's runtime-only fields (Deno and Node have them, pages not).
  for (const m of code.matchAll(/import\.meta\.(dirname|filename|main)\b/g)) {
    found.push(`runtime import.meta field: ${m[0]}`);
  }
  for (const m of code.matchAll(/\bDeno\b/g)) {
    found.push(`Deno global: ...${code.slice(m.index - 30, m.index + 40)}...`);
  }
  return found;
}

Deno.test("every package's main entry bundles for the browser with no Node or Deno built-ins", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", root)),
  ) as { workspace: string[] };
  // the published packages (testing/, the shared test helpers, is not one)
  const packages = config.workspace.filter((p) => p.startsWith("./packages/"))
    .map((p) => p.replace(/^\.\/packages\//, ""));
  assert.ok(packages.length >= 5, `${packages}`);
  // Every export outside RUNTIME_ENTRIES is reached from mod.ts.
  for (const p of packages) {
    const dir = new URL(`packages/${p}/`, root);
    const { exports } = JSON.parse(
      await Deno.readTextFile(new URL("deno.json", dir)),
    ) as { exports: Record<string, string> };
    const info = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `packages/${p}/mod.ts`],
      cwd: root,
      stdout: "piped",
      stderr: "null",
    }).output();
    const graph = new Set(
      (JSON.parse(new TextDecoder().decode(info.stdout)) as {
        modules: { specifier: string }[];
      }).modules.map((m) => m.specifier),
    );
    for (const [key, file] of Object.entries(exports)) {
      const runtime = (RUNTIME_ENTRIES[p] ?? []).includes(key);
      const url = new URL(file, dir).href;
      assert.equal(
        graph.has(url),
        !runtime,
        `@centra/${p} export "${key}" (${file}) ${
          runtime ? "needs a runtime but is" : "is not"
        } in mod.ts's module graph`,
      );
    }
  }
  const controls = ["zoo/fs", "tfjs/file_system", "tfjs/terminal"];
  const out = await Deno.makeTempDir();
  try {
    const entries = [...packages.map((p) => `${p}/mod`), ...controls];
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "browser",
        "--minify",
        "--outdir",
        out,
        ...entries.map((e) => `packages/${e}.ts`),
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const scan = async (entry: string) =>
      violations(await Deno.readTextFile(`${out}/${entry}.js`));
    for (const p of packages) {
      assert.deepEqual(await scan(`${p}/mod`), [], `@centra/${p}`);
    }
    const zooFs = await scan("zoo/fs");
    assert.ok(zooFs.includes('Node built-in "node:fs/promises"'), `${zooFs}`);
    for (const entry of ["tfjs/file_system", "tfjs/terminal"]) {
      const found = await scan(entry);
      assert.ok(found.some((v) => v.startsWith("Deno global")), entry);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
