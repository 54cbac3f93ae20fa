// JPEG encoding of 1024px faces: sharp in-process against ImageMagick's convert.
//
//   npx tsx bench/encode-vs-imagemagick.ts [--images 32] [--quality 25]
//
// The reference is measured in the same run: ImageMagick `convert` from Debian, one process
// per image in a loop, as a shell script over a folder of PNGs would run it. All read the
// same 1024px PNGs and write progressive JPEGs without metadata at the same quality. The
// like-for-like ratio is sharp's libjpeg-turbo mode (same quantisation tables, so the same
// size); sharp's mozjpeg mode, the pipeline's default, is shown beside it: smaller files
// for more encoding time. Prints images/s, the throughput ratio and the average bytes.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import sharp from "sharp";
import { encodeImage } from "../pipeline/encode-image.ts";
import { projectRoot } from "../pipeline/python.ts";
import { mapLimit } from "../pipeline/resume.ts";

const CONVERT = "/usr/bin/convert";
const DCGAN = path.resolve(
  projectRoot,
  "../shared/models/dcgan-anime/generator.h5",
);
const WORK = path.join(projectRoot, "bench", "out", "encode");
const SIDE = 1024;
const MOSAIC = 4; // 4x4 faces of 256px per image, so a 1024px image has a face's worth of edges per cell

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
}

// Real DCGAN faces (the CLI, on CPU), lanczos-upscaled and tiled into 1024px PNGs.
async function makeInputs(count: number): Promise<string[]> {
  const facesNeeded = Math.min(64, count * MOSAIC * MOSAIC);
  const run = path.join(WORK, "run");
  const made = await execa(
    "node",
    [
      path.join(projectRoot, "pipeline", "bin", "twdne.js"),
      "faces",
      "--network",
      DCGAN,
      "--seeds",
      `0-${facesNeeded - 1}`,
      "--out",
      run,
      "--devices",
      "cpu",
    ],
    { reject: false },
  );
  if (made.exitCode !== 0)
    throw new Error(`twdne faces failed:\n${made.stderr}`);
  const cell = SIDE / MOSAIC;
  const faces = await Promise.all(
    Array.from({ length: facesNeeded }, (_, seed) =>
      sharp(path.join(run, "faces", `${seed}.png`))
        .resize(cell, cell, { kernel: "lanczos3" })
        .png()
        .toBuffer(),
    ),
  );
  const files: string[] = [];
  for (let n = 0; n < count; n++) {
    const file = path.join(WORK, `in-${n}.png`);
    const tiles = Array.from({ length: MOSAIC * MOSAIC }, (_, k) => ({
      input: faces[(n * 7 + k * 3) % faces.length],
      left: (k % MOSAIC) * cell,
      top: Math.floor(k / MOSAIC) * cell,
    }));
    await sharp({
      create: { width: SIDE, height: SIDE, channels: 3, background: "white" },
    })
      .composite(tiles)
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

// sharp from bare RGB pixels, as the images stage gets them from waifu2x: no PNG decode.
async function encodeRawWithSharp(
  files: string[],
  quality: number,
  mozjpeg: boolean,
) {
  const pixels = await Promise.all(
    files.map((file) =>
      sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true }),
    ),
  );
  return timed(() =>
    mapLimit(pixels, os.availableParallelism(), async ({ data, info }) => {
      const raw = {
        width: info.width,
        height: info.height,
        channels: info.channels,
      };
      const jpeg = await encodeImage(
        sharp(data, { raw }),
        "jpeg",
        quality,
        mozjpeg,
      );
      return jpeg.length;
    }),
  );
}

// sharp: every image in this process, as many at once as there are cores.
async function encodeWithSharp(
  files: string[],
  quality: number,
  mozjpeg: boolean,
) {
  return mapLimit(files, os.availableParallelism(), async (file) => {
    const out = file.replace(/in-(\d+)\.png$/, "sharp-$1.jpg");
    const jpeg = await encodeImage(sharp(file), "jpeg", quality, mozjpeg);
    fs.writeFileSync(out, jpeg);
    return jpeg.length;
  });
}

// convert: one process per image, one after another.
async function encodeWithConvert(files: string[], quality: number) {
  const sizes: number[] = [];
  for (const file of files) {
    const out = file.replace(/in-(\d+)\.png$/, "magick-$1.jpg");
    await execa(CONVERT, [
      file,
      "-strip",
      "-interlace",
      "Plane",
      "-quality",
      String(quality),
      out,
    ]);
    sizes.push(fs.statSync(out).size);
  }
  return sizes;
}

/** Mean PSNR in dB of JPEGs against their source PNGs (decoded RGB). */
async function meanPsnr(sources: string[], jpegs: Buffer[]): Promise<number> {
  const scores = await Promise.all(
    sources.map(async (file, i) => {
      const [x, y] = await Promise.all(
        [file, jpegs[i]].map((input) =>
          sharp(input).removeAlpha().raw().toBuffer(),
        ),
      );
      let squared = 0;
      for (let k = 0; k < x.length; k++) squared += (x[k] - y[k]) ** 2;
      return 10 * Math.log10(255 ** 2 / (squared / x.length));
    }),
  );
  return average(scores);
}

// The sharp quality whose average size comes closest to convert's, on a few images.
async function sizeMatched(files: string[], quality: number) {
  const sample = files.slice(0, 8);
  const magick = sample.map((file) =>
    fs.readFileSync(file.replace(/in-(\d+)\.png$/, "magick-$1.jpg")),
  );
  const target = average(magick.map((jpeg) => jpeg.length));
  let best = { quality, bytes: 0, jpegs: [] as Buffer[] };
  for (let q = quality; q <= Math.min(100, quality + 20); q++) {
    const jpegs = await Promise.all(
      sample.map((file) => encodeImage(sharp(file), "jpeg", q)),
    );
    const bytes = average(jpegs.map((jpeg) => jpeg.length));
    if (Math.abs(bytes - target) < Math.abs(best.bytes - target))
      best = { quality: q, bytes, jpegs };
    if (bytes > target) break;
  }
  const sharpSame = await Promise.all(
    sample.map((file) => encodeImage(sharp(file), "jpeg", quality)),
  );
  return {
    ...best,
    target,
    psnrMatched: await meanPsnr(sample, best.jpegs),
    psnrSame: await meanPsnr(sample, sharpSame),
    psnrMagick: await meanPsnr(sample, magick),
  };
}

const average = (values: number[]) =>
  values.reduce((a, b) => a + b, 0) / values.length;

async function main(): Promise<void> {
  const count = flag("images", 32);
  const quality = flag("quality", 25);
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  const files = await makeInputs(count);
  const version = (await execa(CONVERT, ["-version"])).stdout.split("\n")[0];
  console.log(
    `${count} images of ${SIDE}px, quality ${quality}, ${os.availableParallelism()} cores`,
  );
  console.log(`reference: ${version}`);

  // One warm-up image each, so neither pays for loading its libraries in the timing.
  await encodeWithSharp(files.slice(0, 1), quality, false);
  await encodeWithConvert(files.slice(0, 1), quality);
  const [plainSizes, plainSeconds] = await timed(() =>
    encodeWithSharp(files, quality, false),
  );
  const [magickSizes, magickSeconds] = await timed(() =>
    encodeWithConvert(files, quality),
  );
  const [mozSizes, mozSeconds] = await timed(() =>
    encodeWithSharp(files, quality, true),
  );
  const [rawSizes, rawSeconds] = await encodeRawWithSharp(
    files,
    quality,
    false,
  );
  const [rawMozSizes, rawMozSeconds] = await encodeRawWithSharp(
    files,
    quality,
    true,
  );

  // Like for like: libjpeg-turbo in sharp and libjpeg in ImageMagick use the same tables.
  const magickRate = count / magickSeconds;
  const magickBytes = average(magickSizes);
  const report = (name: string, seconds: number, sizes: number[]) => {
    const rate = count / seconds;
    const bytes = average(sizes);
    console.log(
      `${name}: ${rate.toFixed(1)} images/s, average ${Math.round(bytes)} bytes; ` +
        `vs convert ${(rate / magickRate).toFixed(2)}x throughput, ${(bytes / magickBytes).toFixed(3)} size`,
    );
    return rate / magickRate;
  };
  const lanes = os.availableParallelism();
  console.log(
    `convert (-strip -interlace Plane, one process each): ` +
      `${magickRate.toFixed(1)} images/s, average ${Math.round(magickBytes)} bytes (reference)`,
  );
  const ratio = report(
    `sharp libjpeg-turbo (--no-mozjpeg, progressive, ${lanes} at once)`,
    plainSeconds,
    plainSizes,
  );
  report(
    `sharp mozjpeg (the default, progressive, ${lanes} at once)`,
    mozSeconds,
    mozSizes,
  );
  const staged = report(
    "sharp libjpeg-turbo from RGB pixels (as the images stage encodes)",
    rawSeconds,
    rawSizes,
  );
  report(
    "sharp mozjpeg from RGB pixels (the images stage's default)",
    rawMozSeconds,
    rawMozSizes,
  );
  console.log(
    `same quality, size within 10%: PNG in ${ratio.toFixed(2)}x, ` +
      `as the images stage encodes ${staged.toFixed(2)}x (target >= 5x)`,
  );
  const matched = await sizeMatched(files, quality);
  console.log(
    `PSNR at quality ${quality} (8 images): sharp ${matched.psnrSame.toFixed(2)} dB, ` +
      `convert ${matched.psnrMagick.toFixed(2)} dB`,
  );
  console.log(
    `size-matched: sharp quality ${matched.quality} averages ${Math.round(matched.bytes)} bytes ` +
      `(${(matched.bytes / matched.target).toFixed(3)} of convert's) at ${matched.psnrMatched.toFixed(2)} dB`,
  );
}

await main();
