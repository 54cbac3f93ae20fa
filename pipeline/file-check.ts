// Cheap completeness checks for outputs: right size, right signature at both ends.
import fs from "node:fs/promises";

export type OutputFormat = "png" | "jpeg" | "webp" | "avif" | "text";

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_TAIL = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * Why a file is not a complete output, or undefined when it is. Checks the
 * size (and the size the manifest recorded, if given) and the format's
 * signature at the start and end, which catches empty and truncated files
 * without decoding; `decode` adds a full decode for images.
 */
export async function checkOutput(
  file: string,
  format: OutputFormat,
  expectedBytes?: number,
  decode?: (file: string) => Promise<void>,
): Promise<string | undefined> {
  let handle;
  try {
    handle = await fs.open(file, "r");
  } catch {
    return "missing";
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return "empty";
    if (expectedBytes !== undefined && size !== expectedBytes) {
      return `${size} bytes where the manifest recorded ${expectedBytes}`;
    }
    const head = await readAt(handle, 0, Math.min(16, size));
    const tailBytes = await readAt(
      handle,
      Math.max(0, size - 8),
      Math.min(8, size),
    );
    const problem = signatureProblem(format, head, tailBytes, size);
    if (problem || !decode) return problem;
  } finally {
    await handle.close();
  }
  try {
    await decode(file);
    return undefined;
  } catch (error) {
    return `undecodable (${(error as Error).message})`;
  }
}

async function readAt(
  handle: fs.FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  await handle.read(buffer, 0, length, position);
  return buffer;
}

function signatureProblem(
  format: OutputFormat,
  head: Buffer,
  tail: Buffer,
  size: number,
): string | undefined {
  switch (format) {
    case "png":
      if (!head.subarray(0, 8).equals(PNG_HEAD)) return "not a PNG";
      return tail.equals(PNG_TAIL) ? undefined : "truncated PNG (no IEND)";
    case "jpeg":
      if (head[0] !== 0xff || head[1] !== 0xd8) return "not a JPEG";
      return tail[6] === 0xff && tail[7] === 0xd9
        ? undefined
        : "truncated JPEG (no EOI)";
    case "webp":
      if (
        head.toString("latin1", 0, 4) !== "RIFF" ||
        head.toString("latin1", 8, 12) !== "WEBP"
      )
        return "not a WebP";
      return head.readUInt32LE(4) + 8 === size ? undefined : "truncated WebP";
    case "avif":
      return head.toString("latin1", 4, 8) === "ftyp"
        ? undefined
        : "not an AVIF";
    case "text":
      return undefined;
  }
}
