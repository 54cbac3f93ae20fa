// twdne snippets through the real CLI and sidecars: char-RNN, tiny GPT-2, and the two-stage chain.
import fs from "node:fs";
import path from "node:path";
import t from "tap";
import { projectRoot } from "../pipeline/python.ts";
import { attemptSeed } from "../pipeline/snippet-text.ts";
import { manifestLines, range, tempDir, twdne } from "./helpers/cli.ts";

const SHARED = path.resolve(projectRoot, "../shared");
const CHARRNN = path.join(SHARED, "models/charrnn/charlotte_bronte");
const TINY_GPT2 = path.join(SHARED, "fixtures/gpt2/tiny");
const VOCAB = path.join(SHARED, "fixtures/gpt2");
const PROMPTS = path.join(projectRoot, "data/prompts");
const OUT = path.join(projectRoot, "test/out/snippets");

const snippet = (out: string, id: number) =>
  path.join(out, "site", `snippet-${id}.txt`);

function written(out: string): number[] {
  const dir = path.join(out, "site");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => /^snippet-(\d+)\.txt$/.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

t.test(
  "char-RNN: 20 snippets of whole sentences, kept for people to read",
  async (t) => {
    fs.rmSync(OUT, { recursive: true, force: true });
    const args = ["snippets", "--backend", "charrnn", "--model", CHARRNN];
    args.push(
      "--prompt-file",
      path.join(PROMPTS, "charrnn.txt"),
      "--ids",
      "0-19",
    );
    args.push("--out", OUT, "--devices", "cpu", "--temperature", "0.6");
    args.push("--max-new-tokens", "600", "--min-chars", "300");
    const result = await twdne(args);
    t.equal(result.code, 0, result.stderr);
    t.same(written(OUT), range(0, 19));
    const prompt = fs
      .readFileSync(path.join(PROMPTS, "charrnn.txt"), "utf8")
      .trim();
    for (const id of range(0, 19)) {
      const text = fs.readFileSync(snippet(OUT, id), "utf8");
      t.ok(text.length >= 300, `snippet ${id} has ${text.length} characters`);
      t.ok(text.startsWith(prompt), `snippet ${id} opens with the prompt`);
      t.match(
        text.trimEnd(),
        /[.!?]["')\]]*$/,
        `snippet ${id} ends a sentence`,
      );
    }
    const lines = manifestLines(OUT, "snippets");
    t.equal(lines.length, 20);
    t.match(lines[0], {
      backend: "charrnn",
      model_sha256: /^[0-9a-f]{64}$/,
      prompt_sha256: /^[0-9a-f]{64}$/,
      temperature: 0.6,
      max_new_tokens: 600,
      min_chars: 300,
      attempts: Number,
      sample_seed: Number,
    });

    const again = await twdne(args);
    t.match(again.stderr, /0 done, 20 skipped/);
    const hotter = await twdne([
      ...args.slice(0, -6),
      "--temperature",
      "0.7",
      "--max-new-tokens",
      "600",
      "--min-chars",
      "300",
      "--ids",
      "0-1",
    ]);
    t.match(hotter.stderr, /redoing 0-1 \(made with other settings\)/);
  },
);

t.test(
  "end-of-text at once: resampled up to the bound, reported, never written",
  async (t) => {
    const out = tempDir(t, "eot");
    const result = await twdne([
      "snippets",
      "--backend",
      "gpt2",
      "--model",
      TINY_GPT2,
      "--vocab",
      VOCAB,
      "--prompt-file",
      path.join(PROMPTS, "anime-keywords.txt"),
      "--ids",
      "0-3",
      "--model-options",
      '{"eot_bias": 1000}',
      "--max-new-tokens",
      "40",
      "--max-attempts",
      "3",
      "--out",
      out,
      "--devices",
      "cpu",
    ]);
    t.equal(result.code, 1);
    t.match(result.stderr, /0 done, 0 skipped, 4 failed of 4/);
    // Only the prompt's lead-in is left: "In the first episode," (21 characters).
    t.match(
      result.stderr,
      /failed 0-3: too short \(21 characters, at least 250 wanted\)/,
    );
    t.same(written(out), []);
  },
);

t.test(
  "too short: a tiny GPT-2 that runs out of tokens is reported by id",
  async (t) => {
    const out = tempDir(t, "short");
    const result = await twdne([
      "snippets",
      "--backend",
      "gpt2",
      "--model",
      TINY_GPT2,
      "--vocab",
      VOCAB,
      "--prompt-file",
      path.join(PROMPTS, "anime-keywords.txt"),
      "--ids",
      "5,9",
      "--max-new-tokens",
      "4",
      "--min-chars",
      "2000",
      "--max-attempts",
      "2",
      "--out",
      out,
      "--devices",
      "cpu",
    ]);
    t.equal(result.code, 1);
    t.match(result.stderr, /failed 5,9: (too short|empty)/);
    t.same(written(out), []);
  },
);

t.test("bad flags name the flag", async (t) => {
  const out = tempDir(t, "flags");
  const base = [
    "snippets",
    "--backend",
    "charrnn",
    "--model",
    CHARRNN,
    "--out",
    out,
  ];
  const cases: [string[], string][] = [
    [
      [
        "--ids",
        "0-3",
        "--temperature",
        "-1",
        "--prompt-file",
        path.join(PROMPTS, "charrnn.txt"),
      ],
      "--temperature: expected a number from 0 to 5, received -1 (number)",
    ],
    [
      [
        "--ids",
        "0-3",
        "--model-options",
        "[1]",
        "--prompt-file",
        path.join(PROMPTS, "charrnn.txt"),
      ],
      '--model-options: expected a JSON object such as {"batch_size": 32}, received [1]',
    ],
    [
      ["--ids", "0-3", "--prompt-file", "missing.txt"],
      `--prompt-file: expected a readable text file, received ${path.resolve(projectRoot, "missing.txt")} (no such file)`,
    ],
    [
      ["--ids", "x", "--prompt-file", path.join(PROMPTS, "charrnn.txt")],
      '--ids: expected numbers and ranges like 0,7,10-19, received "x"',
    ],
  ];
  for (const [flags, message] of cases) {
    const result = await twdne([...base, ...flags]);
    t.equal(result.code, 2, flags.join(" "));
    t.equal(result.stderr.trim(), `twdne: ${message}`);
  }
});

t.test(
  "two-stage chain: synopsis lines parsed, short ones resampled, plot appended",
  async (t) => {
    const dir = tempDir(t, "twostage");
    const long =
      "A girl who forgets every night learns that the lighthouse keeper of her town writes her a letter each morning, and decides to find out who is really writing them before the autumn festival.";
    const plot =
      " she climbs the lighthouse stairs and finds a second letter, written in her own hand, which warns her not to trust the keeper. The episode ends with the light going out over the harbour while the whole town watches from the pier, and nobody can say who switched it off.";
    const synopses = {
      replies: [
        "a line without the separator",
        "Short Title|Too short to keep.",
        `Lighthouse Letters|${long} (Source: Test)`,
      ],
    };
    const plots = { replies: [plot, " too short."] };
    fs.writeFileSync(path.join(dir, "synopses.json"), JSON.stringify(synopses));
    fs.writeFileSync(path.join(dir, "plots.json"), JSON.stringify(plots));
    const out = path.join(dir, "run");
    const result = await twdne([
      "snippets",
      "--backend",
      "twostage",
      "--kind",
      "scripted",
      "--synopsis-model",
      path.join(dir, "synopses.json"),
      "--model",
      path.join(dir, "plots.json"),
      "--ids",
      "0-5",
      "--max-attempts",
      "12",
      "--out",
      out,
      "--devices",
      "cpu",
    ]);
    // Which ids succeed follows from the scripted replies: reply = replies[seed % n].
    const succeeds = (id: number, n: number, good: number) =>
      range(0, 11).some((attempt) => attemptSeed(id, attempt) % n === good);
    const expected = range(0, 5).filter(
      (id) => succeeds(id, 3, 2) && succeeds(id, 2, 0),
    );
    t.same(written(out), expected, result.stderr);
    for (const id of expected) {
      const text = fs.readFileSync(snippet(out, id), "utf8");
      t.equal(
        text,
        `_Lighthouse Letters_: ${long}\n\nIn the first episode of this anime,${plot}\n`,
      );
    }
    const synopsisLines = manifestLines(out, "synopses");
    t.ok(
      synopsisLines.some((line) => line.attempts > 1),
      "malformed and short synopses were resampled",
    );
    t.equal(result.code, expected.length === 6 ? 0 : 1);
  },
);
