/**
 * GPU compute per image from a worker's timings (x-bf-timings, shared/src/schemas/worker-api.ts),
 * and what the same image would have cost at another step count. The edge's usage accounting
 * bills and credits with these; the page at / embeds `computeMs`'s source (Function.toString),
 * so that function refers to nothing outside its own body.
 */

/** Any subset of the worker's timings; values that are not numbers count as absent. */
export interface ComputeTimings {
  queue_ms?: unknown;
  text_ms?: unknown;
  unet_ms?: unknown;
  vae_ms?: unknown;
  total_ms?: unknown;
}

/** A parsed x-bf-timings value as timings, when it is an object at all. */
export function asComputeTimings(value: unknown): ComputeTimings | undefined {
  return typeof value === "object" && value !== null ? (value as ComputeTimings) : undefined;
}

/**
 * Milliseconds of model compute for one image: text encoder + denoising loop + VAE decode when
 * the worker reports all three, else its total minus its queue wait (the time a GPU was
 * working for this request); undefined when neither is known.
 */
export function computeMs(timings: ComputeTimings | null | undefined): number | undefined {
  if (timings === null || timings === undefined) return undefined;
  const { text_ms, unet_ms, vae_ms, total_ms, queue_ms } = timings;
  if (typeof text_ms === "number" && typeof unet_ms === "number" && typeof vae_ms === "number") {
    return text_ms + unet_ms + vae_ms;
  }
  if (typeof total_ms === "number") {
    return Math.max(0, total_ms - (typeof queue_ms === "number" ? queue_ms : 0));
  }
  return undefined;
}

/**
 * The same image's compute at `atSteps` denoising steps instead of `steps`. The text encoder
 * and the VAE run once per image whatever the step count; the denoising loop runs the UNet
 * once per step, so only its share scales (linearly: every Euler step costs the same UNet call).
 * Without a UNet timing the whole compute is taken to scale, which overstates the saving by the
 * fixed part; undefined when the compute is unknown.
 */
export function computeMsAtSteps(
  timings: ComputeTimings | null | undefined,
  steps: number,
  atSteps: number,
): number | undefined {
  const total = computeMs(timings);
  if (total === undefined || steps <= 0) return undefined;
  const loop = typeof timings?.unet_ms === "number" ? timings.unet_ms : total;
  return total + (loop / steps) * (atSteps - steps);
}
