// `twdne inspect`: what a model file is, or why it cannot be loaded.
import path from "node:path";
import { execa } from "execa";
import { UserError } from "./errors.ts";
import { checkModelPath } from "./model-file.ts";
import { pythonEnv, pythonPath } from "./python.ts";
import { describeExit, tail } from "./exit-reason.ts";

export interface InspectReport {
  ok: boolean;
  info?: Record<string, unknown>;
  error?: { kind: string; message: string };
}

/** Asks the sidecar to load the file on CPU and describe it; `vocab` is GPT-2's BPE folder. */
export async function inspectModel(
  file: string,
  kind = "auto",
  vocab?: string,
): Promise<InspectReport> {
  const model = checkModelPath(file, "FILE");
  const options = vocab ? { vocab: path.resolve(vocab) } : {};
  const result = await execa(
    pythonPath(),
    ["-m", "twdne.inspect_model", model, kind, JSON.stringify(options)],
    {
      env: pythonEnv(),
      reject: false,
    },
  );
  const lastLine = String(result.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(lastLine);
  } catch {
    const how = describeExit(result.exitCode ?? null, result.signal ?? null);
    throw new UserError(
      `inspect ${file}: the sidecar ended with ${how}: ${tail(String(result.stderr), 4)}`,
    );
  }
}

/** "key: value" lines, nested values as JSON. */
export function formatInfo(info: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(info).map((key) => key.length));
  return Object.entries(info)
    .map(
      ([key, value]) =>
        `${key.padEnd(width)}  ${typeof value === "object" ? JSON.stringify(value) : String(value)}`,
    )
    .join("\n");
}
