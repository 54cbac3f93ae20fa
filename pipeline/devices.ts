// --devices: which GPUs (or the CPU) get a worker.
import os from "node:os";
import { execa } from "execa";
import { badInput, UserError } from "./errors.ts";
import { pythonEnv, pythonPath } from "./python.ts";
import type { Device } from "./sidecar.ts";

/** Parses "auto", "cpu" or a GPU list like "0,1,3". "auto" asks torch what it sees. */
export async function resolveDevices(spec: unknown): Promise<Device[]> {
  const text = String(spec ?? "auto").trim();
  if (text === "cpu") return [{ name: "cpu" }];
  if (text === "auto") {
    const count = await cudaDeviceCount();
    if (count === 0) return [{ name: "cpu" }];
    return Array.from({ length: count }, (_, i) => ({
      name: `cuda:${i}`,
      cudaIndex: i,
    }));
  }
  return parseGpuList(text);
}

/** The GPU indexes of "0,1,3", each once; anything else is refused naming --devices. */
export function parseGpuList(text: string): Device[] {
  const seen = new Set<number>();
  for (const part of text.split(",")) {
    if (!/^\d+$/.test(part.trim())) {
      throw badInput(
        "--devices",
        "auto, cpu, or GPU indexes like 0,1,3",
        `"${text}"`,
      );
    }
    seen.add(Number(part));
  }
  return [...seen].map((i) => ({ name: `cuda:${i}`, cudaIndex: i }));
}

async function cudaDeviceCount(): Promise<number> {
  const result = await execa(pythonPath(), ["-m", "twdne.devices"], {
    env: pythonEnv(),
    reject: false,
  });
  if (result.exitCode !== 0) {
    throw new UserError(
      `--devices auto: could not ask torch for GPUs with ${pythonPath()} ` +
        `(exit code ${result.exitCode}): ${String(result.stderr).trim().split("\n").pop()}`,
    );
  }
  return JSON.parse(String(result.stdout)).cuda;
}

/** Torch threads per CPU worker, so workers sharing the CPU do not oversubscribe it. */
export function threadsPerWorker(
  devices: Device[],
  workersPerDevice: number,
): number | undefined {
  if (devices.some((device) => device.cudaIndex !== undefined))
    return undefined;
  return Math.max(1, Math.floor(os.availableParallelism() / workersPerDevice));
}
