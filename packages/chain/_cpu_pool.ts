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

/** Test-only: whether pools hand out freed arrays, and how many they have. */
export const cpuReuse = { enabled: true, reused: 0 };

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
  if (ArrayBuffer.isView(values)) seen.add(values.buffer);
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
      if (!seen.has(array.buffer)) this.giveBack([array]);
      return false;
    });
  }

  /** An array of `n` floats: a freed one (stale values) or a new one. */
  take(n: number): Float32Array {
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
    const data = (this.backend as CpuBackend).data;
    this.live = this.live.filter((e) =>
      data.has(e.id) || (!slot && e.key !== key)
    );
  }

  /** Test-only: arrays the pool holds that no tensor uses. */
  idleArrays(): number {
    const data = (this.backend as CpuBackend).data;
    let n = this.live.filter(({ id }) => !data.has(id)).length;
    for (const list of this.free.values()) n += list.length;
    return n;
  }
}
