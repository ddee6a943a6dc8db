/**
 * `deno task serve`: bundles the demo page's script for browsers
 * (`deno bundle --platform browser`) and serves the page on 127.0.0.1,
 * printing its address. The browser test serves the same way.
 *
 * ```sh
 * deno task serve              # http://127.0.0.1:8000/
 * deno task serve --port 0     # any free port
 * ```
 *
 * Routes: `/` (the demo page), `/demo.js`, `/checks.html` and `/checks.js`
 * (the browser test's page), and `/data/<file>.gz`, the Fashion-MNIST
 * subset embedded in `@centra/zoo` (`packages/zoo/data/`).
 *
 * @module
 */
import { int, main, readFlags } from "../tools/cli.ts";

const WEB = new URL("./", import.meta.url);
const DATA = new URL("../packages/zoo/data/", import.meta.url);
const SCRIPTS = ["demo", "checks"] as const;

/**
 * Bundles `web/demo.ts` and `web/checks.ts` for browsers into `outDir`
 * (`demo.js`, `checks.js`).
 *
 * @param outDir The folder to write to (created if missing).
 * @throws {Error} With `deno bundle`'s output when it fails.
 */
export async function bundle(outDir: string): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  await Promise.all(SCRIPTS.map(async (name) => {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "-o",
        `${outDir}/${name}.js`,
        new URL(`${name}.ts`, WEB).pathname,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(
        `deno bundle web/${name}.ts failed:\n${
          new TextDecoder().decode(stderr)
        }`,
      );
    }
  }));
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  gz: "application/octet-stream",
};

/** A running server. */
export interface Server {
  /** The page's address, `http://127.0.0.1:<port>/`. */
  url: string;
  /** Stops the server and waits until it has. */
  close(): Promise<void>;
}

/**
 * Serves the page, the bundles in `bundleDir` and the embedded dataset.
 *
 * @param options `bundleDir` (from {@linkcode bundle}), `port` (default
 * 8000; 0 picks a free one), `onRequest` (called with each request's path,
 * for logs).
 * @returns The server's address and a way to stop it.
 */
export function serve(options: {
  bundleDir: string;
  port?: number;
  onRequest?: (path: string, status: number) => void;
}): Server {
  const files: Record<string, URL> = {
    "/": new URL("index.html", WEB),
    "/index.html": new URL("index.html", WEB),
    "/checks.html": new URL("checks.html", WEB),
  };
  for (const name of SCRIPTS) {
    files[`/${name}.js`] = new URL(
      `file://${Deno.realPathSync(options.bundleDir)}/${name}.js`,
    );
  }
  const respond = async (path: string): Promise<Response> => {
    let file = files[path];
    const data = /^\/data\/([\w.-]+\.gz)$/.exec(path);
    if (data !== null) file = new URL(data[1]!, DATA);
    if (file === undefined) return new Response("not found", { status: 404 });
    try {
      const body = await Deno.readFile(file);
      const type = TYPES[path === "/" ? "html" : path.split(".").at(-1)!];
      return new Response(body, {
        headers: {
          "content-type": type ?? "application/octet-stream",
          "cache-control": "no-store",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 8000,
    // the address is printed by the caller
    onListen: () => {},
  }, async (request) => {
    const path = new URL(request.url).pathname;
    const response = await respond(path);
    options.onRequest?.(path, response.status);
    return response;
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => server.shutdown(),
  };
}

const HELP =
  "deno task serve [--port N]\n\nBundles the demo page and serves it on 127.0.0.1 (default port 8000; 0: any free port).";

/**
 * Reads `deno task serve`'s flags: the port, or `"help"`.
 *
 * @throws {TypeError} For an unknown flag, a missing value or a stray argument.
 * @throws {RangeError} For a port that is not an integer in [0, 65535].
 */
export function parseServeArgs(args: readonly string[]): number | "help" {
  const values = readFlags(args, { values: ["port"], booleans: [] });
  if (values.help) return "help";
  const port = int("port", values.port, 8000, 0);
  if (port > 65535) {
    throw new RangeError(`--port must be at most 65535, got "${values.port}"`);
  }
  return port;
}

/** Bundles the page and serves it on `port` until Ctrl-C. */
async function runServe(port: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "centra-web-" });
  console.log("bundling web/demo.ts for browsers…");
  await bundle(dir);
  const server = serve({
    bundleDir: dir,
    port,
    onRequest: (path, status) => {
      if (status !== 200) console.log(`${status} ${path}`);
    },
  });
  console.log(
    `centra demo: ${server.url}  (open it in a browser with WebGPU, e.g. Chrome; Ctrl-C stops)`,
  );
  Deno.addSignalListener("SIGINT", async () => {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    Deno.exit(0);
  });
}

if (import.meta.main) {
  await main({
    name: "serve",
    parse: parseServeArgs,
    help: HELP,
    run: runServe,
  });
}
