// Contact sheets: a grid of faces in one PNG, like TWDNE's 10x10 overview images.
import fs from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { writeFileAtomic } from "./atomic.ts";
import { badInput, UserError } from "./errors.ts";
import { checkPositive } from "./stage-flags.ts";
import { parseIdList } from "./ids.ts";

export const SOURCES = ["faces", "upscaled", "site"] as const;
export type SheetSource = (typeof SOURCES)[number];

export interface SheetOptions {
  out: string;
  grid?: string;
  ids?: string;
  seed?: number;
  size?: number;
  source?: string;
  file?: string;
}

export interface SheetResult {
  file: string;
  /** The ids in the cells, row by row. */
  ids: number[];
  columns: number;
  rows: number;
  size: number;
}

const MAX_CELLS = 10_000;

/** Draws the chosen (or seeded random) faces into a grid and writes it atomically. */
export async function makeSheet(options: SheetOptions): Promise<SheetResult> {
  const { columns, rows } = parseGrid(options.grid ?? "10x10");
  const source = checkSource(options.source ?? "faces");
  const seed = options.seed === undefined ? 0 : checkSeed(options.seed);
  const files = await sourceFiles(options.out, source);
  const ids = chooseIds(files, columns * rows, options.ids, seed);
  const size =
    options.size === undefined
      ? await nativeWidth(files.get(ids[0])!)
      : checkPositive(options.size, "--size");
  const file = options.file ?? path.join(options.out, "sheet.png");
  const png = await drawSheet(
    ids.map((id) => files.get(id)!),
    columns,
    rows,
    size,
  );
  await writeFileAtomic(file, png);
  return { file, ids, columns, rows, size };
}

/** "10x10" -> 10 columns, 10 rows. */
export function parseGrid(text: unknown): { columns: number; rows: number } {
  const match = /^(\d+)x(\d+)$/.exec(String(text).trim());
  const columns = match ? Number(match[1]) : 0;
  const rows = match ? Number(match[2]) : 0;
  if (!match || columns < 1 || rows < 1 || columns * rows > MAX_CELLS)
    throw badInput(
      "--grid",
      `COLUMNSxROWS such as 10x10, at most ${MAX_CELLS} cells`,
      text,
    );
  return { columns, rows };
}

function checkSource(value: unknown): SheetSource {
  if (!(SOURCES as readonly unknown[]).includes(value))
    throw badInput("--source", SOURCES.join(", "), value);
  return value as SheetSource;
}

function checkSeed(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0)
    throw badInput("--seed", "a whole number of 0 or more", value);
  return value as number;
}

// id -> image file: DIR/faces/<id>.png, DIR/upscaled/<id>.png (images --keep-png)
// or DIR/site/example-<id>.{jpg,webp,avif}.
async function sourceFiles(
  outDir: string,
  source: SheetSource,
): Promise<Map<number, string>> {
  const dir = path.join(outDir, source);
  const pattern =
    source === "site" ? /^example-(\d+)\.(jpg|webp|avif)$/ : /^(\d+)\.png$/;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const files = new Map<number, string>();
  for (const name of names.sort()) {
    const match = pattern.exec(name);
    if (match && !files.has(Number(match[1])))
      files.set(Number(match[1]), path.join(dir, name));
  }
  if (files.size === 0)
    throw badInput(
      "--source",
      `images in ${dir}`,
      `${source} (${dir} has none)`,
    );
  return files;
}

/**
 * The ids to draw: the listed ones (each must have an image), else a seeded
 * random sample of the available ids without repeats, at most one per cell.
 */
export function chooseIds(
  files: Map<number, string>,
  cells: number,
  spec: string | undefined,
  seed: number,
): number[] {
  if (spec !== undefined) {
    const ids = parseIdList(spec, "--ids");
    const missing = ids.filter((id) => !files.has(id));
    if (missing.length)
      throw badInput(
        "--ids",
        "ids that have an image",
        `${spec} (no image for ${missing.slice(0, 10).join(",")})`,
      );
    if (ids.length > cells)
      throw badInput(
        "--ids",
        `at most ${cells} ids for the grid`,
        `${ids.length} ids`,
      );
    return ids;
  }
  const pool = [...files.keys()].sort((a, b) => a - b);
  return shuffle(pool, seed).slice(0, cells);
}

/** Fisher-Yates with mulberry32: the same seed gives the same sample on any machine. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function nativeWidth(file: string): Promise<number> {
  const { width } = await readable(file, () => sharp(file).metadata());
  return width;
}

// Cells fill row by row; cells without a face stay black.
async function drawSheet(
  files: string[],
  columns: number,
  rows: number,
  size: number,
): Promise<Buffer> {
  const tiles = await Promise.all(
    files.map((file) =>
      readable(file, () =>
        sharp(file)
          .resize(size, size, { fit: "cover", kernel: "lanczos3" })
          .removeAlpha()
          .png()
          .toBuffer(),
      ),
    ),
  );
  return sharp({
    create: {
      width: columns * size,
      height: rows * size,
      channels: 3,
      background: { r: 0, g: 0, b: 0 },
    },
  })
    .composite(
      tiles.map((input, index) => ({
        input,
        left: (index % columns) * size,
        top: Math.floor(index / columns) * size,
      })),
    )
    .png()
    .toBuffer();
}

async function readable<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new UserError(
      `${file}: expected an image, received a file sharp cannot decode (${(error as Error).message})`,
    );
  }
}
