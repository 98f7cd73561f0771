/**
 * Stable Diffusion text-to-image over ONNX sessions (SPEC §2; diffusers'
 * OnnxStableDiffusionPipeline as the reference): tokenize, encode [uncond; cond], draw or take
 * the initial latents, run the Euler loop with classifier-free guidance, decode with the VAE and
 * map to an HWC image in [0, 1]. The step math is denoise.ts; prepare/predictNoise/finish let the
 * batching engine (batching/batch-engine.ts) run many requests through shared UNet calls. Arithmetic that torch does in
 * float32 is rounded to float32 (Math.fround) so results agree with the reference to ~1e-6.
 */
import { ShapeError, ValidationError } from "@budgetfusion/shared/errors";
import { seededLatents } from "@budgetfusion/shared/random/seeded-random";
import type { SessionOptions } from "@budgetfusion/shared/runtime/ort-port";
import { EulerDiscreteScheduler } from "@budgetfusion/shared/schedulers/euler-discrete";
import { parseSchedulerConfig } from "@budgetfusion/shared/schedulers/scheduler-config";
import { loadClipTokenizer } from "@budgetfusion/shared/tokenizer/clip-tokenizer";
import type { FileOrtPort } from "../runtime/ort-node";
import { throwIfAborted } from "./cancel";
import { RunTimer } from "./components/run-timer";
import { TextEncoder } from "./components/text-encoder";
import { Unet } from "./components/unet";
import { VaeDecoder } from "./components/vae-decoder";
import { DenoisingTrajectory, runTrajectory } from "./denoise";
import { assertFinite } from "./finite-check";
import type { SdModelDir } from "./model-dir";

const f32 = Math.fround;

/** Maps text to token ids [B, L]; the CLIP tokenizer in production. */
export interface PromptTokenizer {
  encode(texts: readonly string[]): { inputIds: Int32Array; length: number };
}

export interface GenerateOptions {
  /** One prompt per image: the batch size B. */
  prompts: readonly string[];
  /** Unconditional text for every image; "" when absent (SPEC §2). */
  negativePrompt?: string | null;
  steps: number;
  /** CFG scale; <= 1 runs the conditional branch only. */
  guidanceScale: number;
  height: number;
  width: number;
  /** Seed for the N(0,1) draw (ignored when `latents` is given). Default 0. */
  seed?: number;
  /** Explicit N(0,1) draw [B,4,H/8,W/8] before init_noise_sigma. */
  latents?: Float32Array;
  /** Keys merged over the model's scheduler_config.json. */
  scheduler?: Readonly<Record<string, unknown>>;
  /** Aborts between ONNX calls (client gone, timeout). */
  signal?: AbortSignal;
  /** Called after each denoising step (metrics, progress). */
  onStep?: (index: number, ms: number) => void;
}

interface PipelineTimings {
  /** ONNX Runtime time per component and in total, ms. */
  textMs: number;
  unetMs: number;
  vaeMs: number;
  ortMs: number;
  /** Wall time of the whole call, ms; totalMs - ortMs is the pipeline's own overhead. */
  totalMs: number;
}

export interface GenerateResult {
  /** [uncond; cond] hidden states when guidance > 1, else cond: [B or 2B, L, D]. */
  promptEmbeds: Float32Array;
  promptEmbedsDims: number[];
  /** Final latents before VAE scaling [B,4,H/8,W/8]. */
  latents: Float32Array;
  latentDims: number[];
  /** Image [B,H,W,3] in [0,1]. */
  image: Float32Array;
  imageDims: number[];
  seed: number | null;
  timings: PipelineTimings;
}

/** A request between prepare() and finish(): its trajectory and text embeddings. */
export interface PreparedGeneration {
  readonly trajectory: DenoisingTrajectory;
  /** [uncond; cond] hidden states when guidance > 1, else cond: [R, L, D], R the UNet rows. */
  readonly embeds: { data: Float32Array; dims: number[] };
  /** [B,4,H/8,W/8]. */
  readonly latentDims: number[];
  readonly seed: number | null;
  readonly signal?: AbortSignal;
  /** performance.now() when prepare() began. */
  readonly start: number;
  readonly textTimer: RunTimer;
  /** Time of the UNet calls this request took part in (shared calls count in full). */
  readonly unetTimer: RunTimer;
}

export class SdPipeline {
  private constructor(
    readonly model: SdModelDir,
    readonly tokenizer: PromptTokenizer,
    private readonly textEncoder: TextEncoder,
    private readonly unet: Unet,
    private readonly vae: VaeDecoder,
  ) {}

  /** Loads tokenizer and the three sessions of a model folder through `port`. */
  static async load(
    port: FileOrtPort,
    model: SdModelDir,
    options: SessionOptions & { tokenizer?: PromptTokenizer } = {},
  ): Promise<SdPipeline> {
    const tokenizer: PromptTokenizer =
      options.tokenizer ?? (await loadClipTokenizer((rel) => model.readText(`tokenizer/${rel}`)));
    // Fail on a bad scheduler config at load time rather than on the first request.
    parseSchedulerConfig(model.schedulerConfig);
    const sessionOptions = { executionProviders: options.executionProviders };
    // By path, so external-data weights next to model.onnx are found (SD2's UNet is > 2 GB).
    const open = (component: string) =>
      port.createSessionFromFile(model.path(`${component}/model.onnx`), sessionOptions);
    const textEncoder = await TextEncoder.create(await open("text_encoder"));
    const unet = await Unet.create(await open("unet"));
    const vae = await VaeDecoder.create(await open("vae_decoder"));
    return new SdPipeline(model, tokenizer, textEncoder, unet, vae);
  }

  get modelId(): string {
    return this.model.id;
  }

  get schedulerConfig(): Readonly<Record<string, unknown>> {
    return this.model.schedulerConfig;
  }

  /** Native image side in pixels, used when a request gives no size. */
  get defaultSize(): number {
    return this.model.defaultImageSize;
  }

  /** Whether one UNet call may hold rows at different timesteps (the batching engine asks). */
  get perRowTimesteps(): boolean {
    return this.unet.perRowTimesteps;
  }

  /** Runs one text-to-image generation; see GenerateOptions for units and shapes. */
  async generate(opts: GenerateOptions): Promise<GenerateResult> {
    const prepared = await this.prepare(opts);
    const { trajectory, embeds, unetTimer, signal } = prepared;
    const unetDims = [embeds.dims[0], ...prepared.latentDims.slice(1)];
    await runTrajectory(trajectory, {
      predictNoise: (sample, timestep) =>
        this.predictNoise(sample, unetDims, timestep, embeds, unetTimer),
      signal,
      onStep: opts.onStep,
    });
    throwIfAborted(signal);
    return this.finish(prepared);
  }

  /**
   * Everything before the denoising loop: checks, the scheduler, the initial noise and the text
   * embeddings. The batching engine prepares each request with it and then steps many of them
   * through shared UNet calls (predictNoise), finishing each with finish().
   */
  async prepare(opts: GenerateOptions): Promise<PreparedGeneration> {
    const start = performance.now();
    // Per-call timers: concurrent generations share the sessions.
    const textTimer = new RunTimer();
    const { prompts, steps, guidanceScale: g, height, width } = opts;
    const batch = prompts.length;
    if (batch < 1) throw new ValidationError("at least one prompt is needed", { field: "prompt" });
    const f = this.model.vaeScaleFactor;
    for (const [field, v] of [
      ["height", height],
      ["width", width],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0 || v % f !== 0) {
        throw new ValidationError(`${field} must be a positive multiple of ${f}, got ${v}`, {
          field,
        });
      }
    }
    const scheduler = EulerDiscreteScheduler.fromConfig(this.model.schedulerConfig, {
      ...opts.scheduler,
    });
    scheduler.setTimesteps(steps);
    const latentDims = [batch, this.model.latentChannels, height / f, width / f];
    const perImage = latentDims[1] * latentDims[2] * latentDims[3];
    let seed: number | null = null;
    let noise: Float32Array;
    if (opts.latents !== undefined) {
      if (opts.latents.length !== batch * perImage) {
        throw new ShapeError(
          `latents have ${opts.latents.length} values, [${latentDims}] needs ${batch * perImage}`,
          { field: "latents" },
        );
      }
      noise = opts.latents;
    } else {
      seed = opts.seed ?? 0;
      noise = seededLatents(seed, latentDims);
    }

    // Text: [uncond; cond] in one encoder call when guidance applies.
    const cfg = g > 1;
    const texts = cfg
      ? [...prompts.map(() => opts.negativePrompt ?? ""), ...prompts]
      : [...prompts];
    const { inputIds, length } = this.tokenizer.encode(texts);
    throwIfAborted(opts.signal);
    const embeds = await this.textEncoder.encode(inputIds, texts.length, length, textTimer);
    return {
      trajectory: new DenoisingTrajectory({ scheduler, noise, guidanceScale: g }),
      embeds,
      latentDims,
      seed,
      signal: opts.signal,
      start,
      textTimer,
      unetTimer: new RunTimer(),
    };
  }

  /**
   * One UNet call. sample [R,4,h,w] with R = embeds' rows; timestep one value, or one per row
   * when rows of several requests at different steps share the call (perRowTimesteps).
   */
  predictNoise(
    sample: Float32Array,
    sampleDims: readonly number[],
    timestep: number | Float32Array,
    embeds: { data: Float32Array; dims: readonly number[] },
    timer: RunTimer,
  ): Promise<Float32Array> {
    return this.unet.predict(sample, sampleDims, timestep, embeds.data, embeds.dims, timer);
  }

  /** Everything after the loop: VAE decode of the final latents and the [B,H,W,3] image. */
  async finish(prepared: PreparedGeneration): Promise<GenerateResult> {
    const vaeTimer = new RunTimer();
    const latents = prepared.trajectory.result;
    const sf = this.model.vaeScalingFactor;
    const scaledLatents = new Float32Array(latents.length);
    for (let i = 0; i < latents.length; i++) scaledLatents[i] = latents[i] / sf;
    const decoded = await this.vae.decode(scaledLatents, prepared.latentDims, vaeTimer);
    assertFinite(decoded.data, "vae", "decoding the final latents");
    const image = toHwcImage(decoded.data, decoded.dims);
    const { textTimer, unetTimer } = prepared;
    return {
      promptEmbeds: prepared.embeds.data,
      promptEmbedsDims: prepared.embeds.dims,
      latents,
      latentDims: prepared.latentDims,
      image: image.data,
      imageDims: image.dims,
      seed: prepared.seed,
      timings: {
        textMs: textTimer.ms,
        unetMs: unetTimer.ms,
        vaeMs: vaeTimer.ms,
        ortMs: textTimer.ms + unetTimer.ms + vaeTimer.ms,
        totalMs: performance.now() - prepared.start,
      },
    };
  }

  async dispose(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.unet.release(), this.vae.release()]);
  }
}

/** [B,3,H,W] in about [-1,1] -> [B,H,W,3] clamp(x/2 + 0.5, 0, 1) (diffusers postprocess). */
function toHwcImage(
  chw: Float32Array,
  dims: readonly number[],
): { data: Float32Array; dims: number[] } {
  const [b, c, h, w] = dims;
  if (dims.length !== 4 || c !== 3) {
    throw new ShapeError(`vae output shape [${dims}] is not [B,3,H,W]`, { field: "sample" });
  }
  const out = new Float32Array(b * h * w * 3);
  const plane = h * w;
  for (let n = 0; n < b; n++) {
    for (let ch = 0; ch < 3; ch++) {
      const src = (n * 3 + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const v = f32(f32(chw[src + p] / 2) + 0.5);
        out[(n * plane + p) * 3 + ch] = v < 0 ? 0 : Math.min(v, 1);
      }
    }
  }
  return { data: out, dims: [b, h, w, 3] };
}
