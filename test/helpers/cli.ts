// Runs the real twdne CLI as a child process, for tests.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa, type Options } from "execa";
import { projectRoot } from "../../pipeline/python.ts";

export const DCGAN = path.resolve(
  projectRoot,
  "../shared/models/dcgan-anime/generator.h5",
);
export const BIN = path.join(projectRoot, "pipeline", "bin", "twdne.js");

/** A config with no settings, so tests see only the flags they pass. */
export const EMPTY_CONFIG = path.join(
  projectRoot,
  "test",
  "helpers",
  "empty.config.json",
);

// Every twdne the tests start, directly or through twdne(), reads the empty config.
process.env.TWDNE_CONFIG = EMPTY_CONFIG;

/** Runs `twdne ...args` and returns its exit code, stdout and stderr; never throws. */
export async function twdne(args: string[], options: Options = {}) {
  const result = await execa("node", [BIN, ...args], {
    reject: false,
    cwd: projectRoot,
    ...options,
  });
  return {
    code: result.exitCode,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/** A fresh folder under the OS temp dir, removed when the test ends. */
export function tempDir(
  t: { teardown: (fn: () => void) => void },
  name: string,
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `twdne-${name}-`));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The ids of the PNGs in DIR/faces, sorted. */
export function faceIds(outDir: string): number[] {
  const dir = path.join(outDir, "faces");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => /^\d+\.png$/.test(name))
    .map((name) => Number.parseInt(name, 10))
    .sort((a, b) => a - b);
}

/** Every manifest line of a stage, parsed (torn lines fail the parse on purpose). */
export function manifestLines(outDir: string, stage = "faces"): any[] {
  const file = path.join(outDir, "manifests", `${stage}.jsonl`);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

export function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
