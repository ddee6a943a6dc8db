// Test helpers shared by the tests of every package (an unpublished
// workspace member: it has no name, so `deno publish` skips it). Import
// `@centra/testing/mod.ts`, or one file of it: `optimizer_table.ts` and the
// files it imports load in a browser too.
export * from "./backends.ts";
export * from "./assert.ts";
export * from "./random.ts";
export * from "./with_step.ts";
