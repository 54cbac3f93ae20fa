// twdne sheet through the real CLI, on faces of known solid colours so every cell can be checked.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import t from "tap";
import { range, tempDir, twdne } from "./helpers/cli.ts";
import { shuffle } from "../pipeline/sheet.ts";

/** A distinct colour per id. */
function colourOf(id: number): [number, number, number] {
  return [(id * 37) % 256, (id * 91 + 40) % 256, (id * 53 + 200) % 256];
}

async function writeFaces(out: string, ids: number[]): Promise<void> {
  fs.mkdirSync(path.join(out, "faces"), { recursive: true });
  fs.mkdirSync(path.join(out, "site"), { recursive: true });
  for (const id of ids) {
    const [r, g, b] = colourOf(id);
    const face = sharp({
      create: { width: 64, height: 64, channels: 3, background: { r, g, b } },
    });
    await face
      .clone()
      .png()
      .toFile(path.join(out, "faces", `${id}.png`));
    await face
      .clone()
      .resize(128, 128)
      .jpeg({ quality: 90 })
      .toFile(path.join(out, "site", `example-${id}.jpg`));
  }
}

/** The mean colour of cell (column, row) of a sheet with square cells of `size`. */
async function cellColour(
  file: string,
  column: number,
  row: number,
  size: number,
): Promise<number[]> {
  const cell = await sharp(file)
    .extract({
      left: column * size,
      top: row * size,
      width: size,
      height: size,
    })
    .png()
    .toBuffer();
  // stats() reads its input, so the cell is cut out first
  const { channels } = await sharp(cell).stats();
  return channels.slice(0, 3).map((channel) => channel.mean);
}

function near(actual: number[], expected: number[], tolerance: number) {
  return actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);
}

function sheet(out: string, ...flags: string[]) {
  return twdne(["sheet", "--out", out, ...flags]);
}

t.test("a seeded random sample, each face in its cell", async (t) => {
  const out = tempDir(t, "sheet-random");
  await writeFaces(out, range(0, 7));
  const first = await sheet(out, "--grid", "3x2", "--seed", "5");
  t.equal(first.code, 0, first.stderr);
  const { file, ids } = JSON.parse(first.stdout);
  t.equal(file, path.join(out, "sheet.png"));
  t.equal(ids.length, 6);
  t.equal(new Set(ids).size, 6, "no face twice");
  t.ok(
    ids.every((id: number) => id >= 0 && id <= 7),
    "only faces that exist",
  );
  t.same(ids, shuffle(range(0, 7), 5).slice(0, 6), "the seed's sample");
  const meta = await sharp(file).metadata();
  t.same([meta.format, meta.width, meta.height], ["png", 192, 128]);
  for (const [index, id] of ids.entries()) {
    const colour = await cellColour(file, index % 3, Math.floor(index / 3), 64);
    t.same(colour, colourOf(id), `cell ${index} shows face ${id}`);
  }
  const bytes = fs.readFileSync(file);
  const again = await sheet(out, "--grid", "3x2", "--seed", "5");
  t.same(JSON.parse(again.stdout).ids, ids, "the same seed, the same faces");
  t.ok(fs.readFileSync(file).equals(bytes), "and the same file");
  const other = await sheet(out, "--grid", "3x2", "--seed", "6");
  t.not(
    JSON.parse(other.stdout).ids.join(),
    ids.join(),
    "another seed differs",
  );
  const hidden = fs.readdirSync(out).filter((name) => name.startsWith("."));
  t.same(hidden, [], "no temporary file left");
});

t.test("chosen ids, a cell size, site images and a file name", async (t) => {
  const out = tempDir(t, "sheet-chosen");
  await writeFaces(out, range(0, 7));
  const target = path.join(out, "sheets", "chosen.png");
  const result = await sheet(
    out,
    "--grid",
    "2x2",
    "--ids",
    "7,0,3",
    "--size",
    "32",
    "--source",
    "site",
    "--file",
    target,
  );
  t.equal(result.code, 0, result.stderr);
  t.same(JSON.parse(result.stdout).ids, [7, 0, 3]);
  const meta = await sharp(target).metadata();
  t.same([meta.width, meta.height], [64, 64]);
  for (const [index, id] of [7, 0, 3].entries()) {
    const colour = await cellColour(
      target,
      index % 2,
      Math.floor(index / 2),
      32,
    );
    t.ok(
      near(colour, colourOf(id), 4),
      `cell ${index}: ${colour} ~ ${colourOf(id)}`,
    );
  }
  t.same(
    await cellColour(target, 1, 1, 32),
    [0, 0, 0],
    "the empty cell is black",
  );
});

t.test("bad input gives one exact message and exit 2", async (t) => {
  const out = tempDir(t, "sheet-bad");
  await writeFaces(out, range(0, 3));
  const empty = tempDir(t, "sheet-empty");
  const cases: [string, string[], string][] = [
    [
      out,
      ["--grid", "0x3"],
      "--grid: expected COLUMNSxROWS such as 10x10, at most 10000 cells, received 0x3",
    ],
    [
      out,
      ["--grid", "ten"],
      "--grid: expected COLUMNSxROWS such as 10x10, at most 10000 cells, received ten",
    ],
    [
      out,
      ["--ids", "1,99"],
      "--ids: expected ids that have an image, received 1,99 (no image for 99)",
    ],
    [
      out,
      ["--grid", "1x1", "--ids", "0,1"],
      "--ids: expected at most 1 ids for the grid, received 2 ids",
    ],
    [
      out,
      ["--source", "thumbnails"],
      "--source: expected faces, upscaled, site, received thumbnails",
    ],
    [
      out,
      ["--size", "0"],
      "--size: expected a whole number of 1 or more, received 0 (number)",
    ],
    [
      empty,
      [],
      `--source: expected images in ${path.join(empty, "faces")}, received faces (${path.join(empty, "faces")} has none)`,
    ],
  ];
  for (const [dir, flags, message] of cases) {
    const result = await sheet(dir, ...flags);
    t.equal(result.code, 2, flags.join(" "));
    t.equal(result.stderr.trim(), `twdne: ${message}`);
  }
  t.notOk(fs.existsSync(path.join(out, "sheet.png")), "nothing written");
});
