// A photo brought to the size the server stores (≤ 2,048 px) before it leaves the phone: a 4 MB
// photo takes 43 s on a 750 kbps uplink, its 2,048 px JPEG a fifth of that. Upright as the phone
// showed it (EXIF orientation applied by the browser); the server strips metadata anyway.
// Decided once, when the photo is chosen: the draft, the outbox and every retry keep these bytes.

const QUALITY = 0.9; // the server re-encodes at 85: a little above, so that the stored photo loses nothing more

/**
 * The photo to send: a JPEG of at most `maxPx` on its long side, or the original file when it is
 * small enough already, when the browser cannot decode it (HEIC in most browsers: the server does),
 * or when the smaller JPEG would not be lighter.
 */
export async function downscale(file, { maxPx }) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file; // not decodable here: sent as it is, the server knows more formats
  }
  try {
    const scale = maxPx / Math.max(bitmap.width, bitmap.height);
    if (scale >= 1) return file;
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const blob = await drawn(bitmap, width, height);
    if (!blob || blob.size >= file.size) return file;
    return new File([blob], file.name || "photo.jpg", { type: "image/jpeg", lastModified: file.lastModified });
  } catch {
    return file; // out of memory for a canvas, an old browser: the server resizes it
  } finally {
    bitmap.close();
  }
}

async function drawn(bitmap, width, height) {
  const canvas = typeof OffscreenCanvas === "function"
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement("canvas"), { width, height });
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.fillStyle = "#fff"; // a transparent PNG on white, as the server flattens it
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0, width, height);
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality: QUALITY });
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
}
