// Builds a small generated site for tests: flat-colour faces whose colour encodes the id.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";

/** The colour of face `id`: red steps by 20 per id, so a pixel read back gives the id. */
export function faceColour(id: number): { r: number; g: number; b: number } {
  return { r: 10 + 20 * id, g: 200 - 15 * id, b: 90 };
}

/** The id a red channel value encodes, or -1 when it is far from any id. */
export function idFromRed(red: number): number {
  const id = Math.round((red - 10) / 20);
  return Math.abs(10 + 20 * id - red) <= 6 ? id : -1;
}

/** A snippet about as long as a generated one, naming its id. */
export function snippetText(id: number): string {
  return (
    `_Waifu Season ${id}_: Snippet ${id}. A girl who does not exist finds a cat ` +
    "on the roof of her school, and the cat talks. ".repeat(10) +
    "\n\nNext week: the cat joins the student council."
  );
}

/** A JPEG of one flat colour with the id written in the middle. */
export async function faceJpeg(id: number, side = 256): Promise<Buffer> {
  const label = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}">
    <text x="50%" y="55%" font-size="${side / 3}" text-anchor="middle"
      font-family="sans-serif" fill="white">${id}</text></svg>`;
  return sharp({
    create: {
      width: side,
      height: side,
      channels: 3,
      background: faceColour(id),
    },
  })
    .composite([{ input: Buffer.from(label) }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A temporary OUT folder whose site/ (or site/<prefix>) holds `count` pairs, ids 0..count-1. */
export async function makeSiteFolder(
  count: number,
  prefix = "",
): Promise<string> {
  const out = await mkdtemp(path.join(tmpdir(), "twdne-site-"));
  const folder = path.join(out, "site", prefix);
  await mkdir(folder, { recursive: true });
  for (let id = 0; id < count; id++) {
    await writeFile(path.join(folder, `example-${id}.jpg`), await faceJpeg(id));
    await writeFile(path.join(folder, `snippet-${id}.txt`), snippetText(id));
  }
  return out;
}
