// twdne faces through the real CLI and real sidecars on CPU (DCGAN and the null model).
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import t from "tap";
import {
  DCGAN,
  faceIds,
  manifestLines,
  range,
  tempDir,
  twdne,
} from "./helpers/cli.ts";
import { projectRoot } from "../pipeline/python.ts";

const SHARED = path.resolve(projectRoot, "../shared");

async function pixels(file: string): Promise<Buffer> {
  return sharp(file).raw().toBuffer();
}

t.test(
  "DCGAN: 64 anime faces, identical for any batch size or worker count",
  async (t) => {
    const one = tempDir(t, "dcgan-a");
    const two = tempDir(t, "dcgan-b");
    const base = [
      "faces",
      "--network",
      DCGAN,
      "--seeds",
      "0-63",
      "--devices",
      "cpu",
    ];
    const a = await twdne([...base, "--out", one, "--batch", "16"]);
    t.equal(a.code, 0, a.stderr);
    t.match(a.stderr, /faces: 64 done, 0 skipped, 0 failed of 64/);
    const b = await twdne([
      ...base,
      "--out",
      two,
      "--batch",
      "5",
      "--workers-per-device",
      "2",
    ]);
    t.equal(b.code, 0, b.stderr);
    t.same(faceIds(one), range(0, 63));
    const meta = await sharp(path.join(one, "faces", "7.png")).metadata();
    t.same([meta.width, meta.height, meta.channels], [64, 64, 3]);
    for (const id of range(0, 63)) {
      const [x, y] = await Promise.all(
        [one, two].map((dir) => pixels(path.join(dir, "faces", `${id}.png`))),
      );
      if (!x.equals(y))
        t.fail(`face ${id} differs between batch 16 and batch 5 x 2 workers`);
    }
    const lines = manifestLines(one);
    t.equal(lines.length, 64);
    t.match(lines[0], {
      id: 0,
      seed: 0,
      file: "faces/0.png",
      noise_mode: "const",
      model_kind: "dcgan",
      model_sha256: /^[0-9a-f]{64}$/,
    });
  },
);

t.test("bad flags give one exact message and exit 2", async (t) => {
  const out = tempDir(t, "flags");
  const cases: [string[], string][] = [
    [
      ["--seeds", "3-1"],
      '--seeds: expected a range that counts up (low-high), received "3-1"',
    ],
    [
      ["--seeds", "0-3", "--psi", "high"],
      "--psi: expected a number from -2 to 2 (truncation psi), received high",
    ],
    [
      ["--seeds", "0-3", "--shard", "2/2"],
      "--shard: expected K/N with 0 <= K < N, such as 0/4, received 2/2",
    ],
    [
      ["--seeds", "0-3", "--devices", "gpu0"],
      '--devices: expected auto, cpu, or GPU indexes like 0,1,3, received "gpu0"',
    ],
    [
      ["--seeds", "0-3", "--batch", "0"],
      "--batch: expected a whole number of 1 or more, received 0 (number)",
    ],
    [
      ["--seeds", "0-3", "--network", "nope.pkl"],
      "--network: expected a model file, received nope.pkl (no such file)",
    ],
  ];
  for (const [flags, message] of cases) {
    const args = ["faces", "--out", out, "--network", DCGAN, ...flags];
    const result = await twdne(args);
    t.equal(result.code, 2, flags.join(" "));
    t.equal(result.stderr.trim(), `twdne: ${message}`);
  }
  t.same(fs.readdirSync(out), [], "nothing written");
});

t.test(
  "corrupt, truncated or unknown model files: one clear error, no output",
  async (t) => {
    const dir = tempDir(t, "models");
    const bytes = fs.readFileSync(DCGAN);
    const files = {
      "truncated.h5": bytes.subarray(0, 4096),
      "corrupt.h5": Buffer.concat([
        bytes.subarray(0, 8),
        Buffer.alloc(bytes.length - 8, 7),
      ]),
      "notes.bin": Buffer.from("these are not weights\n"),
    };
    const expected = {
      "truncated.h5":
        /truncated\.h5: expected a Keras HDF5 model file, received a file h5py cannot open/,
      "corrupt.h5":
        /corrupt\.h5: expected a Keras HDF5 model file, received a file h5py cannot open/,
      "notes.bin":
        /notes\.bin: expected a model file of a known kind \(.*\), received a file starting with bytes 74 68 65 73/,
    };
    for (const [name, data] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, name), data);
      const out = path.join(dir, `out-${name}`);
      const result = await twdne([
        "faces",
        "--network",
        path.join(dir, name),
        "--seeds",
        "0-3",
        "--out",
        out,
        "--devices",
        "cpu",
      ]);
      t.equal(result.code, 2, name);
      const lines = result.stderr.trim().split("\n");
      t.equal(lines.length, 1, `${name}: one line`);
      t.match(lines[0], expected[name as keyof typeof expected]);
      t.notOk(fs.existsSync(out), `${name}: no output folder`);
    }
  },
);

t.test("inspect describes a model or says why it cannot load", async (t) => {
  const good = await twdne(["inspect", DCGAN, "--json"]);
  t.equal(good.code, 0);
  t.match(JSON.parse(good.stdout), {
    ok: true,
    info: {
      kind: "dcgan",
      resolution: 64,
      z_dim: 128,
      sha256: /^[0-9a-f]{64}$/,
    },
  });
  const text = await twdne(["inspect", DCGAN]);
  t.match(text.stdout, /^kind\s+dcgan$/m);
  t.match(text.stdout, /^resolution\s+64$/m);
  const dir = tempDir(t, "inspect");
  const hdf5Signature = Buffer.from([
    0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a,
  ]);
  fs.writeFileSync(
    path.join(dir, "x.h5"),
    Buffer.concat([hdf5Signature, Buffer.from("garbage")]),
  );
  const bad = await twdne(["inspect", path.join(dir, "x.h5")]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /x\.h5: expected a Keras HDF5 model file/);

  // A GPT-2 folder without BPE files takes them from --vocab
  const gpt2 = path.join(SHARED, "fixtures/gpt2/tiny");
  const noVocab = await twdne(["inspect", gpt2]);
  t.equal(noVocab.code, 1);
  t.match(noVocab.stderr, /expected encoder\.json and vocab\.bpe/);
  const vocab = path.join(SHARED, "fixtures/gpt2");
  const withVocab = await twdne(["inspect", gpt2, "--vocab", vocab, "--json"]);
  t.equal(withVocab.code, 0, withVocab.stderr);
  t.match(JSON.parse(withVocab.stdout).info, { kind: "gpt2", vocab });
});
