// Lossy encoding of upscaled faces for the site: JPEG (mozjpeg), WebP or AVIF through sharp.
import type { Sharp } from "sharp";
import { badInput } from "./errors.ts";

export const IMAGE_FORMATS = ["jpeg", "webp", "avif"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** The file extension of each format, as the site links them. */
export const EXTENSIONS: Record<ImageFormat, string> = {
  jpeg: "jpg",
  webp: "webp",
  avif: "avif",
};

/** TWDNE's setting: quality 25 JPEG, about 60 KB for a 1024px face. */
export const DEFAULT_QUALITY = 25;

/** Checks --format; the message names the flag and the choices. */
export function checkFormat(value: unknown): ImageFormat {
  if (!(IMAGE_FORMATS as readonly unknown[]).includes(value))
    throw badInput("--format", IMAGE_FORMATS.join(", "), value);
  return value as ImageFormat;
}

/** Checks --quality: a whole number from 1 to 100, as every encoder here takes. */
export function checkQuality(value: unknown): number {
  if (
    !Number.isInteger(value) ||
    (value as number) < 1 ||
    (value as number) > 100
  )
    throw badInput("--quality", "a whole number from 1 to 100", value);
  return value as number;
}

/**
 * Encodes an image for the web. JPEG goes through mozjpeg by default (trellis
 * quantisation, optimised progressive scans): about a quarter smaller than
 * libjpeg at the same quality, for about three times the encoding time;
 * `mozjpeg: false` gives libjpeg-turbo's progressive JPEG, which matches other
 * libjpeg encoders such as ImageMagick byte for byte in size. Nothing calls
 * keepMetadata, so sharp writes no EXIF, XMP or ICC profile: the pixels are
 * converted to sRGB and the rest is dropped.
 */
export async function encodeImage(
  image: Sharp,
  format: ImageFormat,
  quality: number,
  mozjpeg = true,
): Promise<Buffer> {
  switch (format) {
    case "jpeg":
      return image
        .jpeg({ quality, mozjpeg, progressive: true, optimiseCoding: true })
        .toBuffer();
    case "webp":
      return image.webp({ quality, effort: 4 }).toBuffer();
    case "avif":
      return image.avif({ quality, effort: 4 }).toBuffer();
  }
}
