import assert from "node:assert/strict";
import type { ParamInfo } from "./describe_params.ts";
import {
  all,
  and,
  byClass,
  byLayer,
  byName,
  byRank,
  byRole,
  not,
  or,
  type Selector,
  where,
} from "./selectors.ts";

function info(
  name: string,
  layerClass: string,
  shape: number[],
  extra: Partial<ParamInfo> = {},
): ParamInfo {
  const slash = name.lastIndexOf("/");
  const layer = name.slice(0, slash);
  return {
    name,
    originalName: name,
    layerName: layer,
    layerPath: [layer],
    layerClass,
    role: name.slice(slash + 1),
    shape,
    trainable: true,
    layout: "none",
    outputAxes: null,
    gcAxes: null,
    ...extra,
  };
}

const PARAMS: ParamInfo[] = [
  info("conv1/kernel", "Conv2D", [3, 3, 1, 8]),
  info("conv1/bias", "Conv2D", [8]),
  info("bn1/gamma", "BatchNormalization", [8]),
  info("up/kernel_1", "Conv2DTranspose", [2, 2, 4, 8], {
    originalName: "up/kernel",
    role: "kernel",
  }),
  info("dw/depthwise_kernel", "DepthwiseConv2D", [3, 3, 4, 1]),
  info("fwd/kernel", "LSTM", [4, 16], {
    layerPath: ["bidi", "fwd"],
  }),
  info("fc2/kernel", "Dense", [16, 10], {
    layerPath: ["backbone", "fc2"],
  }),
  info("head.v2/kernel", "Dense", [10, 3]),
];

function names(s: Selector): string[] {
  return PARAMS.filter((p) => s.test(p)).map((p) => p.name);
}

Deno.test("byName() matches globs against the whole name or the original name", () => {
  assert.deepEqual(names(byName("*/kernel")), [
    "conv1/kernel",
    "up/kernel_1",
    "fwd/kernel",
    "fc2/kernel",
    "head.v2/kernel",
  ]);
  assert.deepEqual(names(byName("conv?/*")), ["conv1/kernel", "conv1/bias"]);
  assert.deepEqual(names(byName("[cb]*1/*")), [
    "conv1/kernel",
    "conv1/bias",
    "bn1/gamma",
  ]);
  assert.deepEqual(names(byName("[!cbuf]*")), [
    "dw/depthwise_kernel",
    "head.v2/kernel",
  ]);
  // "." is a literal in a glob, and a glob is anchored at both ends
  assert.deepEqual(names(byName("head.v2/*")), ["head.v2/kernel"]);
  assert.deepEqual(names(byName("head?v2/kernel")), ["head.v2/kernel"]);
  assert.deepEqual(names(byName("kernel")), []);
  assert.deepEqual(names(byName("up/kernel_1")), ["up/kernel_1"]);
});

Deno.test("byName() takes RegExps, unanchored, and ignores the g flag's state", () => {
  const re = /kernel$/g;
  const s = byName(re);
  assert.deepEqual(names(s).length, 6);
  // a g RegExp keeps lastIndex between test() calls; the selector must not
  assert.deepEqual(names(s).length, 6);
  assert.deepEqual(names(byName(/^CONV/i)), ["conv1/kernel", "conv1/bias"]);
  assert.deepEqual(names(byName(["bn*", /^dw/])), [
    "bn1/gamma",
    "dw/depthwise_kernel",
  ]);
});

Deno.test("byLayer() matches the owning layer or any enclosing layer", () => {
  assert.deepEqual(names(byLayer("backbone")), ["fc2/kernel"]);
  assert.deepEqual(names(byLayer("fc2")), ["fc2/kernel"]);
  assert.deepEqual(names(byLayer("bidi")), ["fwd/kernel"]);
  assert.deepEqual(names(byLayer(["conv*", "up"])), [
    "conv1/kernel",
    "conv1/bias",
    "up/kernel_1",
  ]);
});

Deno.test("byClass(), byRole() and byRank() select by what a parameter is", () => {
  assert.deepEqual(names(byClass("Conv2D*")), [
    "conv1/kernel",
    "conv1/bias",
    "up/kernel_1",
  ]);
  assert.deepEqual(names(byClass(/Conv/)), [
    "conv1/kernel",
    "conv1/bias",
    "up/kernel_1",
    "dw/depthwise_kernel",
  ]);
  // the role comes from the original name: "kernel", not "kernel_1"
  assert.deepEqual(names(byRole("kernel")).length, 5);
  assert.deepEqual(names(byRole("*kernel")).length, 6);
  assert.deepEqual(names(byRole(["bias", "gamma"])), [
    "conv1/bias",
    "bn1/gamma",
  ]);
  assert.deepEqual(names(byRank(1)), ["conv1/bias", "bn1/gamma"]);
  assert.deepEqual(names(byRank({ min: 2, max: 2 })), [
    "fwd/kernel",
    "fc2/kernel",
    "head.v2/kernel",
  ]);
  assert.deepEqual(names(byRank({ min: 4 })).length, 3);
  assert.deepEqual(names(byRank({})).length, PARAMS.length);
  assert.equal(byRank({}).description, "byRank({})");
  assert.equal(
    byRank({ min: 1, max: 3 }).description,
    "byRank({ min: 1, max: 3 })",
  );
});

Deno.test("where() and all() select by predicate", () => {
  const big = where((p) => p.shape.reduce((a, b) => a * b, 1) >= 72, "big");
  assert.deepEqual(names(big), [
    "conv1/kernel",
    "up/kernel_1",
    "fc2/kernel",
  ]);
  assert.equal(big.description, 'where("big")');
  assert.equal(where(() => true).description, 'where("predicate")');
  // only a literal true selects
  assert.deepEqual(names(where(() => 1 as unknown as boolean)), []);
  assert.equal(names(all()).length, PARAMS.length);
});

Deno.test("and(), or() and not() follow boolean algebra", () => {
  const a = byRank({ min: 2 });
  const b = byClass("Conv*");
  const c = byLayer("conv1");
  for (const p of PARAMS) {
    const [x, y, z] = [a.test(p), b.test(p), c.test(p)];
    assert.equal(and(a, b).test(p), x && y);
    assert.equal(or(a, b).test(p), x || y);
    assert.equal(not(a).test(p), !x);
    assert.equal(and(a, b, c).test(p), x && y && z);
    assert.equal(or(a, b, c).test(p), x || y || z);
    // De Morgan
    assert.equal(not(and(a, b)).test(p), or(not(a), not(b)).test(p));
    assert.equal(not(or(a, b)).test(p), and(not(a), not(b)).test(p));
    // distributivity and double negation
    assert.equal(
      and(a, or(b, c)).test(p),
      or(and(a, b), and(a, c)).test(p),
    );
    assert.equal(not(not(c)).test(p), z);
    assert.equal(and(a).test(p), x);
    assert.equal(or(a).test(p), x);
  }
  assert.equal(
    and(byClass("Dense"), not(byRole("bias"))).description,
    'and(byClass("Dense"), not(byRole("bias")))',
  );
  assert.equal(
    or(byRole(["bias", "gamma"]), byLayer(/^fc\d/)).description,
    'or(byRole(["bias", "gamma"]), byLayer(/^fc\\d/))',
  );
});

Deno.test("selectors reject bad patterns and arguments, naming them", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => byName(""),
      /byName: a pattern must be a non-empty glob string or a RegExp, got ""/,
    ],
    [() => byLayer(3 as unknown as string), /byLayer: a pattern .* got 3/],
    [() => byClass([]), /byClass: the list of patterns is empty/],
    [() => byRole(["bias", null as unknown as string]), /byRole: .* got null/],
    [() => byRank(-1), /byRank: rank must be a non-negative integer, got -1/],
    [() => byRank(1.5), /got 1\.5/],
    [() => byRank({ min: 3, max: 2 }), /min 3 is greater than max 2/],
    [
      () => byRank("2" as unknown as number),
      /expected a rank or \{ min, max \}, got 2/,
    ],
    [
      () => where("x" as unknown as () => boolean),
      /where: predicate must be a function, got x/,
    ],
    [() => and(), /and: needs at least one selector/],
    [() => or(), /or: needs at least one selector/],
    [
      () => and(byRank(1), "bias" as unknown as Selector),
      /and: expected a selector, got bias/,
    ],
    [() => not({} as Selector), /not: expected a selector/],
  ];
  for (const [fn, message] of cases) {
    assert.throws(fn, (e: Error) => {
      assert.match(e.message, message);
      assert.ok(e instanceof TypeError || e instanceof RangeError);
      return true;
    });
  }
  // range problems are RangeErrors, type problems TypeErrors
  assert.throws(() => byRank(-1), RangeError);
  assert.throws(() => byName(""), TypeError);
});
