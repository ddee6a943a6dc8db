/**
 * Fails when the modules of packages/ and testing/ import each other in a
 * cycle, type-only imports included: the "no import cycle" rule of issue
 * 14. `deno info --json` resolves every static import (workspace names such
 * as `@centra/chain/types` too) from one entry that imports every file; the
 * cycles are the strongly connected components of that graph. Run it by
 * name (`deno task test` does not pick it up):
 *
 * ```sh
 * deno test -A tools/import_cycles.ts
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { sourceFiles } from "./_sources.ts";

const ROOTS = ["packages", "testing"];

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

/** The local import graph: file URL -> the file URLs it imports. */
async function importGraph(files: string[]): Promise<Map<string, string[]>> {
  const entry = await Deno.makeTempFile({
    dir: Deno.cwd(),
    prefix: "_import_cycles_",
    suffix: ".ts",
  });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import "./${f}";\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      stderr: "inherit",
    }).output();
    assert.ok(out.success, "deno info failed");
    const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: InfoModule[];
    };
    const graph = new Map<string, string[]>();
    for (const m of modules) {
      if (!m.specifier.startsWith("file:")) continue;
      const deps = (m.dependencies ?? []).flatMap((d) =>
        [d.code?.specifier, d.type?.specifier].filter((s): s is string =>
          s !== undefined && s.startsWith("file:")
        )
      );
      graph.set(m.specifier, [...new Set(deps)]);
    }
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

/** Tarjan's strongly connected components of more than one module (or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) {
      found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test(`no import cycle in ${ROOTS.join(", ")}`, async () => {
  const files = await sourceFiles(ROOTS);
  const graph = await importGraph(files.sort());
  const root = new URL(`file://${Deno.cwd()}/`).href;
  const found = cycles(graph).map((c) =>
    c.map((s) => s.replace(root, "")).join(" <-> ")
  );
  assert.ok(graph.size > files.length / 2, "the graph holds the files");
  assert.deepEqual(found, [], `import cycles:\n${found.join("\n")}`);
});
