// Finds the ids whose face and snippet are both present in a folder.
import fg from "fast-glob";

const EXAMPLE = /^example-(0|[1-9][0-9]*)\.jpg$/;
const SNIPPET = /^snippet-(0|[1-9][0-9]*)\.txt$/;

/** Ids with both example-<id>.jpg and snippet-<id>.txt in `folder`, ascending. */
export async function findIds(folder: string): Promise<number[]> {
  const names = await fg(["example-*.jpg", "snippet-*.txt"], {
    cwd: folder,
    onlyFiles: true,
    deep: 1,
  });
  const faces = new Set<string>();
  const snippets = new Set<string>();
  for (const name of names) {
    const face = EXAMPLE.exec(name);
    if (face) faces.add(face[1]);
    const snippet = SNIPPET.exec(name);
    if (snippet) snippets.add(snippet[1]);
  }
  return [...faces]
    .filter((id) => snippets.has(id))
    .map(Number)
    .sort((a, b) => a - b);
}
