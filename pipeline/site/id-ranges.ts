// Ids as inclusive [first, last] ranges: 0..N-1 is one pair however large N is.

export type IdRange = [first: number, last: number];

/** Merges ids (any order, repeats allowed) into sorted, disjoint, non-touching ranges. */
export function toRanges(ids: Iterable<number>): IdRange[] {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const ranges: IdRange[] = [];
  for (const id of sorted) {
    const last = ranges.at(-1);
    if (last && id === last[1] + 1) last[1] = id;
    else ranges.push([id, id]);
  }
  return ranges;
}

/** Merges ranges that overlap or touch, so each id is counted once. */
export function mergeRanges(ranges: IdRange[]): IdRange[] {
  const sorted = ranges
    .map((r): IdRange => [r[0], r[1]])
    .sort((a, b) => a[0] - b[0]);
  const merged: IdRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/** How many ids the ranges hold. */
export function countIds(ranges: IdRange[]): number {
  return ranges.reduce((sum, [first, last]) => sum + last - first + 1, 0);
}

/** A short human form: "0-11" or "0-9, 15, 20-29". */
export function describeRanges(ranges: IdRange[]): string {
  const shown = ranges
    .slice(0, 4)
    .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  if (ranges.length > 4) shown.push(`... (${ranges.length} ranges)`);
  return shown.join(", ");
}
