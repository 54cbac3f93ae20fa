// The images stage: DIR/faces/<id>.png -> 2x or 4x upscale -> DIR/site/example-<id>.jpg.
import crypto from "node:crypto";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp, { type OutputInfo, type Sharp } from "sharp";
import { removeStaleTemps, writeFileAtomic } from "./atomic.ts";
import { loadConfig } from "./config.ts";
import { resolveDevices, threadsPerWorker } from "./devices.ts";
import {
  checkFormat,
  checkQuality,
  DEFAULT_QUALITY,
  encodeImage,
  EXTENSIONS,
  type ImageFormat,
} from "./encode-image.ts";
import { badInput } from "./errors.ts";
import { decodeImage } from "./faces.ts";
import {
  checkOptionalPositive,
  checkPositive,
  shardSelector,
  type StageFlags,
} from "./stage-flags.ts";
import { parseIdList } from "./ids.ts";
import { checkModelPath, sha256Of } from "./model-file.ts";
import { mapLimit } from "./resume.ts";
import type { ItemResult } from "./sidecar.ts";
import {
  runStage,
  type Job,
  type LocalExecutor,
  type StageOptions,
  type StageSummary,
} from "./stage.ts";
import {
  parseCommandTemplate,
  runUpscaleCommand,
  type CommandTemplate,
} from "./upscale-command.ts";

export const UPSCALERS = ["waifu2x", "lanczos", "none", "command"] as const;
export type Upscaler = (typeof UPSCALERS)[number];

/**
 * waifu2x's "low" denoising: it cleans the speckle and fringing GAN faces
 * carry without flattening line art, as the waifu2x frontends default to.
 */
export const DEFAULT_NOISE_LEVEL = 1;
export const NOISE_LEVELS = [-1, 0, 1, 2, 3];
export const SCALES = [2, 4];

// noise_level -> file name, as the waifu2x weights are published (-1: scale only)
const WEIGHT_NAMES = {
  "waifu2x-upconv7": (level: number) =>
    level < 0
      ? "anime_style_scale_rgb.npz"
      : `anime_style_noise${level}_scale_rgb.npz`,
  "waifu2x-cunet": (level: number) =>
    level < 0 ? "scale2.0x_model.param" : `noise${level}_scale2.0x_model.param`,
};
type Waifu2xKind = keyof typeof WEIGHT_NAMES;

export interface ImagesOptions extends StageFlags {
  ids?: string;
  upscaler?: string;
  model?: string;
  noiseLevel?: number;
  scale?: number;
  quality?: number;
  /** JPEG through mozjpeg (default) or plain libjpeg-turbo. */
  mozjpeg?: boolean;
  format?: string;
  keepPng?: boolean;
  command?: string;
  tile?: number;
}

/** The stage summary plus the size of every image the run folder now holds. */
export interface ImagesSummary extends StageSummary {
  files: number;
  totalBytes: number;
}

/** How the upscaled pixels are made: in sidecars, or in this process. */
type Backend = Pick<
  StageOptions,
  "sidecar" | "local" | "devices" | "threads"
> & {
  settings: Record<string, unknown>;
};

interface Encoding {
  format: ImageFormat;
  quality: number;
  mozjpeg: boolean;
  keepPng: boolean;
  outDir: string;
}

/** Upscales and encodes the faces the flags ask for; resolves to the summary. */
export async function runImages(
  options: ImagesOptions,
): Promise<ImagesSummary> {
  // Validate every flag before touching the model, the devices or the disk.
  options = withConfigDefaults(options);
  const upscaler = checkUpscaler(options.upscaler ?? "waifu2x");
  const encoding: Encoding = {
    format: checkFormat(options.format ?? "jpeg"),
    quality: checkQuality(options.quality ?? DEFAULT_QUALITY),
    mozjpeg: options.mozjpeg ?? true,
    keepPng: Boolean(options.keepPng),
    outDir: options.out,
  };
  const scale = checkScale(options.scale, upscaler);
  const noiseLevel = checkNoiseLevel(options.noiseLevel);
  if (upscaler !== "command" && options.command !== undefined)
    throw badInput(
      "--command",
      "--upscaler command alongside it",
      options.command,
    );
  const batch = checkPositive(options.batch ?? 8, "--batch");
  const workersPerDevice = checkOptionalPositive(
    options.workersPerDevice,
    "--workers-per-device",
  );
  const tile = checkOptionalPositive(options.tile, "--tile");
  const maxAttempts = checkPositive(options.maxAttempts ?? 3, "--max-attempts");
  const selectShard = shardSelector(options);

  // Choose the faces, then set up whatever makes the pixels.
  const ids = selectShard(await selectIds(options));
  const backend = await prepareBackend(upscaler, options, {
    scale,
    noiseLevel,
    tile,
    workersPerDevice,
  });
  const jobs = (await sourceStats(options.out, ids)).map((source) =>
    imageJob(source, upscaler, scale, encoding, backend.settings),
  );
  if (encoding.keepPng) await removeStaleTemps(upscaledDir(options.out));
  const summary = await runStage({
    stage: "images",
    outDir: options.out,
    format: encoding.format,
    jobs,
    sidecar: backend.sidecar,
    local: backend.local,
    op: "upscale",
    // Bare pixels from the sidecar: no PNG encode there, no PNG decode here.
    params: { scale, output: "rgb" },
    devices: backend.devices,
    workersPerDevice: workersPerDevice ?? 1,
    batch,
    maxAttempts,
    force: options.force,
    verify: options.verify,
    dryRun: options.dryRun,
    verbose: options.verbose,
    threads: backend.threads,
    env: options.env,
    decode: decodeImage,
    finalize: (job, result, temp, final) =>
      finalizeImage(job, result, temp, final, encoding),
  });
  return { ...summary, ...(await outputBytes(options.out, jobs)) };
}

function checkUpscaler(value: unknown): Upscaler {
  if (!(UPSCALERS as readonly unknown[]).includes(value))
    throw badInput("--upscaler", UPSCALERS.join(", "), value);
  return value as Upscaler;
}

// "none" keeps the face's size, so a scale would be a lie in the manifest.
function checkScale(value: unknown, upscaler: Upscaler): number {
  if (upscaler === "none") {
    if (value !== undefined)
      throw badInput("--scale", "no --scale with --upscaler none", value);
    return 1;
  }
  if (value === undefined) return 2;
  if (!SCALES.includes(value as number))
    throw badInput("--scale", "2 or 4 (4 runs the 2x upscaler twice)", value);
  return value as number;
}

function checkNoiseLevel(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!NOISE_LEVELS.includes(value as number))
    throw badInput("--noise-level", "-1 (none), 0, 1, 2 or 3", value);
  return value as number;
}

// The ids asked for, or every face in DIR/faces in id order.
async function selectIds(options: ImagesOptions): Promise<number[]> {
  if (options.ids !== undefined) return parseIdList(options.ids, "--ids");
  const dir = path.join(options.out, "faces");
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const ids = names
    .filter((name) => /^\d+\.png$/.test(name))
    .map((name) => Number.parseInt(name, 10))
    .sort((a, b) => a - b);
  if (ids.length === 0)
    throw badInput(
      "--out",
      "a run folder with faces/<id>.png in it (make them with twdne faces)",
      `${options.out} (no faces in ${dir})`,
    );
  return ids;
}

interface Source {
  id: number;
  file: string;
  /** Size and modification time: a regenerated face makes its image stale. */
  bytes?: number;
  mtime?: string;
}

async function sourceStats(outDir: string, ids: number[]): Promise<Source[]> {
  return mapLimit(ids, 64, async (id) => {
    const file = path.resolve(outDir, "faces", `${id}.png`);
    const stat = await fs.stat(file).catch(() => undefined);
    return { id, file, bytes: stat?.size, mtime: stat?.mtime.toISOString() };
  });
}

function imageJob(
  source: Source,
  upscaler: Upscaler,
  scale: number,
  encoding: Encoding,
  backendSettings: Record<string, unknown>,
): Job {
  return {
    id: source.id,
    file: path.join(
      "site",
      `example-${source.id}.${EXTENSIONS[encoding.format]}`,
    ),
    settings: {
      upscaler,
      scale,
      ...backendSettings,
      format: encoding.format,
      quality: encoding.quality,
      mozjpeg: encoding.format === "jpeg" ? encoding.mozjpeg : undefined,
      keep_png: encoding.keepPng || undefined,
      source_bytes: source.bytes,
      source_mtime: source.mtime,
    },
    request: { in: source.file },
  };
}

interface UpscaleFlags {
  scale: number;
  noiseLevel?: number;
  tile?: number;
  workersPerDevice?: number;
}

async function prepareBackend(
  upscaler: Upscaler,
  options: ImagesOptions,
  flags: UpscaleFlags,
): Promise<Backend> {
  if (upscaler === "waifu2x") return waifu2xBackend(options, flags);
  if (upscaler === "command") {
    const template = parseCommandTemplate(options.command);
    const usesNoise = template.words.some((w) => w.includes("{noise_level}"));
    const noiseLevel = flags.noiseLevel ?? DEFAULT_NOISE_LEVEL;
    return {
      devices: [],
      local: commandExecutor(
        template,
        flags.scale,
        noiseLevel,
        flags.workersPerDevice ?? 1,
      ),
      settings: {
        command: template.text,
        noise_level: usesNoise ? noiseLevel : undefined,
      },
    };
  }
  const concurrency = flags.workersPerDevice ?? os.availableParallelism();
  return {
    devices: [],
    local: sharpExecutor(upscaler, flags.scale, concurrency),
    settings: {},
  };
}

// waifu2x in sidecars: the weight file is chosen and hashed here, so the manifest names it.
async function waifu2xBackend(
  options: ImagesOptions,
  flags: UpscaleFlags,
): Promise<Backend> {
  const { model, flag } = modelPath(options);
  const kind = waifu2xKind(model, flag);
  const { file, noiseLevel } = weightFile(model, kind, flag, flags.noiseLevel);
  const devices = options.dryRun
    ? [{ name: "cpu" }]
    : await resolveDevices(options.devices);
  const workers = flags.workersPerDevice ?? 1;
  return {
    devices,
    threads: threadsPerWorker(devices, workers),
    sidecar: {
      kind,
      model: file,
      options: {
        noise_level: noiseLevel,
        ...(flags.tile ? { tile: flags.tile } : {}),
      },
    },
    settings: {
      model_file: path.basename(file),
      model_sha256: await modelSha256(file, kind),
      noise_level: noiseLevel,
    },
  };
}

// Settings the flags leave out, from the config's images section (its keys in snake_case).
function withConfigDefaults(options: ImagesOptions): ImagesOptions {
  const section = (loadConfig(options.config).images ?? {}) as Record<
    string,
    unknown
  >;
  const fromConfig = {
    upscaler: section.upscaler,
    scale: section.scale,
    noiseLevel: section.noise_level,
    quality: section.quality,
    format: section.format,
    mozjpeg: section.mozjpeg,
    batch: section.batch,
  };
  const defined = Object.entries(fromConfig).filter(
    ([, value]) => value !== undefined,
  );
  const flags = Object.entries(options).filter(
    ([, value]) => value !== undefined,
  );
  return {
    ...Object.fromEntries(defined),
    ...Object.fromEntries(flags),
  } as ImagesOptions;
}

// --model, else images.model of the config (relative to the config file).
function modelPath(options: ImagesOptions): { model: string; flag: string } {
  if (options.model !== undefined)
    return { model: checkModelPath(options.model, "--model"), flag: "--model" };
  const config = loadConfig(options.config);
  const images = config.images as { model?: unknown } | undefined;
  const configured = images?.model;
  if (typeof configured !== "string" || !configured)
    throw badInput(
      "--model",
      "a waifu2x weights folder or file (or images.model in the config)",
      undefined,
    );
  const base = config.file ? path.dirname(config.file) : process.cwd();
  const resolved = path.resolve(base, configured);
  return {
    model: checkModelPath(resolved, "images.model"),
    flag: "images.model",
  };
}

/** Which waifu2x net a folder or file holds: UpConv7 (.npz) or CUNet (ncnn .param/.bin). */
export function waifu2xKind(model: string, flag: string): Waifu2xKind {
  const expected =
    "a waifu2x folder (UpConv7 .npz or CUNet .param/.bin files) or one of its weight files";
  const stat = statSync(model);
  if (stat?.isDirectory()) {
    const names = new Set(readdirSync(model));
    for (const kind of Object.keys(WEIGHT_NAMES) as Waifu2xKind[]) {
      if (NOISE_LEVELS.some((level) => names.has(WEIGHT_NAMES[kind](level))))
        return kind;
    }
    throw badInput(flag, expected, `${model} (a folder with none of them)`);
  }
  const suffix = path.extname(model);
  if (suffix === ".npz") return "waifu2x-upconv7";
  if (suffix === ".param" || suffix === ".bin") return "waifu2x-cunet";
  throw badInput(flag, expected, `${model} (a ${suffix || "suffixless"} file)`);
}

/**
 * The weight file for a noise_level: inside a folder by its published name; a
 * single file carries its level in its name, which must agree with the flag.
 */
export function weightFile(
  model: string,
  kind: Waifu2xKind,
  flag: string,
  requested: number | undefined,
): { file: string; noiseLevel: number } {
  const nameOf = WEIGHT_NAMES[kind];
  if (statSync(model)?.isDirectory()) {
    const noiseLevel = requested ?? DEFAULT_NOISE_LEVEL;
    const file = path.join(model, nameOf(noiseLevel));
    if (!statSync(file)?.isFile())
      throw badInput(
        flag,
        `a folder with ${nameOf(noiseLevel)} (the noise_level ${noiseLevel} weights)`,
        `${model} (no such file in it)`,
      );
    return { file: pairedParam(file, kind, flag), noiseLevel };
  }
  const file = pairedParam(model, kind, flag);
  const named = NOISE_LEVELS.find(
    (level) => nameOf(level) === path.basename(file),
  );
  if (named !== undefined && requested !== undefined && named !== requested)
    throw badInput(
      "--noise-level",
      `${named}, the level of ${path.basename(file)} (or a folder of weights)`,
      requested,
    );
  return { file, noiseLevel: named ?? requested ?? DEFAULT_NOISE_LEVEL };
}

// A CUNet net is a .param graph and its .bin weights; both must be there.
function pairedParam(file: string, kind: Waifu2xKind, flag: string): string {
  if (kind !== "waifu2x-cunet") return file;
  const param = file.replace(/\.bin$/, ".param");
  for (const needed of [param, param.replace(/\.param$/, ".bin")]) {
    if (!statSync(needed)?.isFile())
      throw badInput(
        flag,
        "a CUNet .param file with its .bin beside it",
        `${file} (no ${needed})`,
      );
  }
  return param;
}

async function modelSha256(file: string, kind: Waifu2xKind): Promise<string> {
  if (kind !== "waifu2x-cunet") return sha256Of(file);
  // The graph and the weights together: a hash over both hashes.
  const parts = await Promise.all(
    [file, file.replace(/\.param$/, ".bin")].map(sha256Of),
  );
  return crypto.createHash("sha256").update(parts.join("\n")).digest("hex");
}

/** Resizing in this process: lanczos3 (scale 2 or 4 in one step) or none (the face as it is). */
function sharpExecutor(
  upscaler: Upscaler,
  scale: number,
  concurrency: number,
): LocalExecutor {
  return {
    label: upscaler,
    concurrency,
    run: async (request) => {
      const face = await readFace(String(request.in));
      if (upscaler === "none") return { id: request.id, image: face };
      const { width, height } = await sharp(face).metadata();
      const { data, info } = await sharp(face)
        .resize(width * scale, height * scale, { kernel: "lanczos3" })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { id: request.id, raw: { data, info } };
    },
  };
}

/** An external program per face, writing a PNG beside the output under a temporary name. */
function commandExecutor(
  template: CommandTemplate,
  scale: number,
  noiseLevel: number,
  concurrency: number,
): LocalExecutor {
  return {
    label: "command",
    concurrency,
    run: async (request, signal) => {
      const input = String(request.in);
      const face = await readFace(input);
      // Programs such as waifu2x-ncnn-vulkan pick the format from the extension.
      const out = `${request.out}.png`;
      try {
        await runUpscaleCommand(
          template,
          {
            in: input,
            out,
            scale: String(scale),
            noise_level: String(noiseLevel),
          },
          signal,
        );
        const image = await fs.readFile(out).catch(() => {
          throw new Error(
            `upscale command "${template.text}" exited 0 but wrote no file at {out}`,
          );
        });
        await checkScaled(face, image, scale, template);
        return { id: request.id, image };
      } finally {
        await fs.rm(out, { force: true });
      }
    },
  };
}

// A command that ignores {scale}, or wrote something unreadable, is caught here.
async function checkScaled(
  face: Buffer,
  image: Buffer,
  scale: number,
  template: CommandTemplate,
): Promise<void> {
  const before = await sharp(face).metadata();
  const after = await sharp(image)
    .metadata()
    .catch((error: Error) => {
      throw new Error(
        `upscale command "${template.text}" wrote a file that is not an image (${error.message})`,
      );
    });
  const want = `${before.width * scale}x${before.height * scale}`;
  const got = `${after.width}x${after.height}`;
  if (want !== got)
    throw new Error(
      `upscale command "${template.text}" wrote a ${got} image where --scale ${scale} of a ` +
        `${before.width}x${before.height} face is ${want}`,
    );
}

/** A face's bytes, checked to decode; the error names the file, as the sidecar's does. */
async function readFace(file: string): Promise<Buffer> {
  const data = await fs.readFile(file).catch(() => {
    throw new Error(
      `${file}: expected a PNG image, received a path that does not exist`,
    );
  });
  try {
    await sharp(data).stats();
  } catch (error) {
    const head = data.subarray(0, 8);
    const found = head.length
      ? `a file starting with bytes ${[...head].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`
      : "an empty file";
    throw new Error(
      `${file}: expected a PNG image, received ${found} (${(error as Error).message})`,
    );
  }
  return data;
}

/**
 * Encodes the upscaled pixels into the final file. The sidecar left a PNG at
 * `temp`; local upscalers hand over bytes or raw pixels. The encoded image
 * then replaces `temp` and is renamed into place, so the output is whole.
 */
async function finalizeImage(
  job: Job,
  result: ItemResult,
  temp: string,
  final: string,
  encoding: Encoding,
): Promise<void> {
  const upscaled = await upscaledOf(result, temp);
  if (encoding.keepPng) {
    const png = await losslessPng(upscaled);
    await writeFileAtomic(
      path.join(upscaledDir(encoding.outDir), `${job.id}.png`),
      png,
    );
  }
  const encoded = await encodeImage(
    upscaled(),
    encoding.format,
    encoding.quality,
    encoding.mozjpeg,
  );
  await fs.writeFile(temp, encoded);
  await fs.rename(temp, final);
}

type Pixels = () => Sharp;

// The [H, W, 3] uint8 pixels a sidecar wrote for `output: "rgb"`, checked for their size.
async function sidecarPixels(
  temp: string,
  width: number,
  height: number,
): Promise<Pixels> {
  const data = await fs.readFile(temp);
  if (data.length !== width * height * 3) {
    throw new Error(
      `the worker's output: expected ${width * height * 3} bytes of ${width}x${height} RGB, received ${data.length}`,
    );
  }
  return () => sharp(data, { raw: { width, height, channels: 3 } });
}

async function upscaledOf(
  result: ItemResult,
  temp: string,
): Promise<Pixels & { bytes?: Buffer }> {
  const raw = result.raw as { data: Buffer; info: OutputInfo } | undefined;
  if (raw) {
    const { width, height, channels } = raw.info;
    return () => sharp(raw.data, { raw: { width, height, channels } });
  }
  if (typeof result.width === "number" && typeof result.height === "number") {
    return sidecarPixels(temp, result.width, result.height);
  }
  const bytes =
    (result.image as Buffer | undefined) ?? (await fs.readFile(temp));
  return Object.assign(() => sharp(bytes), { bytes });
}

// The upscaler's own PNG when it made one, else the pixels saved losslessly.
async function losslessPng(
  upscaled: Pixels & { bytes?: Buffer },
): Promise<Buffer> {
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  if (upscaled.bytes?.subarray(0, 4).equals(PNG)) return upscaled.bytes;
  return upscaled().png().toBuffer();
}

function upscaledDir(outDir: string): string {
  return path.join(outDir, "upscaled");
}

// Every output the jobs name that exists now, done this run or before.
async function outputBytes(
  outDir: string,
  jobs: Job[],
): Promise<{ files: number; totalBytes: number }> {
  const sizes = await mapLimit(jobs, 64, (job) =>
    fs.stat(path.join(outDir, job.file)).then(
      (stat) => stat.size,
      () => undefined,
    ),
  );
  const found = sizes.filter((size): size is number => size !== undefined);
  return { files: found.length, totalBytes: found.reduce((a, b) => a + b, 0) };
}

function statSync(file: string) {
  return fsSync.statSync(file, { throwIfNoEntry: false });
}

function readdirSync(dir: string): string[] {
  return fsSync.readdirSync(dir);
}

/** "images: 8 done ... -> DIR/site; 8 images, average 11.2 KB, total 89.6 KB", then failures. */
export function imagesSummaryLine(summary: ImagesSummary): string {
  const average = summary.files ? summary.totalBytes / summary.files : 0;
  return `${summary.files} images, average ${formatBytes(average)}, total ${formatBytes(summary.totalBytes)}`;
}

/** 61440 -> "60.0 KB", binary units as file managers show them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${Math.round(value)} B`
    : `${value.toFixed(1)} ${units[unit]}`;
}
