// twdne images with waifu2x through the real CLI and real sidecars on CPU, on DCGAN faces.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import sharp from "sharp";
import t from "tap";
import { dcganFaces } from "./helpers/dcgan-faces.ts";
import { BIN, manifestLines, range, tempDir, twdne } from "./helpers/cli.ts";
import { projectRoot } from "../pipeline/python.ts";

const UPCONV7 = path.resolve(projectRoot, "../shared/models/waifu2x/upconv7");
const CUNET = path.resolve(projectRoot, "../shared/models/waifu2x/cunet");
const SHEETS = path.join(projectRoot, "test/out/images");

// Eight real faces, made once and copied into each test's run folder.
const runFolder = dcganFaces(t, "images-faces");

function images(out: string, ...flags: string[]) {
  return twdne([
    "images",
    "--out",
    out,
    "--model",
    UPCONV7,
    "--devices",
    "cpu",
    ...flags,
  ]);
}

/** Visible files of DIR/site (temporary names start with a dot). */
function siteFiles(out: string): string[] {
  const dir = path.join(out, "site");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => !name.startsWith("."))
    .sort();
}

function jpegNames(ids: number[]): string[] {
  return ids.map((id) => `example-${id}.jpg`).sort();
}

function sizeOf(out: string, id: number): number {
  return fs.statSync(path.join(out, "site", `example-${id}.jpg`)).size;
}

/** Mean absolute Laplacian of the grey image: how much fine line work it holds. */
async function detail(input: string | Buffer): Promise<number> {
  const { data, info } = await sharp(input)
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const w = info.width;
  let sum = 0;
  for (let y = 1; y < info.height - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      sum += Math.abs(
        4 * data[i] - data[i - 1] - data[i + 1] - data[i - w] - data[i + w],
      );
    }
  }
  return sum / ((w - 2) * (info.height - 2));
}

function psnr(a: Buffer, b: Buffer): number {
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += (a[i] - b[i]) ** 2;
  return 10 * Math.log10(255 ** 2 / (squared / a.length));
}

t.test(
  "UpConv7 scale 4: 256px progressive JPEGs with their provenance",
  async (t) => {
    const out = runFolder(t, "w2x-4x");
    const result = await images(out, "--scale", "4", "--keep-png");
    t.equal(result.code, 0, result.stderr);
    t.match(
      result.stderr,
      /images: 8 done, 0 skipped, 0 failed of 8 .*; 8 images, average \d+\.\d KB, total \d+\.\d KB/,
    );
    t.same(siteFiles(out), jpegNames(range(0, 7)));

    // Every file: 256px, progressive, nothing but pixels
    for (const id of range(0, 7)) {
      const meta = await sharp(
        path.join(out, "site", `example-${id}.jpg`),
      ).metadata();
      t.match(
        meta,
        { format: "jpeg", width: 256, height: 256, isProgressive: true },
        `example-${id}.jpg`,
      );
      t.notOk(meta.exif || meta.icc || meta.xmp, "no metadata");
    }

    // The manifest names the weight file by hash, and the face it came from
    const weights = path.join(UPCONV7, "anime_style_noise1_scale_rgb.npz");
    const sha = crypto
      .createHash("sha256")
      .update(fs.readFileSync(weights))
      .digest("hex");
    const lines = manifestLines(out, "images");
    t.equal(lines.length, 8);
    t.match(
      lines.find((line) => line.id === 3),
      {
        file: "site/example-3.jpg",
        upscaler: "waifu2x",
        model_kind: "waifu2x-upconv7",
        model_file: "anime_style_noise1_scale_rgb.npz",
        model_sha256: sha,
        noise_level: 1,
        scale: 4,
        format: "jpeg",
        quality: 25,
        source_bytes: fs.statSync(path.join(out, "faces", "3.png")).size,
      },
    );

    // The upscaled face is the same face, with more line detail than lanczos gives
    for (const id of [0, 5]) {
      const face = path.join(out, "faces", `${id}.png`);
      const upscaled = path.join(out, "upscaled", `${id}.png`);
      const lanczos = await sharp(face)
        .resize(256, 256, { kernel: "lanczos3" })
        .png()
        .toBuffer();
      const back = await sharp(upscaled)
        .resize(64, 64, { kernel: "lanczos3" })
        .raw()
        .toBuffer();
      const similarity = psnr(back, await sharp(face).raw().toBuffer());
      t.ok(similarity > 28, `face ${id}: downscaled back at ${similarity} dB`);
      const [sharpness, soft] = [await detail(upscaled), await detail(lanczos)];
      t.ok(
        sharpness > 1.5 * soft,
        `face ${id}: detail ${sharpness} vs lanczos ${soft}`,
      );
    }

    // A contact sheet of the eight 4x faces, kept for people to look at
    const file = path.join(SHEETS, "upconv7-4x.png");
    const flags = ["--source", "upscaled", "--grid", "4x2", "--ids", "0-7"];
    const drawn = await twdne([
      "sheet",
      "--out",
      out,
      ...flags,
      "--file",
      file,
    ]);
    t.equal(drawn.code, 0, drawn.stderr);
    t.match(await sharp(file).metadata(), { width: 1024, height: 512 });
  },
);

t.test(
  "resume: skips what is done, redoes what changed or went missing",
  async (t) => {
    const out = runFolder(t, "w2x-resume");
    const first = await images(out);
    t.equal(first.code, 0, first.stderr);
    t.match(first.stderr, /8 done, 0 skipped, 0 failed of 8/);
    const q25 = range(0, 7).map((id) => sizeOf(out, id));

    const again = await images(out);
    t.match(again.stderr, /0 done, 8 skipped, 0 failed of 8/);

    const better = await images(out, "--quality", "60");
    t.match(better.stderr, /redoing 0-7 \(made with other settings\)/);
    t.match(better.stderr, /8 done, 0 skipped, 0 failed of 8/);
    range(0, 7).forEach((id, i) =>
      t.ok(sizeOf(out, id) > q25[i], `quality 60 is larger for ${id}`),
    );

    fs.rmSync(path.join(out, "site", "example-2.jpg"));
    const deleted = await images(out, "--quality", "60");
    t.match(deleted.stderr, /1 done, 7 skipped, 0 failed of 8/);

    // A regenerated face: another face's pixels written over face 3
    fs.copyFileSync(
      path.join(out, "faces", "4.png"),
      path.join(out, "faces", "3.png"),
    );
    const regenerated = await images(out, "--quality", "60");
    t.match(regenerated.stderr, /redoing 3 \(made with other settings\)/);
    t.match(regenerated.stderr, /1 done, 7 skipped, 0 failed of 8/);
    const [three, four] = await Promise.all(
      [3, 4].map((id) =>
        fs.readFileSync(path.join(out, "site", `example-${id}.jpg`)),
      ),
    );
    t.ok(three.equals(four), "image 3 now shows face 4's pixels");
    t.equal(siteFiles(out).length, 8);
  },
);

t.test(
  "a corrupt or missing face: one error for that id, the others finish",
  async (t) => {
    const out = runFolder(t, "w2x-corrupt");
    const corrupt = path.join(out, "faces", "5.png");
    fs.writeFileSync(corrupt, "this is not a PNG at all\n");
    const result = await images(out, "--ids", "0-8", "--max-attempts", "2");
    t.equal(result.code, 1, result.stderr);
    t.match(result.stderr, /7 done, 0 skipped, 2 failed of 9/);
    const failures = result.stderr
      .split("\n")
      .filter((line) => line.startsWith("  failed"));
    t.equal(failures.length, 2, result.stderr);
    t.equal(
      failures[0],
      `  failed 5: ${corrupt}: expected a PNG image, received a file starting with ` +
        `bytes 74 68 69 73 20 69 73 20 (cannot identify image file '${corrupt}')`,
    );
    t.equal(
      failures[1],
      `  failed 8: ${path.join(out, "faces", "8.png")}: expected a PNG image, ` +
        `received a path that does not exist`,
    );
    t.same(siteFiles(out), jpegNames([0, 1, 2, 3, 4, 6, 7]));
  },
);

t.test(
  "missing or broken weights: one clear error and no output",
  async (t) => {
    const dir = tempDir(t, "w2x-weights");
    const out = runFolder(t, "w2x-noweights");
    const only = path.join(dir, "scale-only");
    fs.mkdirSync(only);
    fs.symlinkSync(
      path.join(UPCONV7, "anime_style_scale_rgb.npz"),
      path.join(only, "anime_style_scale_rgb.npz"),
    );
    const broken = path.join(dir, "anime_style_noise1_scale_rgb.npz");
    fs.writeFileSync(broken, "PK not really a zip archive");
    const cases: [string, RegExp][] = [
      [
        path.join(dir, "nope"),
        /^twdne: --model: expected a model file, received \S+nope \(no such file\)$/,
      ],
      [
        only,
        /^twdne: --model: expected a folder with anime_style_noise1_scale_rgb\.npz \(the noise_level 1 weights\), received \S+scale-only \(no such file in it\)$/,
      ],
      [
        broken,
        /^twdne: \S+anime_style_noise1_scale_rgb\.npz: expected .*, received /,
      ],
    ];
    for (const [model, message] of cases) {
      const result = await twdne([
        "images",
        "--out",
        out,
        "--model",
        model,
        "--devices",
        "cpu",
      ]);
      t.equal(result.code, 2, model);
      const lines = result.stderr.trim().split("\n");
      t.equal(lines.length, 1, `${model}: one line\n${result.stderr}`);
      t.match(lines[0], message);
      t.notOk(fs.existsSync(path.join(out, "site")), "no site folder");
      t.notOk(fs.existsSync(path.join(out, "manifests")), "no manifest");
    }
  },
);

t.test(
  "kill -9 of the orchestrator mid-run, then a rerun: exactly the ids, all whole",
  async (t) => {
    const out = runFolder(t, "w2x-kill");
    const child = execa(
      "node",
      [
        BIN,
        "images",
        "--out",
        out,
        "--model",
        UPCONV7,
        "--devices",
        "cpu",
        "--batch",
        "1",
      ],
      {
        reject: false,
        cwd: projectRoot,
        env: { ...process.env, TWDNE_FAULT: "delay=0.4" },
      },
    );
    // Kill once some images are in place and more are on their way
    const deadline = Date.now() + 60_000;
    while (siteFiles(out).length < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill("SIGKILL");
    const killed = await child;
    t.equal(killed.signal, "SIGKILL");
    const before = siteFiles(out).length;
    t.ok(before >= 2 && before < 8, `${before} images before the rerun`);
    for (const name of siteFiles(out))
      await sharp(path.join(out, "site", name))
        .raw()
        .toBuffer();

    const rerun = await images(out);
    t.equal(rerun.code, 0, rerun.stderr);
    t.match(rerun.stderr, /failed of 8/);
    t.same(siteFiles(out), jpegNames(range(0, 7)));
    for (const name of siteFiles(out)) {
      const meta = await sharp(path.join(out, "site", name)).metadata();
      t.same([meta.width, meta.height], [128, 128], name);
      await sharp(path.join(out, "site", name))
        .raw()
        .toBuffer();
    }
    const ids = new Set(manifestLines(out, "images").map((line) => line.id));
    t.same(
      [...ids].sort((a, b) => a - b),
      range(0, 7),
    );
  },
);

t.test("CUNet weights work the same way", async (t) => {
  const out = runFolder(t, "w2x-cunet");
  const result = await twdne([
    "images",
    "--out",
    out,
    "--model",
    CUNET,
    "--ids",
    "0,1",
    "--noise-level",
    "0",
    "--devices",
    "cpu",
  ]);
  t.equal(result.code, 0, result.stderr);
  t.same(siteFiles(out), jpegNames([0, 1]));
  t.match(manifestLines(out, "images")[0], {
    model_kind: "waifu2x-cunet",
    model_file: "noise0_scale2.0x_model.param",
    noise_level: 0,
    model_sha256: /^[0-9a-f]{64}$/,
  });
});
