// Id and seed lists: "0,7,10-19" style specs, parsed and checked.
import { badInput } from "./errors.ts";

/** The largest seed the official scripts accept (numpy RandomState takes 0..2^32-1). */
export const MAX_SEED = 2 ** 32 - 1;

/** Refuse specs that would expand past this many ids; --limit is the way to sample less. */
export const MAX_IDS = 10_000_000;

/**
 * Parses a list of numbers and inclusive ranges such as "0,7,10-19" into
 * numbers in the order given, without duplicates. `flag` names the option in
 * errors.
 */
export function parseIdList(
  spec: unknown,
  flag: string,
  max = MAX_SEED,
): number[] {
  const text = typeof spec === "number" ? String(spec) : spec;
  if (typeof text !== "string" || text.trim() === "") {
    throw badInput(flag, "a list like 0,7,10-19", text);
  }
  const seen = new Set<number>();
  const ids: number[] = [];
  for (const part of text.split(",")) {
    for (const id of expandPart(part.trim(), flag, max)) {
      if (seen.has(id)) continue;
      seen.add(id);
      ids.push(id);
      if (ids.length > MAX_IDS) {
        throw badInput(flag, `at most ${MAX_IDS} ids`, `more in "${text}"`);
      }
    }
  }
  return ids;
}

function expandPart(part: string, flag: string, max: number): number[] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(part);
  if (!match) {
    throw badInput(flag, "numbers and ranges like 0,7,10-19", `"${part}"`);
  }
  const first = checkBound(match[1], part, flag, max);
  const last =
    match[2] === undefined ? first : checkBound(match[2], part, flag, max);
  if (last < first) {
    throw badInput(flag, "a range that counts up (low-high)", `"${part}"`);
  }
  if (last - first >= MAX_IDS) {
    throw badInput(flag, `ranges of at most ${MAX_IDS} ids`, `"${part}"`);
  }
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function checkBound(
  digits: string,
  part: string,
  flag: string,
  max: number,
): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value) || value > max) {
    throw badInput(flag, `numbers from 0 to ${max}`, `"${part}"`);
  }
  return value;
}

/** Formats sorted ids back into the compact "0-9,12" form, for logs and reports. */
export function formatIdList(ids: readonly number[], maxParts = 12): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  if (parts.length <= maxParts) return parts.join(",");
  return `${parts.slice(0, maxParts).join(",")},... (${sorted.length} ids)`;
}
