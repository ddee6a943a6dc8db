/**
 * Lists every function, method and block-bodied arrow over 60 lines in the
 * source files of packages/ (tests and test fixtures left out) and fails
 * when there is one: the "no function over 60 lines" rule of
 * docs/contributing.md. Deno's lint plugin API reads the syntax trees, so it
 * needs `deno test` (not picked up by `deno task test`; run it by name):
 *
 * ```sh
 * deno test -A tools/long_functions.ts          # packages/, 60 lines
 * LIMIT=40 ROOTS=packages,web deno test -A tools/long_functions.ts
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { sourceFiles } from "./_sources.ts";

const LIMIT = Number(Deno.env.get("LIMIT") ?? 60);
const ROOTS = (Deno.env.get("ROOTS") ?? "packages").split(",");

const found: string[] = [];

/** A readable name for a function node: its own, or where it is put. */
function nameOf(
  node:
    | Deno.lint.FunctionDeclaration
    | Deno.lint.FunctionExpression
    | Deno.lint.ArrowFunctionExpression,
): string {
  if ("id" in node && node.id?.type === "Identifier") return node.id.name;
  const p: Deno.lint.Node | undefined = node.parent;
  const key = p !== undefined && "key" in p ? p.key : undefined;
  if (key?.type === "Identifier") return key.name;
  if (key?.type === "PrivateIdentifier") return `#${key.name}`;
  if (p?.type === "VariableDeclarator" && p.id.type === "Identifier") {
    return p.id.name;
  }
  return "(anonymous)";
}

const plugin: Deno.lint.Plugin = {
  name: "centra",
  rules: {
    "max-function-lines": {
      create(ctx) {
        const text = ctx.sourceCode.text;
        const lineOf = (i: number) => text.slice(0, i).split("\n").length;
        const check = (
          node:
            | Deno.lint.FunctionDeclaration
            | Deno.lint.FunctionExpression
            | Deno.lint.ArrowFunctionExpression,
        ) => {
          const [a, b] = node.range;
          const lines = lineOf(b) - lineOf(a) + 1;
          if (lines > LIMIT) {
            found.push(
              `${lines}\t${ctx.filename}:${lineOf(a)}\t${nameOf(node)}`,
            );
          }
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression(node) {
            if (node.body.type === "BlockStatement") check(node);
          },
        };
      },
    },
  },
};

Deno.test(`no function over ${LIMIT} lines in ${ROOTS.join(", ")}`, async () => {
  const files = await sourceFiles(
    ROOTS,
    (path) => !path.endsWith("_test.ts") && !path.endsWith("_test_utils.ts"),
  );
  for (const f of files.sort()) {
    Deno.lint.runPlugin(plugin, f, await Deno.readTextFile(f));
  }
  found.sort((a, b) => parseInt(b) - parseInt(a));
  assert.deepEqual(found, [], `over ${LIMIT} lines:\n${found.join("\n")}`);
});
