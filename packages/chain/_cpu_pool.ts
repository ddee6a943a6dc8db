// Private: where the cpu generator's output arrays come from. A fused step's
// outputs are new tensors, and a new Float32Array costs the runtime a zeroing
// pass (and, for fresh pages, a fault per page) on top of the step's own
// writes: on ResNet-18 that is about as much time as the arithmetic's lead
// over the roofline (docs/benchmarks.md). So the generator writes into arrays
// of its own earlier outputs once tfjs has freed them, and only where nobody
// else can still see them.
//
// Who can see a cpu tensor's array (tfjs 4, `MathBackendCPU`): the backend's
// data map, while the tensor's data lives (a `reshape`, `clone` or variable
// `assign` shares it by reference count, so it lives on); whoever read it out
// (`dataSync`, `data`, `array`, `bufferSync`, `print`: all go through the
// backend's `readSync`, which hands out the array itself); and a tensor whose
// values view the same memory (the cpu `Slice` of a contiguous block returns
// a `subarray`; every kernel output is stored through `write` or `move`).
// This module wraps those three methods of each cpu backend it runs on, once,
// to note every array handed out or viewed; an array so noted is never
// reused. The generator's own reads take the array from the data map
// directly (see `cpuArray`) and note nothing. The behaviour of the wrapped
// methods is unchanged.
import type * as tf from "@tensorflow/tfjs";

/** The parts of tfjs's cpu backend this module reads and wraps. */
interface CpuBackend {
  data: {
    get(id: object): { values?: unknown } | undefined;
    has(id: object): boolean;
  };
  readSync(id: object): unknown;
  disposeData(id: object, force?: boolean): boolean;
  write(values: unknown, shape: number[], dtype: string): object;
  move(
    id: object,
    values: unknown,
    shape: number[],
    dtype: string,
    refCount: number,
  ): void;
}

/** Collects a free array outlives unused (see `OutputPool.collect`). */
const KEEP = 8;

/**
 * Test-only: whether pools hand out freed arrays, how many they have, the
 * fewest elements a parameter's arena is made for (tests set 0, to run the
 * arenas and the SIMD loops over small tensors), and whether the generator
 * keeps the last finished step (`CpuStep.retire`; `bench/cpu_after_gc.ts`
 * times both).
 */
export const cpuReuse = {
  enabled: true,
  reused: 0,
  arenaMin: 4096,
  keepLastStep: true,
};

/** Memory of arrays read out or viewed by someone, per backend watched. */
const seen = new WeakSet<ArrayBufferLike>();
/** Where a pool's output is: its parameter and expression, and whether a state slot. */
interface Place {
  pool: OutputPool;
  key: string;
  slot: boolean;
}

/** For the data of each output a pool made: where it is. */
const placeOf = new WeakMap<object, Place>();
const watched = new WeakSet<object>();
/** Every pool, for `idleArrays` (test-only). */
const pools = new Set<WeakRef<OutputPool>>();

/** Test-only: arrays all pools hold that no tensor uses. */
export function idleArrays(): number {
  let n = 0;
  for (const ref of pools) {
    const pool = ref.deref();
    if (pool === undefined) pools.delete(ref);
    else n += pool.idleArrays();
  }
  return n;
}

/** Set while the generator stores its own arrays (not a view by someone). */
let storing = false;

function note(values: unknown): void {
  if (!ArrayBuffer.isView(values)) return;
  const arena = arenaOf.get(values.buffer);
  if (arena === undefined) seen.add(values.buffer);
  else arena.markSeen(values.byteOffset, values.byteLength);
}

/** Whether someone was handed `array` or a view of its memory. */
function wasSeen(array: Float32Array): boolean {
  const arena = arenaOf.get(array.buffer);
  return arena === undefined
    ? seen.has(array.buffer)
    : arena.seenAt(array.byteOffset);
}

/** The arena each arena memory's buffer belongs to. */
const arenaOf = new WeakMap<ArrayBufferLike, Arena>();

/**
 * One parameter's output arrays in one WebAssembly memory, so that the SIMD
 * loops (`_cpu_wasm.ts`) can read and write them: `slots` arrays of `n`
 * float32 handed out and taken back, then scratch (never a tensor's): one
 * array to copy a foreign input into, room for `means` per-unit means of
 * `units` float32, and as many per-unit sums of `units` float64 (the SIMD
 * reductions', `_cpu_wasm_reduce.ts`). The memory has a fixed size (a
 * memory that grows detaches every array over it). Someone who sees one
 * array (read out, or viewed) keeps that slot from reuse, not the others.
 */
export class Arena {
  readonly memory: WebAssembly.Memory;
  /** Bytes per array, padded to whole 16-byte lanes. */
  readonly stride: number;
  /** Byte offset of the scratch array. */
  readonly scratch: number;
  /** How many per-unit means (and per-unit float64 sums) it has room for. */
  readonly means: number;
  private readonly meansAt: number;
  private readonly meanStride: number;
  private readonly unitSumsAt: number;
  private readonly free: number[] = [];
  private readonly seen = new Set<number>();
  private readonly used = new Set<number>();
  private readonly instances = new Map<
    WebAssembly.Module,
    WebAssembly.Instance
  >();

  constructor(
    readonly n: number,
    readonly slots: number,
    means: number,
    units: number,
  ) {
    this.stride = Math.ceil(n / 4) * 16;
    this.scratch = slots * this.stride;
    this.meansAt = this.scratch + this.stride;
    this.meanStride = Math.ceil(units / 4) * 16;
    this.unitSumsAt = this.meansAt + means * this.meanStride;
    this.means = means;
    const bytes = this.unitSumsAt + means * 2 * this.meanStride;
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    arenaOf.set(this.memory.buffer, this);
    for (let k = slots - 1; k >= 0; k--) this.free.push(k);
  }

  /**
   * A free array (stale values; `reused` when it was handed out before), or
   * `undefined` when all are out.
   */
  take(): { array: Float32Array; reused: boolean } | undefined {
    const k = this.free.pop();
    if (k === undefined) return undefined;
    const reused = this.used.has(k);
    this.used.add(k);
    return { array: this.view(k * this.stride, this.n), reused };
  }

  /** Takes back an array it handed out, unless someone saw it. */
  release(a: Float32Array): void {
    const k = a.byteOffset / this.stride;
    if (!this.used.has(k) || this.seen.has(k) || this.free.includes(k)) return;
    this.free.push(k);
  }

  /** The byte offset of `a` in this memory, or -1 when it is not in it. */
  offsetOf(a: ArrayLike<number>): number {
    return a instanceof Float32Array && a.buffer === this.memory.buffer
      ? a.byteOffset
      : -1;
  }

  /** The byte offset of the `q`-th per-unit mean's room. */
  meanAt(q: number): number {
    return this.meansAt + q * this.meanStride;
  }

  /** The byte offset of the `q`-th per-unit float64 sums' room. */
  unitSumAt(q: number): number {
    return this.unitSumsAt + q * 2 * this.meanStride;
  }

  /** A float32 view at byte `offset`. */
  view(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  /**
   * The SIMD loop `module` over this memory, instantiated once; `undefined`
   * where the runtime refuses.
   */
  instance(module: WebAssembly.Module): WebAssembly.Instance | undefined {
    let i = this.instances.get(module);
    if (i === undefined) {
      try {
        i = new WebAssembly.Instance(module, { env: { memory: this.memory } });
      } catch {
        // refused (as a module can be): the JavaScript loop runs
        return undefined;
      }
      this.instances.set(module, i);
    }
    return i;
  }

  markSeen(offset: number, length: number): void {
    const first = Math.floor(offset / this.stride);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.stride);
    for (let k = first; k <= last && k < this.slots; k++) this.seen.add(k);
  }

  seenAt(offset: number): boolean {
    return this.seen.has(Math.floor(offset / this.stride));
  }

  /** Arrays handed out and back, not seen: idle. */
  idle(): number {
    return this.free.length;
  }
}

function watch(b: CpuBackend): void {
  if (watched.has(b)) return;
  watched.add(b);
  const { readSync, write, move, disposeData } = b;
  b.readSync = function (id) {
    note(this.data.get(id)?.values);
    return readSync.call(this, id);
  };
  b.write = function (values, shape, dtype) {
    if (!storing) note(values);
    return write.call(this, values, shape, dtype);
  };
  b.move = function (id, values, shape, dtype, refCount) {
    note(values);
    return move.call(this, id, values, shape, dtype, refCount);
  };
  b.disposeData = function (id, force) {
    const freed = disposeData.call(this, id, force);
    if (!this.data.has(id)) placeOf.get(id)?.pool.outputFreed(id);
    return freed;
  };
}

/**
 * A float32 cpu tensor's own array, read from the backend's data map (not
 * through `readSync`, so that reading it does not stop its reuse); through
 * `dataSync` when its data is not there.
 */
export function cpuArray(backend: unknown, t: tf.Tensor): ArrayLike<number> {
  const v = (backend as CpuBackend).data?.get?.(t.dataId)?.values;
  return v instanceof Float32Array ? v : t.dataSync() as ArrayLike<number>;
}

/**
 * The arrays of one `fuse(...)` result's outputs on one cpu backend: handed
 * out again once tfjs has freed their tensors, unless someone saw them.
 */
export class OutputPool {
  /** Outputs made, by tensor data, until tfjs frees them, and where they are. */
  private live: { id: object; array: Float32Array; key: string }[] = [];
  /** Freed arrays nobody saw, by length, with the `collect` that freed them. */
  private readonly free = new Map<
    number,
    { array: Float32Array; at: number }[]
  >();
  /** How many times `collect` has run. */
  private collects = 0;
  /** Per output place, the data of its newest value. */
  private readonly newest = new Map<string, object>();
  /** Each parameter's arena (see `arenaFor`). */
  private readonly arenas = new Map<string, Arena>();

  constructor(readonly backend: unknown) {
    watch(backend as CpuBackend);
    pools.add(new WeakRef(this));
  }

  /**
   * Moves the arrays of freed outputs to the free lists, and lets go of
   * those no run has wanted for `KEEP` collects (a step makes a few runs).
   */
  collect(): void {
    const at = ++this.collects;
    for (const [n, list] of this.free) {
      const kept = list.filter((x) => at - x.at <= KEEP);
      if (kept.length === 0) this.free.delete(n);
      else this.free.set(n, kept);
    }
    const data = (this.backend as CpuBackend).data;
    this.live = this.live.filter(({ id, array }) => {
      if (data.has(id)) return true;
      if (!wasSeen(array)) this.giveBack([array]);
      return false;
    });
  }

  /**
   * The arena for a step of `param`'s SIMD loop: `n` float32 per array,
   * `outputs` arrays written, `inputs` read, GC `means` of `units` float32.
   * The loop copies each input not in the arena into it (the first into
   * its scratch array, the others into free arrays for the loop's length),
   * so the arena must have free the outputs and those copies. It is made at
   * a parameter's first step, with room for two steps' outputs and one more
   * (or for one step's outputs and the copies of every input); a new one
   * replaces it when it has too few free (someone holds the rest), and the
   * old one's memory goes once no tensor views it.
   */
  arenaFor(
    param: string,
    n: number,
    step: {
      outputs: number;
      inputs: readonly ArrayLike<number>[];
      means: number;
      units: number;
    },
  ): Arena | undefined {
    if (n < cpuReuse.arenaMin) return undefined;
    const { outputs, inputs, means, units } = step;
    // (`undefined` where no memory that size can be had: JavaScript loops)
    const make = () => {
      try {
        return new Arena(
          n,
          Math.max(2 * outputs + 1, outputs + inputs.length - 1),
          means,
          units,
        );
      } catch {
        return undefined;
      }
    };
    // reuse off: a fresh arena at every step (the same loops, fresh memory)
    if (!cpuReuse.enabled) return make();
    const key = `${param}\u0000${n}\u0000${outputs}\u0000${means}`;
    let a = this.arenas.get(key);
    const copies = a === undefined
      ? inputs.length
      : inputs.filter((x) => a!.offsetOf(x) < 0).length;
    if (a === undefined || a.idle() < outputs + Math.max(0, copies - 1)) {
      a = make();
      if (a === undefined) this.arenas.delete(key);
      else this.arenas.set(key, a);
    }
    return a;
  }

  /**
   * An array of `n` floats: from `arena` while it has one free, else a
   * freed one (stale values) or a new one.
   */
  take(n: number, arena?: Arena): Float32Array {
    const fromArena = arena?.take();
    if (fromArena !== undefined) {
      if (fromArena.reused) cpuReuse.reused++;
      return fromArena.array;
    }
    const list = cpuReuse.enabled ? this.free.get(n) : undefined;
    const a = list?.pop()?.array;
    if (a === undefined) return new Float32Array(n);
    cpuReuse.reused++;
    return a;
  }

  /** Arrays nobody sees any more: freed outputs, or ones a failed run took. */
  giveBack(arrays: readonly Float32Array[]): void {
    if (!cpuReuse.enabled) return;
    for (const array of arrays) {
      const arena = arenaOf.get(array.buffer);
      if (arena !== undefined) {
        arena.release(array);
        continue;
      }
      const list = this.free.get(array.length) ?? [];
      list.push({ array, at: this.collects });
      this.free.set(array.length, list);
    }
  }

  /**
   * A tensor over `array`, whose array the pool takes back once it is freed;
   * `key` names its place (parameter and expression).
   */
  store(
    make: (a: Float32Array) => tf.Tensor,
    array: Float32Array,
    key: string,
  ): tf.Tensor {
    storing = true;
    let t: tf.Tensor;
    try {
      t = make(array);
    } finally {
      storing = false;
    }
    if (cpuReuse.enabled) this.live.push({ id: t.dataId, array, key });
    return t;
  }

  /**
   * Marks a step's outputs, once all are made, as the newest values of
   * their places (`slot`: a state slot, not the update or new weight).
   */
  newValues(
    made: readonly { t: tf.Tensor; key: string; slot: boolean }[],
  ): void {
    if (!cpuReuse.enabled) return;
    for (const { t, key, slot } of made) {
      this.newest.set(key, t.dataId);
      placeOf.set(t.dataId, { pool: this, key, slot });
    }
  }

  /**
   * An output's data was freed. A step frees old values only after it has
   * made the new ones, so the newest value of a place freed means it was
   * disposed, not replaced: the pool lets go of the arrays of that place that
   * no tensor uses, and, for a state slot (the state disposed: training is
   * over or starts again), of every array it holds that no tensor uses.
   * (Updates are freed at every step by whoever applied them: their places
   * let go of their own arrays only.)
   */
  outputFreed(id: object): void {
    const { key, slot } = placeOf.get(id)!;
    if (this.newest.get(key) !== id) return;
    this.newest.delete(key);
    this.free.clear();
    if (slot) this.arenas.clear();
    const data = (this.backend as CpuBackend).data;
    this.live = this.live.filter((e) => {
      if (data.has(e.id) || (!slot && e.key !== key)) return true;
      // an update's arena array goes back to its arena (fixed memory, kept
      // while the state lives), unless someone saw it
      const arena = slot ? undefined : arenaOf.get(e.array.buffer);
      if (arena !== undefined && !wasSeen(e.array)) arena.release(e.array);
      return false;
    });
  }

  /** Test-only: arrays the pool holds that no tensor uses. */
  idleArrays(): number {
    const data = (this.backend as CpuBackend).data;
    let n = this.live.filter(({ id }) => !data.has(id)).length;
    for (const list of this.free.values()) n += list.length;
    for (const a of this.arenas.values()) n += a.idle();
    return n;
  }
}
