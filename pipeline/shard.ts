// --shard K/N: a deterministic, disjoint slice of the ids for one of N machines.
import { badInput } from "./errors.ts";

export interface Shard {
  index: number;
  count: number;
}

/** Parses "K/N" with 0 <= K < N (as Slurm array ids and Kubernetes indexes count). */
export function parseShard(spec: unknown): Shard | undefined {
  if (spec === undefined || spec === null || spec === "") return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(String(spec).trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count) {
    throw badInput("--shard", "K/N with 0 <= K < N, such as 0/4", String(spec));
  }
  return { index, count };
}

/**
 * The items of shard K of N: every N-th item starting at position K, so each
 * shard gets an even share of every psi group and the union is the whole.
 */
export function takeShard<T>(items: readonly T[], shard?: Shard): T[] {
  if (!shard) return [...items];
  return items.filter((_, position) => position % shard.count === shard.index);
}
