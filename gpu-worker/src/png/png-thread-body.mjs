/**
 * The PNG thread of ThreadPngEncoder (png-encoder.ts): deflates 8-bit RGB samples into PNG bytes
 * with fast-png, exactly as shared/src/image/png-image.ts encodeRgb8Png does (a test compares the
 * bytes). Plain JavaScript so a worker thread loads it under tsx, vitest and plain node alike.
 */
import { encode } from "fast-png";

export default function encodePng({ width, height, data }) {
  return encode({ width, height, data, channels: 3, depth: 8 });
}
