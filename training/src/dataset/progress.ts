/**
 * Progress reporting for long stages: count, rate and ETA (cli-progress on a TTY, periodic log
 * lines otherwise, nothing in tests).
 */
import cliProgress from "cli-progress";

export interface ProgressSink {
  start(total: number, done: number): void;
  increment(): void;
  stop(): void;
}

export const silentProgress: ProgressSink = { start() {}, increment() {}, stop() {} };

/** A cli-progress bar on a TTY; elsewhere one line per `everyPercent` % with rate and ETA. */
export function consoleProgress(label: string, everyPercent = 10): ProgressSink {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {percentage}% | {rate}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = 0;
    let count = 0;
    return {
      start(total, done) {
        started = performance.now();
        count = 0;
        bar.start(total, done, { rate: "0.00" });
      },
      increment() {
        count++;
        const rate = count / Math.max(1e-3, (performance.now() - started) / 1000);
        bar.increment(1, { rate: rate.toFixed(2) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let total = 0;
  let value = 0;
  let count = 0;
  let started = 0;
  let nextReport = 0;
  return {
    start(t, done) {
      total = t;
      value = done;
      started = performance.now();
      nextReport = done + Math.max(1, Math.ceil((t * everyPercent) / 100));
      process.stderr.write(`${label}: ${done}/${t} already done\n`);
    },
    increment() {
      value++;
      count++;
      if (value >= nextReport || value === total) {
        const rate = count / Math.max(1e-3, (performance.now() - started) / 1000);
        const eta = rate > 0 ? (total - value) / rate : 0;
        process.stderr.write(
          `${label}: ${value}/${total} | ${rate.toFixed(2)}/s | ETA ${eta.toFixed(0)} s\n`,
        );
        nextReport = value + Math.max(1, Math.ceil((total * everyPercent) / 100));
      }
    },
    stop() {},
  };
}
