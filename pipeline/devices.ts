// --devices: which GPUs (or the CPU) get a worker.
import os from "node:os";
import { execa } from "execa";
import { badInput, UserError } from "./errors.ts";
import { pythonEnv, pythonPath } from "./python.ts";
import type { Device } from "./sidecar.ts";

/**
 * Parses "auto", "cpu" or a GPU list like "0,1,3". Indexes count the GPUs torch
 * sees, so under an inherited CUDA_VISIBLE_DEVICES=2,3 (Slurm sets one) GPU 0
 * is physical GPU 2; "auto" takes them all, a list must stay within them.
 */
export async function resolveDevices(spec: unknown): Promise<Device[]> {
  const text = String(spec ?? "auto").trim();
  if (text === "cpu") return [{ name: "cpu" }];
  if (text === "auto") {
    const count = await cudaDeviceCount();
    if (count === 0) return [{ name: "cpu" }];
    return Array.from({ length: count }, (_, i) => gpuDevice(i));
  }
  const wanted = parseGpuList(text); // before asking torch, so a typo fails at once
  const count = await cudaDeviceCount();
  if (wanted.some((index) => index >= count)) throw unseenGpus(text, count);
  return wanted.map((index) => gpuDevice(index));
}

/** The GPU indexes of "0,1,3", each once; anything else is refused naming --devices. */
export function parseGpuList(text: string): number[] {
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
  return [...seen];
}

/**
 * Torch's GPU `index` as a worker device: its CUDA_VISIBLE_DEVICES entry is the
 * index-th entry of the inherited list (an index, UUID or MIG name), if any.
 */
export function gpuDevice(
  index: number,
  inherited = process.env.CUDA_VISIBLE_DEVICES,
): Device {
  const listed = inherited?.trim()
    ? inherited.split(",").map((entry) => entry.trim())
    : undefined;
  return {
    name: `cuda:${index}`,
    cudaIndex: index,
    cudaVisible: listed ? listed[index] : String(index),
  };
}

function unseenGpus(text: string, count: number): UserError {
  if (count === 0)
    return badInput(
      "--devices",
      `GPUs that torch sees, but torch in ${pythonPath()} sees none ` +
        "(use --devices cpu, or set PYTHON to a Python whose torch has CUDA)",
      `"${text}"`,
    );
  return badInput(
    "--devices",
    `GPU indexes below ${count}, the GPUs that torch sees`,
    `"${text}"`,
  );
}

async function cudaDeviceCount(): Promise<number> {
  const result = await execa(pythonPath(), ["-m", "twdne.devices"], {
    env: pythonEnv(),
    reject: false,
  });
  if (result.exitCode !== 0) {
    throw new UserError(
      `--devices: could not ask torch for GPUs with ${pythonPath()} ` +
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
