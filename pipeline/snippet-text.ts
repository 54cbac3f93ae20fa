// Cleaning generated text into a snippet: cut at end-of-text, whole sentences, tidy spaces.

export const END_OF_TEXT = "<|endoftext|>";

/** The text before the first end-of-text marker (API and char-RNN output may carry one). */
export function cutAtEndOfText(text: string): string {
  const at = text.indexOf(END_OF_TEXT);
  return at === -1 ? text : text.slice(0, at);
}

// A sentence ends at . ! ? or an ellipsis, optionally followed by closing quotes or brackets.
const SENTENCE_END =
  /[.!?\u2026\u3002\uff01\uff1f]["'\u2019\u201d)\]]*(?=\s|$)/g;

/**
 * The text up to its last complete sentence, for output that ran out of
 * tokens mid-sentence; "" when no sentence ended at all.
 */
export function trimToSentence(text: string): string {
  let end = -1;
  for (const match of text.matchAll(SENTENCE_END))
    end = match.index! + match[0].length;
  return end === -1 ? "" : text.slice(0, end);
}

/** Trailing spaces off each line, at most one blank line in a row, no blank ends. */
export function tidyWhitespace(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => line.replace(/[ \t]+$/, ""))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Joins hard-wrapped lines inside each paragraph (text of a hard-wrapped corpus). */
export function unwrapLines(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/[ \t]*\n[ \t]*/g, " "))
    .join("\n\n");
}

export interface CleanedText {
  text: string;
  /** Why the text cannot be used as it is, if it cannot. */
  problem?: string;
}

/**
 * Turns a sampled continuation into snippet text: cut at end-of-text, trimmed
 * to whole sentences when it stopped for length, and checked against
 * `minChars`.
 */
export function cleanSnippet(
  raw: string,
  stop: string,
  minChars: number,
): CleanedText {
  let text = cutAtEndOfText(raw);
  if (stop === "length") text = trimToSentence(text);
  text = tidyWhitespace(text);
  if (text.length === 0) return { text, problem: "empty" };
  if (text.length < minChars) {
    return {
      text,
      problem: `too short (${text.length} characters, at least ${minChars} wanted)`,
    };
  }
  return { text };
}

/** A seed for attempt `attempt` of an id: the base seed first, then a fixed hash of both. */
export function attemptSeed(baseSeed: number, attempt: number): number {
  if (attempt === 0) return baseSeed;
  let h =
    (Math.imul(baseSeed ^ 0x9e3779b9, 0x85ebca6b) ^
      Math.imul(attempt, 0xc2b2ae35)) >>>
    0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
