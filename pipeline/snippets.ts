// The snippets stage: a text model -> cleaned plot text -> DIR/site/snippet-<id>.txt.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "./atomic.ts";
import { expandGroups, loadConfig, type Config } from "./config.ts";
import { resolveDevices, threadsPerWorker } from "./devices.ts";
import { badInput } from "./errors.ts";
import {
  checkPositive,
  shardSelector,
  type StageFlags,
} from "./stage-flags.ts";
import { parseIdList } from "./ids.ts";
import { checkModelPath, sha256Of } from "./model-file.ts";
import { projectRoot } from "./python.ts";
import { attemptSeed, cleanSnippet, unwrapLines } from "./snippet-text.ts";
import {
  runStage,
  type Job,
  type StageOptions,
  type StageSummary,
} from "./stage.ts";
import { formatSynopsis, parseSynopsis } from "./synopsis-line.ts";

export const BACKENDS = ["gpt2", "twostage", "charrnn"] as const;

export interface SnippetsOptions extends StageFlags {
  backend?: string;
  model?: string;
  synopsisModel?: string;
  vocab?: string;
  /** Sidecar model kind, when not the backend's own (tests use "scripted"). */
  kind?: string;
  /** JSON object of sidecar model options, e.g. {"batch_size": 32}. */
  modelOptions?: string;
  promptFile?: string;
  synopsisPromptFile?: string;
  plotPromptFile?: string;
  ids?: string;
  temperature?: number;
  topK?: number;
  topP?: number;
  maxNewTokens?: number;
  minChars?: number;
  minSynopsisChars?: number;
}

/** The snippet settings after flags, config and defaults, validated. */
interface Resolved {
  backend: (typeof BACKENDS)[number];
  kind?: string;
  modelOptions: Record<string, unknown>;
  ids: number[];
  sampling: Record<string, number>;
  minChars: number;
  minSynopsisChars: number;
  maxAttempts: number;
  stage: Omit<
    StageOptions,
    "stage" | "format" | "jobs" | "sidecar" | "op" | "params" | "maxAttempts"
  >;
}

/** Writes the snippets the flags and config ask for; resolves to the last stage's summary. */
export async function runSnippets(
  options: SnippetsOptions,
): Promise<StageSummary> {
  const config = loadConfig(options.config);
  const pick = settingsFrom(config);
  const resolved = await resolve(options, config, pick);
  const model = checkModelPath(
    pick.path(options.model, "model", "--model"),
    "--model",
  );
  const vocab = pick.optionalPath(options.vocab, "vocab");
  if (resolved.backend !== "twostage") {
    const prompt = readPrompt(
      pick.path(options.promptFile, "prompt_file", "--prompt-file"),
      "--prompt-file",
    );
    return textStage(resolved, {
      stage: "snippets",
      kind: resolved.backend,
      model,
      vocab,
      prompt: () => prompt,
      promptSha: sha256Text(prompt),
      leadIn: lastParagraph(prompt),
      file: (id) => path.join("site", `snippet-${id}.txt`),
      minChars: resolved.minChars,
      // The char-RNN learned hard-wrapped prose: its line breaks are not paragraphs.
      compose: (text) =>
        resolved.backend === "charrnn" ? unwrapLines(text) : text,
    });
  }
  return twoStage(options, pick, resolved, model, vocab);
}

/** Reads a setting from its flag, else the config's snippets section, else a default. */
interface Pick {
  <T>(flag: T | undefined, key: string, fallback: T): T;
  /** A path from a flag (relative to the working folder) or the config (relative to it). */
  path(
    flag: string | undefined,
    key: string,
    name: string,
    fallback?: string,
  ): string;
  optionalPath(flag: string | undefined, key: string): string | undefined;
}

function settingsFrom(config: Config): Pick {
  const section = (config.snippets ?? {}) as Record<string, any>;
  const base = config.file ? path.dirname(config.file) : process.cwd();
  const optionalPath = (flag: string | undefined, key: string) => {
    if (flag !== undefined) return path.resolve(flag);
    return section[key] === undefined
      ? undefined
      : path.resolve(base, section[key]);
  };
  const pick = (<T>(flag: T | undefined, key: string, fallback: T): T =>
    flag ?? (section[key] as T | undefined) ?? fallback) as Pick;
  pick.optionalPath = optionalPath;
  pick.path = (flag, key, name, fallback) => {
    const found = optionalPath(flag, key) ?? fallback;
    if (found === undefined) {
      throw badInput(
        name,
        `a path (or snippets.${key} in the config)`,
        undefined,
      );
    }
    return found;
  };
  return pick;
}

async function resolve(
  options: SnippetsOptions,
  config: Config,
  pick: Pick,
): Promise<Resolved> {
  const backend = pick(options.backend, "backend", "gpt2");
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw badInput("--backend", BACKENDS.join(", "), backend);
  }
  const sampling = {
    temperature: checkNumber(
      pick(options.temperature, "temperature", 0.7),
      "--temperature",
      0,
      5,
    ),
    top_k: checkCount(pick(options.topK, "top_k", 40), "--top-k"),
    top_p: checkNumber(pick(options.topP, "top_p", 1), "--top-p", 0.000001, 1),
    max_new_tokens: checkPositive(
      pick(options.maxNewTokens, "max_new_tokens", 400),
      "--max-new-tokens",
    ),
  };
  const ids = shardSelector(options)(selectIds(options, config));
  const workersPerDevice = checkPositive(
    pick(options.workersPerDevice, "workers_per_device", 1),
    "--workers-per-device",
  );
  const devices = options.dryRun
    ? [{ name: "cpu" }]
    : await resolveDevices(pick(options.devices, "devices", "auto"));
  return {
    backend: backend as Resolved["backend"],
    kind: options.kind,
    modelOptions: parseModelOptions(
      pick(options.modelOptions, "model_options", undefined),
    ),
    ids,
    sampling,
    minChars: checkCount(
      pick(options.minChars, "min_chars", 250),
      "--min-chars",
    ),
    minSynopsisChars: checkCount(
      pick(options.minSynopsisChars, "min_synopsis_chars", 150),
      "--min-synopsis-chars",
    ),
    maxAttempts: checkPositive(
      pick(options.maxAttempts, "max_attempts", 5),
      "--max-attempts",
    ),
    stage: {
      outDir: options.out,
      devices,
      workersPerDevice,
      batch: checkPositive(pick(options.batch, "batch", 16), "--batch"),
      threads: threadsPerWorker(devices, workersPerDevice),
      force: options.force,
      dryRun: options.dryRun,
      verbose: options.verbose,
      env: options.env,
    },
  };
}

// Ids: --ids, else the config's snippets.ids, else the ids of the config's face groups.
function selectIds(options: SnippetsOptions, config: Config): number[] {
  const section = (config.snippets ?? {}) as Record<string, any>;
  if (options.ids !== undefined) return parseIdList(options.ids, "--ids");
  if (section.ids !== undefined)
    return parseIdList(section.ids, "snippets.ids");
  if (config.faces.groups?.length)
    return expandGroups(config.faces.groups, "faces.groups").map((t) => t.id);
  throw badInput(
    "--ids",
    "ids such as 0-63 (or snippets.ids or faces.groups in the config)",
    undefined,
  );
}

interface TextStage {
  stage: string;
  kind: string;
  model: string;
  vocab?: string;
  prompt: (id: number) => string;
  promptSha: string | ((id: number) => string);
  file: (id: number) => string;
  minChars: number;
  /** Prompt text the snippet starts with, so a continuation reads as whole sentences. */
  leadIn?: string;
  /** The file's text from the cleaned continuation of an id. */
  compose: (text: string, id: number) => string;
}

// One sampling stage: prompts -> continuations, resampled with a new seed until long enough.
async function textStage(
  resolved: Resolved,
  spec: TextStage,
  ids = resolved.ids,
): Promise<StageSummary> {
  const modelSha256 = await sha256Of(spec.model);
  const settings = {
    backend: resolved.backend,
    model_sha256: modelSha256,
    ...resolved.sampling,
    min_chars: spec.minChars,
  };
  const jobs: Job[] = ids.map((id) => ({
    id,
    file: spec.file(id),
    settings: {
      ...settings,
      prompt_sha256:
        typeof spec.promptSha === "string"
          ? spec.promptSha
          : spec.promptSha(id),
      seed: id,
    },
    request: { seed: id },
  }));
  return runStage({
    ...resolved.stage,
    stage: spec.stage,
    format: "text",
    jobs,
    sidecar: {
      kind: resolved.kind ?? spec.kind,
      model: spec.model,
      options: {
        ...resolved.modelOptions,
        ...(spec.vocab ? { vocab: spec.vocab } : {}),
      },
    },
    op: "sample",
    params: { ...resolved.sampling, stop_at_eot: true },
    maxAttempts: resolved.maxAttempts,
    requestFor: (job, attempt) => ({
      prompt: spec.prompt(job.id),
      seed: attemptSeed(job.id, attempt),
    }),
    finalize: async (job, result, _temp, final, attempt) => {
      const cleaned = cleanSnippet(
        (spec.leadIn ?? "") + String(result.text ?? ""),
        String(result.stop),
        spec.minChars,
      );
      if (cleaned.problem) throw new Error(cleaned.problem);
      await writeFileAtomic(final, spec.compose(cleaned.text, job.id) + "\n");
      return {
        attempts: attempt + 1,
        sample_seed: attemptSeed(job.id, attempt),
      };
    },
  });
}

// Two models: a finetuned one writes "Title|Synopsis", the base one continues each synopsis.
async function twoStage(
  options: SnippetsOptions,
  pick: Pick,
  resolved: Resolved,
  baseModel: string,
  vocab: string | undefined,
): Promise<StageSummary> {
  const synopsisModel = checkModelPath(
    pick.path(options.synopsisModel, "synopsis_model", "--synopsis-model"),
    "--synopsis-model",
  );
  const synopsisPrompt = readPrompt(
    pick.path(
      options.synopsisPromptFile,
      "synopsis_prompt_file",
      "--synopsis-prompt-file",
      defaultPrompt("synopsis.txt"),
    ),
    "--synopsis-prompt-file",
  );
  const plotTemplate = readPrompt(
    pick.path(
      options.plotPromptFile,
      "plot_prompt_file",
      "--plot-prompt-file",
      defaultPrompt("plot.txt"),
    ),
    "--plot-prompt-file",
  );
  if (!plotTemplate.includes("{synopsis}")) {
    throw badInput(
      "--plot-prompt-file",
      "a template containing {synopsis}",
      "a file without it",
    );
  }
  const synopsisFile = (id: number) =>
    path.join("work", "synopses", `${id}.txt`);

  // Stage one: one well-formed synopsis per id, long enough.
  const first = await textStage(resolved, {
    stage: "synopses",
    kind: "gpt2",
    model: synopsisModel,
    vocab,
    prompt: () => synopsisPrompt + "\n",
    promptSha: sha256Text(synopsisPrompt),
    file: synopsisFile,
    minChars: 0,
    compose: (text) => checkedSynopsis(text, resolved.minSynopsisChars),
  });
  if (options.dryRun) return first;

  // Stage two: the base model continues "synopsis + In the first episode of this anime".
  const readSynopsis = (id: number) =>
    fs.readFileSync(path.join(options.out, synopsisFile(id)), "utf8").trim();
  const ready = resolved.ids.filter((id) =>
    fs.existsSync(path.join(options.out, synopsisFile(id))),
  );
  const plotPrompt = (id: number) =>
    plotTemplate.replace("{synopsis}", synopsisBody(readSynopsis(id)));
  const second = await textStage(
    resolved,
    {
      stage: "snippets",
      kind: "gpt2",
      model: baseModel,
      vocab,
      prompt: plotPrompt,
      promptSha: (id) => sha256Text(plotPrompt(id)),
      leadIn: lastParagraph(plotTemplate),
      file: (id) => path.join("site", `snippet-${id}.txt`),
      minChars: resolved.minChars,
      compose: (plot, id) => `${readSynopsis(id)}\n\n${plot}`,
    },
    ready,
  );
  for (const [id, cause] of first.failures)
    second.failures.set(id, `synopsis: ${cause}`);
  second.requested = resolved.ids.length;
  return second;
}

// Throws (so the id is resampled) unless the text has a Title|Synopsis line long enough.
function checkedSynopsis(text: string, minChars: number): string {
  const parsed = parseSynopsis(text);
  if (!parsed) throw new Error("no Title|Synopsis line");
  if (parsed.synopsis.length <= minChars) {
    throw new Error(
      `synopsis too short (${parsed.synopsis.length} characters, more than ${minChars} wanted)`,
    );
  }
  return formatSynopsis(parsed);
}

/** The prompt's last paragraph ("In the first episode,"), which the snippet repeats. */
export function lastParagraph(prompt: string): string {
  return prompt
    .split(/\n\s*\n/)
    .pop()!
    .trimStart();
}

function synopsisBody(formatted: string): string {
  return formatted.replace(/^_[^_]*_:\s*/, "");
}

function defaultPrompt(name: string): string {
  return path.join(projectRoot, "data", "prompts", name);
}

function readPrompt(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, "utf8").replace(/\s+$/, "");
  } catch {
    throw badInput(flag, "a readable text file", `${file} (no such file)`);
  }
}

function sha256Text(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

function parseModelOptions(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value === "object" && value && !Array.isArray(value))
    return value as Record<string, unknown>;
  try {
    const parsed = JSON.parse(String(value));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed;
  } catch {
    // reported below
  }
  throw badInput(
    "--model-options",
    'a JSON object such as {"batch_size": 32}',
    String(value),
  );
}

function checkNumber(
  value: unknown,
  flag: string,
  min: number,
  max: number,
): number {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < min ||
    value > max
  ) {
    throw badInput(flag, `a number from ${min} to ${max}`, value);
  }
  return value;
}

function checkCount(value: unknown, flag: string): number {
  if (!Number.isInteger(value) || (value as number) < 0)
    throw badInput(flag, "a whole number of 0 or more", value);
  return value as number;
}
