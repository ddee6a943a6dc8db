/**
 * The results file: one JSON object per finished run, appended as soon as
 * the run ends, so that an interrupted reproduction resumes where it
 * stopped.
 *
 * @module
 */
import type { RunSpec } from "./config.ts";
import type { RunResult } from "./train.ts";

/** One line of `results.jsonl`. */
export type RunRecord = RunSpec & RunResult & {
  /** {@linkcode fingerprint} of the settings the run used. */
  fingerprint: string;
  /** When it finished (ISO 8601). */
  finishedAt: string;
};

/**
 * Reads the records of `path` that match `fingerprint`, keyed by run id (a
 * later line wins). A missing file is empty; a truncated last line (a run
 * killed while writing) is skipped.
 */
export async function readRecords(
  path: string,
  fingerprint: string,
): Promise<{ records: Map<string, RunRecord>; other: number }> {
  const records = new Map<string, RunRecord>();
  let other = 0;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { records, other };
    throw e;
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let r: RunRecord;
    try {
      r = JSON.parse(line) as RunRecord;
    } catch {
      continue;
    }
    if (r.fingerprint === fingerprint) records.set(r.id, r);
    else other++;
  }
  return { records, other };
}

/** Appends one record as one line (a single write, so lines stay whole). */
export async function appendRecord(
  path: string,
  record: RunRecord,
): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(record) + "\n", {
    append: true,
    create: true,
  });
}

/** Mean and sample standard deviation (0 for one value). */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n === 1) return { mean, std: 0 };
  const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(v) };
}

/** The rate chosen for one cell, and how it was chosen. */
export interface Choice {
  /** The chosen learning rate. */
  lr: number;
  /** Final validation accuracy of every grid rate, in grid order. */
  grid: { lr: number; valAccuracy: number; valLoss: number }[];
  /** Whether the chosen rate is the grid's smallest or largest. */
  atEdge: boolean;
}

/**
 * Each cell's rate: of its grid runs (seed 1), the one with the highest
 * validation accuracy after the last epoch; a tie goes to the lower
 * validation loss, then to the smaller rate. A cell whose grid is not
 * complete has no choice yet. Test accuracy is never looked at.
 *
 * @param records The finished runs, by id.
 * @param cells The cells and their grids.
 * @returns The choice by cell key.
 */
export function chooseRates(
  records: ReadonlyMap<string, RunRecord>,
  cells: readonly { key: string; ids: readonly [number, string][] }[],
): Map<string, Choice> {
  const out = new Map<string, Choice>();
  for (const { key, ids } of cells) {
    const grid: Choice["grid"] = [];
    for (const [lr, id] of ids) {
      const r = records.get(id);
      if (r === undefined) break;
      const acc = r.valAccuracy?.at(-1) ?? NaN;
      const loss = r.valLoss?.at(-1) ?? NaN;
      grid.push({ lr, valAccuracy: acc, valLoss: loss });
    }
    if (grid.length < ids.length || grid.length === 0) continue;
    const score = (g: Choice["grid"][number]) =>
      Number.isFinite(g.valAccuracy) ? g.valAccuracy : -1;
    let best = 0;
    grid.forEach((g, i) => {
      const b = grid[best]!;
      const lossOf = (x: typeof g) =>
        Number.isFinite(x.valLoss) ? x.valLoss : Infinity;
      if (
        score(g) > score(b) ||
        (score(g) === score(b) && lossOf(g) < lossOf(b))
      ) best = i;
    });
    out.set(key, {
      lr: grid[best]!.lr,
      grid,
      atEdge: grid.length > 1 && (best === 0 || best === grid.length - 1),
    });
  }
  return out;
}
