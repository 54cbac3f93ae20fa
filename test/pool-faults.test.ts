// The worker pool under faults, with the null model in real sidecar processes on CPU.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import sharp from "sharp";
import t from "tap";
import {
  BIN,
  faceIds,
  manifestLines,
  range,
  tempDir,
  twdne,
} from "./helpers/cli.ts";
import { projectRoot } from "../pipeline/python.ts";

const NULL_MODEL = [
  "--kind",
  "null",
  "--network",
  path.join(projectRoot, "package.json"),
];

function nullFaces(out: string, seeds: string, ...flags: string[]): string[] {
  return [
    "faces",
    ...NULL_MODEL,
    "--seeds",
    seeds,
    "--out",
    out,
    "--devices",
    "cpu",
    ...flags,
  ];
}

function env(fault: string) {
  return { env: { ...process.env, TWDNE_FAULT: fault } };
}

/** Latest manifest entry per id, and how many lines each id has. */
function manifestById(out: string) {
  const latest = new Map<number, any>();
  const counts = new Map<number, number>();
  for (const line of manifestLines(out)) {
    latest.set(line.id, line);
    counts.set(line.id, (counts.get(line.id) ?? 0) + 1);
  }
  return { latest, counts };
}

function hiddenTemps(out: string): string[] {
  return fs
    .readdirSync(path.join(out, "faces"))
    .filter((name) => name.startsWith("."));
}

t.test(
  "a worker killed mid-batch is restarted and every id is done once",
  async (t) => {
    const out = tempDir(t, "kill-worker");
    const marker = path.join(out, "killed");
    const result = await twdne(
      nullFaces(out, "0-39", "--batch", "8", "--workers-per-device", "2"),
      env(`kill_once=${marker}`),
    );
    t.equal(result.code, 0, result.stderr);
    t.ok(fs.existsSync(marker), "the fault fired");
    t.match(result.stderr, /40 done, 0 skipped, 0 failed of 40/);
    t.same(faceIds(out), range(0, 39));
    const { counts } = manifestById(out);
    t.same(
      [...counts.keys()].sort((a, b) => a - b),
      range(0, 39),
    );
    t.ok(
      [...counts.values()].every((n) => n === 1),
      "each id recorded once",
    );
    t.same(hiddenTemps(out), [], "no temporary files left");
  },
);

t.test(
  "an out-of-memory answer halves the batch and the run completes",
  async (t) => {
    const out = tempDir(t, "oom");
    const result = await twdne(
      nullFaces(out, "0-31", "--batch", "16"),
      env("oom_above=5"),
    );
    t.equal(result.code, 0, result.stderr);
    t.match(result.stderr, /out of memory at batch 16, retrying as 8/);
    t.match(result.stderr, /out of memory at batch 8, retrying as 4/);
    t.same(faceIds(out), range(0, 31));
  },
);

t.test("two workers share one queue without duplicates", async (t) => {
  const out = tempDir(t, "share");
  const result = await twdne(
    nullFaces(out, "0-47", "--batch", "3", "--workers-per-device", "2"),
    env("delay=0.05"),
  );
  t.equal(result.code, 0, result.stderr);
  const lines = manifestLines(out);
  t.equal(lines.length, 48, "48 results for 48 ids");
  t.equal(new Set(lines.map((line) => line.id)).size, 48, "no id twice");
  const workers = new Set(lines.map((line) => line.worker));
  t.same([...workers].sort(), ["cpu#0", "cpu#1"], "both workers took batches");
});

t.test(
  "what keeps failing is reported by id and cause, the rest finishes",
  async (t) => {
    const out = tempDir(t, "fail");
    const result = await twdne(
      nullFaces(out, "0-11", "--batch", "4", "--max-attempts", "2"),
      env("fail_ids=5:9"),
    );
    t.equal(result.code, 1);
    t.match(result.stderr, /10 done, 0 skipped, 2 failed of 12/);
    t.match(result.stderr, /failed 5: injected failure for id 5/);
    t.match(result.stderr, /failed 9: injected failure for id 9/);
    t.same(faceIds(out), [0, 1, 2, 3, 4, 6, 7, 8, 10, 11]);
  },
);

t.test(
  "a worker that always dies: bounded restarts, every id reported",
  async (t) => {
    const out = tempDir(t, "always");
    const result = await twdne(
      nullFaces(out, "0-5", "--batch", "3"),
      env("kill_always"),
    );
    t.equal(result.code, 1);
    t.match(result.stderr, /0 done, 0 skipped, 6 failed of 6/);
    t.match(result.stderr, /failed 0-5: worker cpu ended with signal SIGKILL/);
  },
);

t.test(
  "kill -9 of the orchestrator, then a rerun: exactly the ids, all decodable",
  async (t) => {
    const out = tempDir(t, "kill-orch");
    const args = nullFaces(out, "0-29", "--batch", "2");
    const child = execa("node", [BIN, ...args], {
      cwd: projectRoot,
      reject: false,
      ...env("delay=0.3"),
    });
    while (faceIds(out).length < 6) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await child;
    const partial = faceIds(out).length;
    t.ok(partial >= 6 && partial < 30, `killed with ${partial} of 30 done`);

    const rerun = await twdne(args);
    t.equal(rerun.code, 0, rerun.stderr);
    t.match(
      rerun.stderr,
      new RegExp(
        `${30 - partial} done, ${partial} skipped|\\d+ done, \\d+ skipped, 0 failed of 30`,
      ),
    );
    t.same(faceIds(out), range(0, 29));
    t.same(hiddenTemps(out), [], "stale temporary files removed");
    const { latest } = manifestById(out);
    for (const id of range(0, 29)) {
      const file = path.join(out, "faces", `${id}.png`);
      await sharp(file).raw().toBuffer();
      t.equal(
        latest.get(id)?.bytes,
        fs.statSync(file).size,
        `manifest matches face ${id}`,
      );
    }
  },
);

t.test(
  "resume redoes what is missing, empty, truncated or made otherwise",
  async (t) => {
    const out = tempDir(t, "resume");
    t.equal((await twdne(nullFaces(out, "0-9", "--psi", "0.5"))).code, 0);
    const again = await twdne(nullFaces(out, "0-9", "--psi", "0.5"));
    t.match(again.stderr, /0 done, 10 skipped, 0 failed of 10/);

    const face = (id: number) => path.join(out, "faces", `${id}.png`);
    fs.rmSync(face(1));
    fs.writeFileSync(face(2), "");
    fs.truncateSync(face(3), fs.statSync(face(3)).size - 5);
    const repaired = await twdne(nullFaces(out, "0-9", "--psi", "0.5"));
    t.match(repaired.stderr, /3 done, 7 skipped, 0 failed of 10/);
    t.match(
      repaired.stderr,
      /redoing 2 \(empty\); 3 \(\d+ bytes where the manifest recorded \d+\)/,
    );

    const changed = await twdne(nullFaces(out, "0-9", "--psi", "0.7"));
    t.match(changed.stderr, /redoing 0-9 \(made with other settings\)/);
    t.match(changed.stderr, /10 done, 0 skipped/);
    const forced = await twdne(
      nullFaces(out, "0-4", "--psi", "0.7", "--force"),
    );
    t.match(forced.stderr, /5 done, 0 skipped/);
  },
);

t.test(
  "Ctrl-C stops cleanly: no partial file, workers end, summary says so",
  async (t) => {
    const out = tempDir(t, "sigint");
    const child = execa(
      "node",
      [BIN, ...nullFaces(out, "0-99", "--batch", "2")],
      {
        cwd: projectRoot,
        reject: false,
        ...env("delay=0.2"),
      },
    );
    while (faceIds(out).length < 4) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGINT");
    const result = await child;
    t.equal(result.exitCode, 130);
    t.match(String(result.stderr), /faces: interrupted: \d+ done/);
    t.same(hiddenTemps(out), [], "no temporary file left");
    const done = faceIds(out);
    t.ok(done.length < 100, "stopped early");
    t.equal(
      manifestLines(out).length,
      done.length,
      "every finished face is in the manifest",
    );
  },
);

t.test("--dry-run prints the plan on stdout and writes nothing", async (t) => {
  const out = tempDir(t, "dry");
  const result = await twdne(
    nullFaces(out, "0-9", "--shard", "1/3", "--dry-run", "--psi", "0.6"),
  );
  t.equal(result.code, 0, result.stderr);
  const plan = result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  t.same(
    plan.map((item) => item.id),
    [1, 4, 7],
  );
  t.match(plan[0], { seed: 1, psi: 0.6, file: "faces/1.png" });
  t.same(fs.readdirSync(out), []);
});
