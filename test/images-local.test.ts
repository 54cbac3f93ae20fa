// twdne images with the upscalers that run without a sidecar: lanczos, none, an external command.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import t from "tap";
import { dcganFaces } from "./helpers/dcgan-faces.ts";
import { DCGAN, manifestLines, range, tempDir, twdne } from "./helpers/cli.ts";

// ImageMagick from Debian, by its full path so nothing else named convert answers.
const CONVERT = "/usr/bin/convert";

const runFolder = dcganFaces(t, "local-faces");

function images(out: string, ...flags: string[]) {
  return twdne(["images", "--out", out, ...flags]);
}

function siteFiles(out: string): string[] {
  const dir = path.join(out, "site");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => !name.startsWith("."))
    .sort();
}

function names(ids: number[], ext = "jpg"): string[] {
  return ids.map((id) => `example-${id}.${ext}`).sort();
}

function averageBytes(out: string): number {
  const sizes = siteFiles(out).map(
    (name) => fs.statSync(path.join(out, "site", name)).size,
  );
  return sizes.reduce((a, b) => a + b, 0) / sizes.length;
}

async function psnr(a: string | Buffer, b: string | Buffer): Promise<number> {
  const [x, y] = await Promise.all(
    [a, b].map((input) => sharp(input).removeAlpha().raw().toBuffer()),
  );
  let squared = 0;
  for (let i = 0; i < x.length; i++) squared += (x[i] - y[i]) ** 2;
  return 10 * Math.log10(255 ** 2 / (squared / x.length));
}

function failureLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("  failed"));
}

t.test(
  "lanczos: 2x JPEGs; a higher quality redoes all and is larger",
  async (t) => {
    const out = runFolder(t, "lanczos");
    const low = await images(out, "--upscaler", "lanczos", "--keep-png");
    t.equal(low.code, 0, low.stderr);
    t.match(
      low.stderr,
      /images: 8 done, 0 skipped, 0 failed of 8 .*; 8 images, average \d+\.\d KB/,
    );
    t.same(siteFiles(out), names(range(0, 7)));
    const meta = await sharp(
      path.join(out, "site", "example-6.jpg"),
    ).metadata();
    t.match(meta, {
      format: "jpeg",
      width: 128,
      height: 128,
      isProgressive: true,
    });
    t.match(manifestLines(out, "images")[0], {
      upscaler: "lanczos",
      model_kind: "lanczos",
      scale: 2,
      quality: 25,
      keep_png: true,
    });

    // --keep-png: the lossless upscale beside the JPEG, the same picture
    const png = path.join(out, "upscaled", "6.png");
    const pngMeta = await sharp(png).metadata();
    t.same([pngMeta.format, pngMeta.width], ["png", 128]);
    const expected = await sharp(path.join(out, "faces", "6.png"))
      .resize(128, 128, { kernel: "lanczos3" })
      .png()
      .toBuffer();
    t.equal(
      await psnr(png, expected),
      Infinity,
      "the PNG is the lanczos resize",
    );
    const jpegToPng = await psnr(path.join(out, "site", "example-6.jpg"), png);
    t.ok(jpegToPng > 25, `the JPEG shows it at ${jpegToPng} dB`);

    const average25 = averageBytes(out);
    const high = await images(
      out,
      "--upscaler",
      "lanczos",
      "--keep-png",
      "--quality",
      "75",
    );
    t.match(high.stderr, /redoing 0-7 \(made with other settings\)/);
    t.match(high.stderr, /8 done, 0 skipped/);
    const average75 = averageBytes(out);
    t.ok(
      average75 > 1.5 * average25,
      `quality 75 averages ${average75} bytes, quality 25 ${average25}`,
    );
  },
);

t.test("webp and avif: right signatures and names", async (t) => {
  const out = runFolder(t, "formats");
  for (const [format, ext] of [
    ["webp", "webp"],
    ["avif", "avif"],
  ]) {
    const result = await images(
      out,
      "--upscaler",
      "lanczos",
      "--format",
      format,
      "--ids",
      "0-2",
    );
    t.equal(result.code, 0, result.stderr);
    const files = siteFiles(out).filter((name) => name.endsWith(ext));
    t.same(files, names([0, 1, 2], ext));
    const bytes = fs.readFileSync(path.join(out, "site", files[0]));
    if (format === "webp") {
      t.equal(bytes.toString("latin1", 0, 4), "RIFF");
      t.equal(bytes.toString("latin1", 8, 12), "WEBP");
      t.equal(bytes.readUInt32LE(4) + 8, bytes.length);
    } else {
      t.equal(bytes.toString("latin1", 4, 12), "ftypavif");
    }
    const meta = await sharp(bytes).metadata();
    t.same([meta.width, meta.height], [128, 128]);
  }
});

t.test("none: the face at its own size, metadata stripped", async (t) => {
  const out = runFolder(t, "none");
  // Give face 1 an EXIF block and a Display P3 profile; neither may reach the site.
  const face = path.join(out, "faces", "1.png");
  const tagged = await sharp(face)
    .withExif({ IFD0: { Copyright: "tagged face", Artist: "someone" } })
    .withIccProfile("p3")
    .png()
    .toBuffer();
  fs.writeFileSync(face, tagged);
  const taggedMeta = await sharp(face).metadata();
  t.ok(taggedMeta.exif && taggedMeta.icc, "the input carries EXIF and ICC");

  const result = await images(out, "--upscaler", "none", "--ids", "0-1");
  t.equal(result.code, 0, result.stderr);
  const meta = await sharp(path.join(out, "site", "example-1.jpg")).metadata();
  t.match(meta, { width: 64, height: 64, format: "jpeg" });
  t.notOk(meta.exif, "no EXIF");
  t.notOk(meta.icc, "no ICC profile");
  t.notOk(meta.xmp, "no XMP");
  const bytes = fs.readFileSync(path.join(out, "site", "example-1.jpg"));
  t.equal(bytes.indexOf("tagged face"), -1, "the copyright text is gone");
  t.match(manifestLines(out, "images")[0], { upscaler: "none", scale: 1 });
});

t.test("command: an external program with {in} {out} {scale}", async (t) => {
  const out = runFolder(t, "command");
  const template = `${CONVERT} {in} -filter Lanczos -resize {scale}00% {out}`;
  const result = await images(
    out,
    "--upscaler",
    "command",
    "--command",
    template,
    "--scale",
    "4",
  );
  t.equal(result.code, 0, result.stderr);
  t.same(siteFiles(out), names(range(0, 7)));
  const meta = await sharp(path.join(out, "site", "example-2.jpg")).metadata();
  t.same([meta.width, meta.height], [256, 256]);
  t.match(manifestLines(out, "images")[0], {
    upscaler: "command",
    command: template,
    scale: 4,
  });
  const lanczos = await sharp(path.join(out, "faces", "2.png"))
    .resize(256, 256, { kernel: "lanczos3" })
    .png()
    .toBuffer();
  const similarity = await psnr(
    path.join(out, "site", "example-2.jpg"),
    lanczos,
  );
  t.ok(similarity > 25, `convert's resize matches sharp's at ${similarity} dB`);
  const temps = fs
    .readdirSync(path.join(out, "site"))
    .filter((n) => n[0] === ".");
  t.same(temps, [], "no temporary files left");
});

t.test("command failures explain themselves, once per cause", async (t) => {
  const out = runFolder(t, "command-fail");
  const cases: [string, RegExp][] = [
    [
      `${CONVERT} {in} -no-such-option {out}`,
      /^ {2}failed 0-2: upscale command "\/usr\/bin\/convert \{in\} -no-such-option \{out\}" ended with exit code 1\n {4}stderr: .*unrecognized option `-no-such-option'/,
    ],
    [
      "no-such-upscaler -i {in} -o {out}",
      /^ {2}failed 0-2: upscale command "no-such-upscaler -i \{in\} -o \{out\}" could not start: no-such-upscaler was not found on PATH$/,
    ],
    [
      "sh -c 'kill -KILL $$' {in} {out}",
      /^ {2}failed 0-2: upscale command "sh -c 'kill -KILL \$\$' \{in\} \{out\}" ended with signal SIGKILL: killed \(out of host memory, or kill -9\)$/,
    ],
    [
      "true {in} {out}",
      /^ {2}failed 0-2: upscale command "true \{in\} \{out\}" exited 0 but wrote no file at \{out\}$/,
    ],
    [
      `${CONVERT} {in} -resize 300% {out}`,
      /^ {2}failed 0-2: upscale command ".*" wrote a 192x192 image where --scale 2 of a 64x64 face is 128x128$/,
    ],
  ];
  for (const [template, message] of cases) {
    const result = await images(
      out,
      "--upscaler",
      "command",
      "--command",
      template,
      "--ids",
      "0-2",
      "--max-attempts",
      "1",
    );
    t.equal(result.code, 1, template);
    t.match(result.stderr, /0 done, 0 skipped, 3 failed of 3/);
    const failed = result.stderr.slice(result.stderr.indexOf("  failed"));
    t.match(failed.trimEnd(), message, template);
    t.equal(failureLines(result.stderr).length, 1, "one line for the cause");
    t.same(siteFiles(out), [], "no output");
  }
});

t.test(
  "--ids, --shard, --limit and --dry-run pick the same faces",
  async (t) => {
    const out = runFolder(t, "select");
    const dry = await images(
      out,
      "--upscaler",
      "lanczos",
      "--shard",
      "1/2",
      "--limit",
      "3",
      "--dry-run",
    );
    t.equal(dry.code, 0, dry.stderr);
    const plan = dry.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    t.same(
      plan.map((item) => item.id),
      [1, 3, 5],
    );
    t.match(plan[0], {
      file: "site/example-1.jpg",
      in: path.join(out, "faces", "1.png"),
    });
    t.same(siteFiles(out), [], "a dry run writes nothing");
    const run = await images(
      out,
      "--upscaler",
      "lanczos",
      "--shard",
      "1/2",
      "--limit",
      "3",
    );
    t.equal(run.code, 0, run.stderr);
    t.same(siteFiles(out), names([1, 3, 5]));
    const listed = await images(out, "--upscaler", "lanczos", "--ids", "0-3");
    t.match(listed.stderr, /2 done, 2 skipped, 0 failed of 4/);
  },
);

t.test("bad flags give one exact message and exit 2", async (t) => {
  const out = runFolder(t, "flags");
  const cases: [string[], string][] = [
    [
      ["--scale", "3"],
      "--scale: expected 2 or 4 (4 runs the 2x upscaler twice), received 3 (number)",
    ],
    [
      ["--quality", "0"],
      "--quality: expected a whole number from 1 to 100, received 0 (number)",
    ],
    [["--format", "gif"], "--format: expected jpeg, webp, avif, received gif"],
    [
      ["--upscaler", "bicubic"],
      "--upscaler: expected waifu2x, lanczos, none, command, received bicubic",
    ],
    [
      ["--noise-level", "4"],
      "--noise-level: expected -1 (none), 0, 1, 2 or 3, received 4 (number)",
    ],
    [
      ["--upscaler", "none", "--scale", "2"],
      "--scale: expected no --scale with --upscaler none, received 2 (number)",
    ],
    [
      ["--upscaler", "command"],
      "--command: expected a command line with {in} and {out}, like 'waifu2x-ncnn-vulkan -i {in} -o {out} -s {scale}', received nothing",
    ],
    [
      ["--upscaler", "command", "--command", "upscale {in} -o out.png"],
      "--command: expected a command line with {in} and {out}, like 'waifu2x-ncnn-vulkan -i {in} -o {out} -s {scale}', received \"upscale {in} -o out.png\" (no {out})",
    ],
    [
      ["--upscaler", "command", "--command", "upscale {in} {out} -g {gpu}"],
      '--command: expected only the placeholders {in}, {out}, {scale}, {noise_level}, received {gpu} in "upscale {in} {out} -g {gpu}"',
    ],
    [
      ["--upscaler", "command", "--command", "upscale '{in} {out}"],
      "--command: expected a closing ', received \"upscale '{in} {out}\"",
    ],
    [
      ["--command", "upscale {in} {out}"],
      "--command: expected --upscaler command alongside it, received upscale {in} {out}",
    ],
    [
      ["--ids", "9-2"],
      '--ids: expected a range that counts up (low-high), received "9-2"',
    ],
    [
      ["--model", path.join(out, "faces")],
      `--model: expected a waifu2x folder (UpConv7 .npz or CUNet .param/.bin files) or one of its weight files, received ${path.join(out, "faces")} (a folder with none of them)`,
    ],
  ];
  for (const [flags, message] of cases) {
    const result = await images(out, ...flags);
    t.equal(result.code, 2, flags.join(" "));
    t.equal(result.stderr.trim(), `twdne: ${message}`);
  }
  const empty = tempDir(t, "empty");
  const none = await images(empty, "--upscaler", "lanczos");
  t.equal(
    none.stderr.trim(),
    `twdne: --out: expected a run folder with faces/<id>.png in it (make them with twdne faces), received ${empty} (no faces in ${path.join(empty, "faces")})`,
  );
  t.same(fs.readdirSync(out).sort(), ["faces"], "nothing written");
});

t.test("the weights default to images.model of the config", async (t) => {
  const out = runFolder(t, "config");
  const dir = tempDir(t, "config-file");
  const config = path.join(dir, "twdne.config.json");
  const write = (model: string) =>
    fs.writeFileSync(config, JSON.stringify({ images: { model } }));
  const upconv7 = path.resolve(path.dirname(DCGAN), "..", "waifu2x", "upconv7");
  write(path.relative(dir, upconv7));
  const found = await images(out, "--config", config, "--dry-run");
  t.equal(found.code, 0, found.stderr);
  t.match(found.stderr, /images: dry run, 8 to make, 0 already done/);
  write("missing-weights");
  const missing = await images(out, "--config", config, "--dry-run");
  t.equal(missing.code, 2);
  t.equal(
    missing.stderr.trim(),
    `twdne: images.model: expected a model file, received ${path.join(dir, "missing-weights")} (no such file)`,
  );
});
