/**
 * The one progress reporter of the training side (pipeline stages, `npm run train`, the sampling
 * CLI): count, rate and ETA for any long loop. On a TTY it draws a cli-progress bar; elsewhere
 * (CI, logs, a pipe) it writes a line whenever another `everyPercent` of the work is done or
 * `everySeconds` have passed, and at the end. Rate and ETA count only the work done since
 * start(), so a resumed stage reports its real speed.
 */
import cliProgress from "cli-progress";

export interface ProgressSink {
  /** `done` units of `total` are already finished (a resumed stage). */
  start(total: number, done?: number): void;
  /** `n` more units are done; `detail` (e.g. the current loss) is shown after the ETA. */
  increment(n?: number, detail?: string): void;
  /** `done` units are finished in all. */
  update(done: number, detail?: string): void;
  stop(): void;
}

export const silentProgress: ProgressSink = {
  start() {},
  increment() {},
  update() {},
  stop() {},
};

/** h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?:??:??";
  const t = Math.max(0, Math.round(seconds));
  const mm = String(Math.floor(t / 60) % 60).padStart(2, "0");
  const ss = String(t % 60).padStart(2, "0");
  return `${Math.floor(t / 3600)}:${mm}:${ss}`;
}

export interface ProgressState {
  done: number;
  total: number;
  /** Units done per second since start(). */
  rate: number;
  /** Seconds left at that rate. */
  etaSeconds: number;
}

/** Count, rate and ETA at `elapsedSeconds` after a start at `startDone` units. */
export function progressState(
  done: number,
  total: number,
  startDone: number,
  elapsedSeconds: number,
): ProgressState {
  const rate = (done - startDone) / Math.max(elapsedSeconds, 1e-3);
  return {
    done,
    total,
    rate,
    etaSeconds: done >= total ? 0 : rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY,
  };
}

function formatRate(rate: number): string {
  return rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

/** The log line of a state: `label: 40/144 images | 2.50 images/s | ETA 0:00:41 | detail`. */
export function progressLine(
  label: string,
  unit: string,
  s: ProgressState,
  detail?: string,
): string {
  const pct = s.total > 0 ? ` (${Math.floor((100 * s.done) / s.total)}%)` : "";
  return `${label}: ${s.done}/${s.total} ${unit}${pct} | ${formatRate(s.rate)} ${unit}/s | ETA ${formatDuration(s.etaSeconds)}${detail ? ` | ${detail}` : ""}`;
}

export interface ConsoleProgressOptions {
  /** What is counted, e.g. "images" (default "items"). */
  unit?: string;
  everyPercent?: number;
  everySeconds?: number;
  /** Default process.stderr; a bar only when it is a TTY. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds clock (tests). */
  now?: () => number;
}

/** A reporter writing to stderr: a bar on a TTY, periodic lines elsewhere. */
export function consoleProgress(label: string, options: ConsoleProgressOptions = {}): ProgressSink {
  const unit = options.unit ?? "items";
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const everyPercent = options.everyPercent ?? 10;
  const everyMs = (options.everySeconds ?? 30) * 1000;
  let total = 0;
  let done = 0;
  let startDone = 0;
  let startedAt = 0;
  let lastLineAt = 0;
  let nextLineAt = 0;
  const state = () => progressState(done, total, startDone, (now() - startedAt) / 1000);
  const step = () => Math.max(1, Math.ceil((total * everyPercent) / 100));
  const bar = stream.isTTY
    ? new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta} {detail}`,
          stream,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const payload = (detail?: string) => {
    const s = state();
    return { rate: formatRate(s.rate), eta: formatDuration(s.etaSeconds), detail: detail ?? "" };
  };
  const report = (detail?: string) => {
    if (bar) return bar.update(done, payload(detail));
    const t = now();
    if (done < nextLineAt && t - lastLineAt < everyMs && done < total) return;
    stream.write(`${progressLine(label, unit, state(), detail)}\n`);
    lastLineAt = t;
    nextLineAt = done + step();
  };
  return {
    start(t, already = 0) {
      total = t;
      done = already;
      startDone = already;
      startedAt = now();
      lastLineAt = startedAt;
      nextLineAt = done + step();
      if (bar) bar.start(total, done, payload());
      else stream.write(`${label}: ${total - done} of ${total} ${unit} to do\n`);
    },
    increment(n = 1, detail) {
      done += n;
      report(detail);
    },
    update(d, detail) {
      done = d;
      report(detail);
    },
    stop() {
      bar?.stop();
    },
  };
}
