// --devices: GPU indexes as torch sees them, mapped onto an inherited CUDA_VISIBLE_DEVICES.
import fs from "node:fs";
import t from "tap";
import { gpuDevice } from "../pipeline/devices.ts";
import { DCGAN, tempDir, twdne } from "./helpers/cli.ts";

t.test(
  "a worker's CUDA_VISIBLE_DEVICES follows the inherited list",
  async (t) => {
    t.match(gpuDevice(3, undefined), { name: "cuda:3", cudaVisible: "3" });
    t.match(gpuDevice(1, ""), { cudaVisible: "1" }, "empty: nothing inherited");
    t.match(gpuDevice(0, "2,3"), { name: "cuda:0", cudaVisible: "2" });
    t.match(gpuDevice(1, "2, 3"), { name: "cuda:1", cudaVisible: "3" });
    t.match(
      gpuDevice(1, "GPU-5ab1,MIG-9f0c"),
      { cudaVisible: "MIG-9f0c" },
      "UUIDs and MIG names pass through",
    );
  },
);

t.test(
  "GPUs that torch does not see are refused before any work",
  async (t) => {
    const out = tempDir(t, "devices");
    // An empty CUDA_VISIBLE_DEVICES hides every GPU from torch, on any machine
    const env = { ...process.env, CUDA_VISIBLE_DEVICES: "" };
    const args = ["faces", "--network", DCGAN, "--seeds", "0-3", "--out", out];
    const result = await twdne([...args, "--devices", "0,1"], { env });
    t.equal(result.code, 2, result.stderr);
    t.match(
      result.stderr.trim(),
      /^twdne: --devices: expected GPUs that torch sees, but torch in \S+ sees none \(use --devices cpu, or set PYTHON to a Python whose torch has CUDA\), received "0,1"$/,
    );
    t.same(fs.readdirSync(out), [], "nothing written");
  },
);
