// Checks the site stage's flags, turning each bad value into one message naming the flag.
import { badInput, describeValue } from "../errors.ts";
import { mergeRanges, type IdRange } from "./id-ranges.ts";

const MAX_ID = 2 ** 32 - 1; // seeds are 32-bit unsigned integers
const WHOLE = /^(0|[1-9][0-9]*)$/;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function shown(value: unknown): string {
  return typeof value === "string" ? value : describeValue(value);
}

/** --count N: the ids 0..N-1. */
export function parseCount(value: unknown): IdRange[] {
  const expected = `a whole number of ids from 1 to ${MAX_ID + 1}`;
  if (typeof value !== "string" || !WHOLE.test(value.trim())) {
    throw badInput("--count", expected, shown(value));
  }
  const count = Number(value.trim());
  if (count < 1 || count > MAX_ID + 1)
    throw badInput("--count", expected, value);
  return [[0, count - 1]];
}

/** --ids LIST: comma-separated ids and inclusive ranges, e.g. 0-99,150,200-299. */
export function parseIds(value: unknown): IdRange[] {
  const expected = `comma-separated ids and ranges from 0 to ${MAX_ID}, like 0-99,150`;
  if (typeof value !== "string")
    throw badInput("--ids", expected, shown(value));
  const ranges: IdRange[] = [];
  for (const part of value.split(",")) {
    const ends = part.trim().split("-");
    const numbers = ends.map(Number);
    const valid =
      ends.length <= 2 &&
      ends.every((end) => WHOLE.test(end)) &&
      numbers.every((n) => n <= MAX_ID) &&
      numbers[0] <= numbers.at(-1)!;
    if (!valid) throw badInput("--ids", expected, `${value} (at "${part}")`);
    ranges.push([numbers[0], numbers.at(-1)!]);
  }
  return mergeRanges(ranges);
}

/** --prefix v2/: the folder under site/ that holds this generation's files. */
export function parsePrefix(value: unknown): string {
  const expected = "a relative folder of letters, digits, . _ - like v2/";
  if (value === undefined || value === "") return "";
  if (typeof value !== "string")
    throw badInput("--prefix", expected, shown(value));
  const segments = value.replace(/\/$/, "").split("/");
  if (!segments.every((segment) => SEGMENT.test(segment))) {
    throw badInput("--prefix", expected, value);
  }
  return `${segments.join("/")}/`;
}

/** --out DIR: the folder that holds site/. */
export function parseOut(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw badInput("--out", "a folder holding site/", shown(value));
  }
  return value;
}
