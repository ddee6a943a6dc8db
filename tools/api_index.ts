// Writes the API reference's front page (out/api/index.html, after
// `deno doc --html`): the five packages by their JSR names, one line each
// (the first sentence of each mod.ts module doc), linking to their modules.
//
//   tools/deno task doc
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "out", "api");
const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const rows: string[] = [];
for (const dir of ["chain", "match", "zoo", "tfjs", "webgpu"]) {
  const config = JSON.parse(
    await Deno.readTextFile(join(root, "packages", dir, "deno.json")),
  ) as { name: string; version: string };
  const mod = await Deno.readTextFile(join(root, "packages", dir, "mod.ts"));
  // The module doc's first paragraph, without its leading "`@centra/x`:".
  const doc = mod.match(/^\/\*\*([\s\S]*?)\*\//)?.[1] ?? "";
  const first = doc.split(/\n\s*\*\s*\n/)[0]!
    .replace(/^\s*\*\s?/gm, "").replace(/\s+/g, " ").trim()
    .replace(/^`@centra\/[a-z]+`:\s*/, "")
    .replace(/\{@link(?:code)? ([^}]*)\}/g, "`$1`")
    .replace(/^(.*?\.)\s.*$/, "$1"); // the first sentence
  const sentence = first.charAt(0).toUpperCase() + first.slice(1);
  const line = sentence.replace(/`([^`]*)`/g, "<code>$1</code>");
  rows.push(
    `<li><a href="${dir}/mod.ts/index.html"><code>${config.name}</code></a> ` +
      `${escape(config.version)}: ${
        line.replace(/<(?!\/?code>)/g, "&lt;")
      }</li>`,
  );
}

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>centra: API reference</title>
<link rel="stylesheet" href="styles.css">
<link rel="stylesheet" href="page.css">
</head>
<body>
<main style="max-width: 56rem; margin: 2rem auto; padding: 0 1rem">
<h1>centra</h1>
<p>Composable optimizers for TensorFlow.js with exact Gradient
Centralization, as five JSR packages (<code>deno add jsr:@centra/chain</code>).</p>
<ul>
${rows.join("\n")}
</ul>
<p>Entries that need a runtime (files, a terminal) and so stay out of the
browser-safe main entries:
<a href="tfjs/file_system.ts/index.html"><code>@centra/tfjs/file-system</code></a>,
<a href="tfjs/terminal.ts/index.html"><code>@centra/tfjs/terminal</code></a>,
<a href="zoo/fs.ts/index.html"><code>@centra/zoo/fs</code></a>.</p>
<p><a href="all_symbols.html">All symbols</a></p>
</main>
</body>
</html>
`;
await Deno.writeTextFile(join(out, "index.html"), html);
console.log(`wrote ${join(out, "index.html")}`);
