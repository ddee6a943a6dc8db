// Private driver code of web/browser_test.ts: a headless Chromium (the
// system's, never a downloaded one) with its software WebGPU adapter,
// driven by puppeteer-core, with every page's console errors collected.
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** Where Debian's `chromium` package puts the browser (CENTRA_CHROMIUM overrides). */
export const CHROMIUM: string = Deno.env.get("CENTRA_CHROMIUM") ??
  "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} exists. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** A launched browser, its scratch profile and the errors its pages logged. */
export interface Chromium {
  browser: Browser;
  /** Uncaught exceptions and `console.error` messages, with the page's URL. */
  errors: string[];
  /** Opens a page that reports its errors to `errors`. */
  open(url: string): Promise<Page>;
  /** Closes the browser and removes the profile (once; later calls wait for it). */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with WebGPU on SwiftShader (Chrome's own WebGPU,
 * Dawn) and nothing that reaches the network.
 *
 * @returns The browser and its error log.
 */
export async function launchChromium(): Promise<Chromium> {
  const profile = await Deno.makeTempDir({ prefix: "centra-chromium-" });
  const args = [
    "--enable-unsafe-webgpu",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    // The pages are this repository's own, on 127.0.0.1; the sandbox refuses
    // to run as root and needs user namespaces that CI containers may lack.
    "--no-sandbox",
  ];
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args,
      protocolTimeout: 150_000,
    });
  } catch (e) {
    await Deno.remove(profile, { recursive: true });
    throw e;
  }
  const errors: string[] = [];
  let closed: Promise<void> | undefined;
  return {
    browser,
    errors,
    async open(url: string): Promise<Page> {
      const page = await browser.newPage();
      page.setDefaultTimeout(120_000);
      page.on("pageerror", (e) => errors.push(`${url}: uncaught ${e}`));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`${url}: ${m.text()}`);
      });
      await page.goto(url);
      return page;
    },
    close(): Promise<void> {
      closed ??= (async () => {
        try {
          await browser.close();
        } finally {
          await Deno.remove(profile, { recursive: true }).catch(() => {});
        }
      })();
      return closed;
    },
  };
}
