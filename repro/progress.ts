/**
 * The reproduction's progress line: runs done of all, an ETA from the time
 * steps have taken so far (per architecture, since an MLP step and a CNN
 * step differ by an order of magnitude), and the current run's epoch and
 * loss.
 *
 * @module
 */

/** Formats seconds as `1h02m`, `4m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${
      String(Math.floor((s % 3600) / 60)).padStart(2, "0")
    }m`;
  }
  if (s >= 60) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }
  return `${s}s`;
}

/** One planned run as the progress bar sees it. */
export interface PlannedRun {
  id: string;
  /** Cost class (architecture): ETA uses seconds per step per class. */
  cost: string;
  steps: number;
}

/** Tracks runs and draws the line. */
export class Progress {
  readonly #write: (text: string) => void;
  readonly #live: boolean;
  readonly #total: number;
  #done: number;
  #pending: Map<string, PlannedRun>;
  #secondsPerStep = new Map<string, { s: number; n: number }>();
  #current = "";
  #runStart = 0;
  #lastDraw = 0;

  constructor(
    runs: readonly PlannedRun[],
    done: ReadonlySet<string>,
    options: { write: (text: string) => void; live: boolean },
  ) {
    this.#write = options.write;
    this.#live = options.live;
    this.#total = runs.length;
    this.#pending = new Map(
      runs.filter((r) => !done.has(r.id)).map((r) => [r.id, r]),
    );
    this.#done = this.#total - this.#pending.size;
  }

  /** Runs finished, this session or earlier. */
  get done(): number {
    return this.#done;
  }

  /** Estimated seconds left. */
  eta(): number {
    const all = [...this.#secondsPerStep.values()];
    if (all.length === 0) return NaN;
    const avg = all.reduce((s, x) => s + x.s, 0) /
      all.reduce((s, x) => s + x.n, 0);
    let left = 0;
    for (const r of this.#pending.values()) {
      const k = this.#secondsPerStep.get(r.cost);
      left += r.steps * (k ? k.s / k.n : avg);
    }
    return left -
      (this.#current ? (performance.now() - this.#runStart) / 1000 : 0);
  }

  /** A run starts. */
  start(id: string): void {
    this.#current = id;
    this.#runStart = performance.now();
  }

  /** The current run reports progress. */
  update(text: string): void {
    if (!this.#live) return;
    const now = performance.now();
    if (now - this.#lastDraw < 200) return;
    this.#lastDraw = now;
    this.#write(`\r\x1b[2K${this.#line(text)}`);
  }

  #line(text: string): string {
    const width = 20;
    const fill = Math.round((this.#done / Math.max(1, this.#total)) * width);
    return `[${"#".repeat(fill)}${
      "-".repeat(width - fill)
    }] ${this.#done}/${this.#total} runs  ETA ${
      formatDuration(this.eta())
    }  ${this.#current}  ${text}`;
  }

  /** The current run finished after `seconds`; `summary` is printed on its own line. */
  finish(id: string, seconds: number, summary: string): void {
    const r = this.#pending.get(id);
    if (r) {
      const k = this.#secondsPerStep.get(r.cost) ?? { s: 0, n: 0 };
      k.s += seconds;
      k.n += r.steps;
      this.#secondsPerStep.set(r.cost, k);
      this.#pending.delete(id);
    }
    this.#done++;
    this.#current = "";
    const head = `${
      String(this.#done).padStart(String(this.#total).length)
    }/${this.#total}`;
    this.#write(
      `${this.#live ? "\r\x1b[2K" : ""}${head}  ${id}  ${summary}  ${
        seconds.toFixed(1)
      }s  ETA ${formatDuration(this.eta())}\n`,
    );
  }
}
