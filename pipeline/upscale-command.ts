// Upscaling through an external program (waifu2x-ncnn-vulkan and the like), run without a shell.
import { execa } from "execa";
import { badInput } from "./errors.ts";
import { describeExit, tail } from "./exit-reason.ts";

/** What a --command template may name; each is filled per image. */
export const PLACEHOLDERS = ["in", "out", "scale", "noise_level"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** A parsed --command: the words of the template, placeholders still in them. */
export interface CommandTemplate {
  text: string;
  words: string[];
}

/**
 * Splits a --command template into words as a shell would for plain words:
 * whitespace separates, '...' and "..." group, a backslash escapes one
 * character outside single quotes. No shell runs it, so paths with spaces or
 * quotes in them reach the program intact.
 */
export function parseCommandTemplate(text: unknown): CommandTemplate {
  const expected =
    "a command line with {in} and {out}, like 'waifu2x-ncnn-vulkan -i {in} -o {out} -s {scale}'";
  if (typeof text !== "string" || !text.trim())
    throw badInput("--command", expected, text);
  const words = splitWords(text);
  for (const name of placeholdersIn(words)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(name))
      throw badInput(
        "--command",
        `only the placeholders ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
        `{${name}} in "${text}"`,
      );
  }
  for (const needed of ["in", "out"]) {
    if (!words.some((word) => word.includes(`{${needed}}`)))
      throw badInput("--command", expected, `"${text}" (no {${needed}})`);
  }
  return { text, words };
}

function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < text.length)
        word += text[++i];
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < text.length) {
      word = (word ?? "") + text[++i];
    } else word = (word ?? "") + c;
  }
  if (quote) throw badInput("--command", `a closing ${quote}`, `"${text}"`);
  if (word !== undefined) words.push(word);
  return words;
}

function placeholdersIn(words: string[]): string[] {
  return words.flatMap((word) =>
    [...word.matchAll(/\{([A-Za-z_]+)\}/g)].map((match) => match[1]),
  );
}

/** The template's words with every placeholder replaced. */
export function fillTemplate(
  template: CommandTemplate,
  values: Record<Placeholder, string>,
): string[] {
  return template.words.map((word) =>
    word.replace(
      /\{([A-Za-z_]+)\}/g,
      (whole, name: string) => values[name as Placeholder] ?? whole,
    ),
  );
}

/**
 * Runs one filled command; rejects with an error whose first line names the
 * template and how it ended (the same for every image it failed on) and whose
 * detail is the tail of its stderr.
 */
export async function runUpscaleCommand(
  template: CommandTemplate,
  values: Record<Placeholder, string>,
  signal?: AbortSignal,
): Promise<void> {
  const [file, ...args] = fillTemplate(template, values);
  const result = await execa(file, args, {
    reject: false,
    stdin: "ignore",
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
  });
  if (!result.failed) return;
  const how =
    (result as { code?: string }).code === "ENOENT"
      ? `could not start: ${file} was not found on PATH`
      : result.isCanceled
        ? "was stopped (the run was interrupted)"
        : `ended with ${describeExit(result.exitCode ?? null, result.signal ?? null)}`;
  const stderr = tail(String(result.stderr ?? ""));
  const detail = stderr
    ? `\n    stderr: ${stderr.replace(/\n/g, "\n    ")}`
    : "";
  throw new Error(`upscale command "${template.text}" ${how}${detail}`);
}
