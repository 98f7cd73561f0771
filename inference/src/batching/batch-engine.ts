/**
 * Continuous batching of denoising steps (Orca-style iteration-level scheduling, applied to
 * diffusion): a running batch of requests, each with its own scheduler, step count, guidance,
 * size and seed. Every iteration runs one UNet call per group of compatible members (same latent
 * and text-embedding shape: different sizes or models never share a call) and advances each
 * member by one step. A request joins at the next step boundary once its text is encoded, and
 * leaves when its last step is done; its VAE decode runs outside the loop. A request's rows
 * ([uncond; cond] under guidance) always travel together. Per call, the rows and pixels a group
 * takes are bounded (BatchLimits); a request larger than the limits runs in a call of its own.
 *
 * The model is injected (BatchModel: SdPipeline in the worker, fakes in tests), so this module
 * holds scheduling only. Hand-written because no library schedules diffusion steps; the step
 * math is the trajectory of pipeline/denoise.ts, the same one SdPipeline.generate() runs.
 */

import { throwIfAborted } from "../pipeline/cancel";
import type { RunTimer } from "../pipeline/components/run-timer";
import type { GenerateOptions, GenerateResult, PreparedGeneration } from "../pipeline/sd-pipeline";
import { StepTimes } from "./step-times";

/** What the engine needs from a pipeline; SdPipeline implements it. */
export interface BatchModel {
  readonly modelId: string;
  readonly defaultSize: number;
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  /** Whether rows at different timesteps may share a call; else groups split by timestep. */
  readonly perRowTimesteps: boolean;
  prepare(opts: GenerateOptions): Promise<PreparedGeneration>;
  predictNoise(
    sample: Float32Array,
    sampleDims: readonly number[],
    timestep: number | Float32Array,
    embeds: { data: Float32Array; dims: readonly number[] },
    timer: RunTimer,
  ): Promise<Float32Array>;
  finish(prepared: PreparedGeneration): Promise<GenerateResult>;
}

/** Per UNet call: rows (samples; a CFG pair is two) and image pixels (rows x H x W). */
export interface BatchLimits {
  maxSamples: number;
  maxPixels: number;
}

/**
 * continuous: join at any step boundary. static: a batch forms only when nothing runs, and its
 * members are answered together when the last one finishes (a batched pipeline call; the
 * benchmark's baseline). Sequential serving is continuous with maxSamples 1.
 */
export type AdmissionPolicy = "continuous" | "static";

export interface StepProgress {
  /** Steps done, of `steps`. */
  step: number;
  steps: number;
  /** Since the request reached the engine. */
  elapsedMs: number;
  /** Remaining steps x the measured step time at the current batch size, plus the decode. */
  etaMs: number;
  /** UNet rows of the iteration the request is in (every group's call together). */
  batchSize: number;
}

export interface BatchStats {
  /** Waiting for a place in the running batch after the text was encoded, ms. */
  joinWaitMs: number;
  /** Mean rows of the UNet calls the request took part in. */
  meanCallRows: number;
  /** Its share of those calls' time (call time x its rows / the call's rows), ms. */
  unetShareMs: number;
}

export type BatchedResult = GenerateResult & { batch: BatchStats };

export interface CallRecord {
  rows: number;
  members: number;
  ms: number;
}

export interface BatchEngineOptions {
  limits: BatchLimits;
  policy?: AdmissionPolicy;
  /** After each UNet call (metrics). */
  onCall?: (call: CallRecord) => void;
  /** Reports errors that reach no caller (none expected). */
  log?: (msg: string, err?: unknown) => void;
}

export interface SubmitHooks {
  onProgress?: (p: StepProgress) => void;
}

interface Member {
  readonly id: number;
  readonly opts: GenerateOptions;
  readonly hooks: SubmitHooks;
  readonly submitted: number;
  /** When its text was encoded. */
  readonly ready: number;
  readonly prepared: PreparedGeneration;
  /** Size group: requests with equal keys may share a UNet call. */
  readonly key: string;
  readonly rows: number;
  readonly pixels: number;
  readonly resolve: (r: BatchedResult) => void;
  readonly reject: (e: unknown) => void;
  joined?: number;
  callRows: number;
  calls: number;
  shareMs: number;
}

export class BatchEngine {
  private readonly pending: Member[] = [];
  private readonly running: Member[] = [];
  /** Static policy: finished members waiting for the rest of their batch. */
  private readonly held: Member[] = [];
  private readonly stepTimes = new StepTimes();
  private readonly policy: AdmissionPolicy;
  private looping = false;
  private nextId = 0;
  private preparing = 0;
  private decodeMs: number | undefined;
  /** Concatenated embeddings of a group, reused while its membership is unchanged. */
  private embedsCache = new Map<string, { data: Float32Array; dims: number[] }>();

  constructor(
    private readonly model: BatchModel,
    private readonly options: BatchEngineOptions,
  ) {
    const { maxSamples, maxPixels } = options.limits;
    if (!Number.isInteger(maxSamples) || maxSamples < 1) {
      throw new RangeError("maxSamples must be an integer >= 1");
    }
    if (!(maxPixels > 0)) throw new RangeError("maxPixels must be positive");
    this.policy = options.policy ?? "continuous";
  }

  get modelId(): string {
    return this.model.modelId;
  }

  get defaultSize(): number {
    return this.model.defaultSize;
  }

  get schedulerConfig(): Readonly<Record<string, unknown>> {
    return this.model.schedulerConfig;
  }

  /** Requests in the running batch. */
  get runningCount(): number {
    return this.running.length;
  }

  /** Requests encoding their text or waiting for a place in the batch. */
  get waitingCount(): number {
    return this.preparing + this.pending.length;
  }

  /** The measured time of one iteration at `rows` (ms), or undefined before any was measured. */
  stepMs(rows: number): number | undefined {
    return this.stepTimes.estimate(rows);
  }

  /** ImageGenerator's contract: one request through the batch. */
  generate(opts: GenerateOptions & SubmitHooks): Promise<BatchedResult> {
    return this.submit(opts, { onProgress: opts.onProgress });
  }

  /** Encodes the text, joins the batch at the next step boundary, resolves after decoding. */
  async submit(opts: GenerateOptions, hooks: SubmitHooks = {}): Promise<BatchedResult> {
    const submitted = performance.now();
    this.preparing++;
    let prepared: PreparedGeneration;
    try {
      prepared = await this.model.prepare(opts);
    } finally {
      this.preparing--;
    }
    throwIfAborted(opts.signal);
    const ready = performance.now();
    const [, channels, h, w] = prepared.latentDims;
    const rows = prepared.embeds.dims[0];
    return new Promise<BatchedResult>((resolve, reject) => {
      this.pending.push({
        id: this.nextId++,
        opts,
        hooks,
        submitted,
        prepared,
        key: `${channels}x${h}x${w}|${prepared.embeds.dims.slice(1).join("x")}`,
        rows,
        pixels: rows * opts.height * opts.width,
        ready,
        resolve,
        reject,
        callRows: 0,
        calls: 0,
        shareMs: 0,
      });
      this.kick();
    });
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    // From the next macrotask, so requests whose text was encoded together start together.
    void new Promise((r) => setImmediate(r))
      .then(() => this.loop())
      .catch((err: unknown) => this.options.log?.("batch loop failed", err))
      .finally(() => {
        this.looping = false;
        if (this.pending.length > 0) this.kick();
      });
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.dropAborted();
      this.admit();
      if (this.running.length === 0) return;
      const started = performance.now();
      const rows = this.running.reduce((n, m) => n + m.rows, 0);
      for (const group of this.groups()) await this.stepGroup(group);
      this.stepTimes.observe(rows, performance.now() - started);
      const now = performance.now();
      for (const m of [...this.running]) {
        const t = m.prepared.trajectory;
        m.hooks.onProgress?.(this.progressOf(m, now, rows));
        if (t.done) this.retire(m);
      }
    }
  }

  private progressOf(m: Member, now: number, rows: number): StepProgress {
    const t = m.prepared.trajectory;
    const perStep = this.stepTimes.estimate(rows) ?? 0;
    const remaining = t.steps - t.step;
    return {
      step: t.step,
      steps: t.steps,
      elapsedMs: now - m.submitted,
      etaMs: remaining * perStep + (this.decodeMs ?? 0),
      batchSize: rows,
    };
  }

  /** Members whose signal fired (client gone, deadline, DELETE) leave at this step boundary. */
  private dropAborted(): void {
    for (const list of [this.pending, this.running]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const m = list[i];
        if (!m.opts.signal?.aborted) continue;
        list.splice(i, 1);
        try {
          throwIfAborted(m.opts.signal);
        } catch (err) {
          m.reject(err);
        }
      }
    }
  }

  private admit(): void {
    if (this.policy === "static" && (this.running.length > 0 || this.held.length > 0)) return;
    const load = new Map<string, { rows: number; pixels: number }>();
    for (const m of this.running) {
      const l = load.get(m.key) ?? { rows: 0, pixels: 0 };
      l.rows += m.rows;
      l.pixels += m.pixels;
      load.set(m.key, l);
    }
    // FIFO per group: once a request cannot join, later ones of its group do not overtake it.
    const blocked = new Set<string>();
    const { maxSamples, maxPixels } = this.options.limits;
    for (let i = 0; i < this.pending.length; ) {
      const m = this.pending[i];
      const l = load.get(m.key);
      const fits =
        l === undefined || (l.rows + m.rows <= maxSamples && l.pixels + m.pixels <= maxPixels);
      if (blocked.has(m.key) || !fits) {
        blocked.add(m.key);
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      load.set(m.key, { rows: (l?.rows ?? 0) + m.rows, pixels: (l?.pixels ?? 0) + m.pixels });
      m.joined = performance.now();
      this.running.push(m);
    }
    const rows = this.running.reduce((n, m) => n + m.rows, 0);
    for (const m of this.running) {
      if (m.calls === 0) m.hooks.onProgress?.(this.progressOf(m, performance.now(), rows));
    }
  }

  /** Members that share one UNet call: same size key, and same timestep where the model needs it. */
  private groups(): Member[][] {
    const byKey = new Map<string, Member[]>();
    for (const m of this.running) {
      const key = this.model.perRowTimesteps ? m.key : `${m.key}|${m.prepared.trajectory.timestep}`;
      const g = byKey.get(key);
      if (g === undefined) byKey.set(key, [m]);
      else g.push(m);
    }
    return [...byKey.values()];
  }

  private groupEmbeds(group: Member[]): { data: Float32Array; dims: number[] } {
    if (group.length === 1) return group[0].prepared.embeds;
    const key = group.map((m) => m.id).join(",");
    const hit = this.embedsCache.get(key);
    if (hit !== undefined) return hit;
    const parts = group.map((m) => m.prepared.embeds);
    const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
    let offset = 0;
    for (const p of parts) {
      data.set(p.data, offset);
      offset += p.data.length;
    }
    const dims = [group.reduce((n, m) => n + m.rows, 0), ...parts[0].dims.slice(1)];
    const built = { data, dims };
    // Only the current memberships are worth keeping.
    if (this.embedsCache.size > 64) this.embedsCache.clear();
    this.embedsCache.set(key, built);
    return built;
  }

  private async stepGroup(group: Member[]): Promise<void> {
    const inputs = group.map((m) => m.prepared.trajectory.modelInput());
    const rows = group.reduce((n, m) => n + m.rows, 0);
    const sampleDims = [rows, ...group[0].prepared.latentDims.slice(1)];
    let sample = inputs[0];
    let timestep: number | Float32Array = group[0].prepared.trajectory.timestep;
    if (group.length > 1) {
      sample = new Float32Array(inputs.reduce((n, x) => n + x.length, 0));
      const perRow = new Float32Array(rows);
      let offset = 0;
      let row = 0;
      for (const [i, m] of group.entries()) {
        sample.set(inputs[i], offset);
        offset += inputs[i].length;
        perRow.fill(m.prepared.trajectory.timestep, row, row + m.rows);
        row += m.rows;
      }
      timestep = perRow;
    }
    const timer = group[0].prepared.unetTimer;
    const before = timer.ms;
    let out: Float32Array;
    try {
      out = await this.model.predictNoise(
        sample,
        sampleDims,
        timestep,
        this.groupEmbeds(group),
        timer,
      );
    } catch (err) {
      for (const m of group) {
        this.running.splice(this.running.indexOf(m), 1);
        m.reject(err);
      }
      return;
    }
    const ms = timer.ms - before;
    let offset = 0;
    for (const [i, m] of group.entries()) {
      if (i > 0) {
        m.prepared.unetTimer.ms += ms;
        m.prepared.unetTimer.calls++;
      }
      m.calls++;
      m.callRows += rows;
      m.shareMs += (ms * m.rows) / rows;
      m.prepared.trajectory.advance(out.subarray(offset, offset + inputs[i].length));
      offset += inputs[i].length;
    }
    this.options.onCall?.({ rows, members: group.length, ms });
  }

  private retire(m: Member): void {
    this.running.splice(this.running.indexOf(m), 1);
    if (this.policy === "static") {
      this.held.push(m);
      if (this.running.length > 0) return;
      for (const h of this.held.splice(0)) void this.finish(h);
      return;
    }
    void this.finish(m);
  }

  /** VAE decode and image, off the loop: the next iteration does not wait for it. */
  private async finish(m: Member): Promise<void> {
    const started = performance.now();
    try {
      const result = await this.model.finish(m.prepared);
      const ms = performance.now() - started;
      this.decodeMs = this.decodeMs === undefined ? ms : 0.8 * this.decodeMs + 0.2 * ms;
      m.resolve({
        ...result,
        batch: {
          joinWaitMs: (m.joined ?? m.ready) - m.ready,
          meanCallRows: m.calls === 0 ? 0 : m.callRows / m.calls,
          unetShareMs: m.shareMs,
        },
      });
    } catch (err) {
      m.reject(err);
    }
  }
}
