// Parsing the TITLE|SYNOPSIS lines a synopsis-finetuned model writes.

export interface Synopsis {
  title: string;
  synopsis: string;
}

const SOURCE_NOTE = /\s*[([]\s*(?:source\s*:|written by\b)[^)\]]*[)\]]\s*$/i;

/**
 * The first well-formed "Title|Synopsis" line of a text, with a trailing
 * "(Source: ...)" removed; undefined when no line has a title, one bar and a
 * synopsis.
 */
export function parseSynopsis(text: string): Synopsis | undefined {
  for (const line of text.split("\n")) {
    const parts = line.split("|");
    if (parts.length !== 2) continue;
    const title = parts[0].trim().replace(/^_+|_+$/g, "");
    const synopsis = parts[1].replace(SOURCE_NOTE, "").trim();
    if (title && synopsis && title.length <= 200) return { title, synopsis };
  }
  return undefined;
}

/** "_Title_: synopsis", the form the site shows with the title in italics. */
export function formatSynopsis({ title, synopsis }: Synopsis): string {
  return `_${title}_: ${synopsis}`;
}
