// The TypeScript files under some folders of the repo, for the repo checks
// in tools/ (long_functions.ts, import_cycles.ts). Skips node_modules/ and
// data/ folders.

/**
 * Every `.ts` file under `roots` (paths relative to the working directory),
 * sorted, those `keep` accepts.
 */
export async function sourceFiles(
  roots: readonly string[],
  keep: (path: string) => boolean = () => true,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) {
        if (e.name !== "node_modules" && e.name !== "data") await walk(path);
      } else if (path.endsWith(".ts") && keep(path)) {
        out.push(path);
      }
    }
  };
  for (const root of roots) await walk(root);
  return out.sort();
}
