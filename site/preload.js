// Loads a face or a snippet completely before anything on screen changes.

/** A decoded image element, or a rejection when the file is missing or broken. */
export async function loadImage(url, alt) {
  const image = new Image();
  image.alt = alt;
  image.src = url;
  await image.decode();
  if (!image.complete || image.naturalWidth === 0)
    throw new Error(`${url}: no pixels`);
  return image;
}

/** The text of a snippet, or a rejection on any status but 200. */
export async function loadText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}
