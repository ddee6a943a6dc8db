// `deno task serve`'s flags, read by the shared command-line entry
// (tools/cli.ts): a port in [0, 65535], named when it is bad.
import assert from "node:assert/strict";
import { parseServeArgs } from "./serve.ts";

Deno.test("serve reads --port (default 8000, 0 for any free port) and --help", () => {
  assert.equal(parseServeArgs([]), 8000);
  assert.equal(parseServeArgs(["--port", "0"]), 0);
  assert.equal(parseServeArgs(["--port=65535"]), 65535);
  assert.equal(parseServeArgs(["-h"]), "help");
});

Deno.test("serve refuses a bad port or an unknown flag, naming it", () => {
  const bad: [string[], typeof Error, RegExp][] = [
    [["--port", "x"], RangeError, /--port .*"x"/],
    [["--port", "-1"], RangeError, /--port .*"-1"/],
    [["--port", "1.5"], RangeError, /--port .*"1\.5"/],
    [["--port", "65536"], RangeError, /--port .*"65536"/],
    [["--prot", "1"], TypeError, /"--prot"/],
    [["--port"], TypeError, /--port needs a value/],
    [["8000"], TypeError, /unexpected argument '8000'/],
  ];
  for (const [args, type, message] of bad) {
    assert.throws(() => parseServeArgs(args), (e: unknown) => {
      assert.ok(e instanceof type, `${args.join(" ")}: ${e}`);
      assert.match((e as Error).message, message);
      return true;
    });
  }
});
