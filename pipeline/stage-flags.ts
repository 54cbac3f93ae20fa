// Flags every stage takes, and their checks.
import { badInput } from "./errors.ts";
import { parseShard, takeShard } from "./shard.ts";

/** The flags faces, images and snippets share. */
export interface StageFlags {
  out: string;
  config?: string;
  devices?: string;
  batch?: number;
  workersPerDevice?: number;
  shard?: string;
  limit?: number;
  maxAttempts?: number;
  force?: boolean;
  verify?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
  /** Extra sidecar environment; tests inject faults through it. */
  env?: Record<string, string>;
}

/** A positive integer flag; anything else names the flag. */
export function checkPositive(value: unknown, flag: string): number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw badInput(flag, "a whole number of 1 or more", value);
  }
  return value as number;
}

/** checkPositive for a flag that may be absent. */
export function checkOptionalPositive(
  value: unknown,
  flag: string,
): number | undefined {
  return value === undefined ? undefined : checkPositive(value, flag);
}

/**
 * A checker for --shard and --limit, made before any work so bad values are
 * refused first; applied to the items it gives this machine's shard, then at
 * most --limit of it.
 */
export function shardSelector(flags: Pick<StageFlags, "shard" | "limit">) {
  const shard = parseShard(flags.shard);
  const limit = checkOptionalPositive(flags.limit, "--limit");
  return <T>(items: T[]): T[] => takeShard(items, shard).slice(0, limit);
}
