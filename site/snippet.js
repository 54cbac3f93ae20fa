// Shows a snippet as plain text; a leading _Title_: becomes an <em> built from text alone.

const TITLE = /^_([^_\n]{1,200})_:/;

/** Replaces the children of `node` with the snippet, never parsing it as markup. */
export function showSnippet(node, text) {
  const title = TITLE.exec(text);
  const parts = [];
  if (title) {
    const em = document.createElement("em");
    em.textContent = title[1];
    parts.push(em, ":");
    text = text.slice(title[0].length);
  }
  parts.push(text);
  node.replaceChildren(...parts);
}
