/**
 * Exact conversion of a bundle whose L-SNR head was trained on the first SPEC's definition
 * (noise_share, N/(S+N)) into one that serves the revised one (signal_share, S/(S+N)): SPEC §3
 * makes them exactly y and 1 - y, so no retraining is needed to serve the new direction. The
 * head's ONNX graph gets two nodes after its output, Mul(-1) then Add(1): the negation is exact,
 * so every served score is 1 - y rounded once to float32, the same number as computing 1 - y
 * outside the graph. In a multi-head file only the L-SNR channel is mapped (x * 1 + 0 = x
 * exactly for the others). t* is unchanged in exact arithmetic (the plateau rule reads
 * |changes|), and D-SIM and I-CLIP files are copied byte for byte.
 *
 * The manifest says what was done (metric_definitions.lsnr.converted_from) and that the
 * evaluation it carries was measured under the old definition (evaluation.lsnr_definition):
 * its L-SNR relative quality used q = 1 - N/(S+N), which a conversion cannot recompute.
 */
import { createHash } from "node:crypto";
import { ValidationError } from "@budgetfusion/shared/errors";
import { LSNR_DEFINITION } from "@budgetfusion/shared/metrics/lsnr-definition";
import {
  type BundleManifest,
  bundleManifestSchema,
  lsnrDefinitionOf,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { appendAfterOutput } from "../export/onnx-output-edit";
import type { VerifiedBundle } from "./bundle-files";

/**
 * `model` with its output `output` mapped y -> 1 - y; with `channel` (multi-head: the L-SNR
 * index among `channels` on the last axis) that channel alone.
 */
export function invertModelOutput(
  model: Uint8Array,
  output: string,
  channel?: { index: number; channels: number },
): Uint8Array {
  const sign = channel
    ? Array.from({ length: channel.channels }, (_, c) => (c === channel.index ? -1 : 1))
    : [-1];
  const shift = channel
    ? Array.from({ length: channel.channels }, (_, c) => (c === channel.index ? 1 : 0))
    : [1];
  const dims = channel ? [channel.channels] : [];
  return appendAfterOutput(model, output, `${output}_noise_share`, (before, g) => {
    const signName = g.float("lsnr_revision_sign", dims, sign);
    const shiftName = g.float("lsnr_revision_shift", dims, shift);
    const negated = g.fresh("lsnr_revision_negated");
    g.node("Mul", "LsnrRevisionMul", [before, signName], negated);
    g.node("Add", "LsnrRevisionAdd", [negated, shiftName], output);
  });
}

/**
 * The converted bundle as `version`, files and manifest text ready to publish; refuses a
 * signal_share one. Deterministic (created_at stays the source's: its heads were trained then),
 * so converting again reproduces the bundle byte for byte.
 */
export function convertLsnrBundle(source: VerifiedBundle, version: string): VerifiedBundle {
  const from = source.manifest;
  const definition = lsnrDefinitionOf(from);
  if (definition === LSNR_DEFINITION)
    throw new ValidationError(
      `bundle ${from.version}: its L-SNR head already outputs "${LSNR_DEFINITION}" S/(S+N); nothing to convert`,
      { field: "metric_definitions.lsnr.definition" },
    );
  const lsnrRef = from.predictor.files.lsnr;
  const channel =
    from.predictor.kind === "multi-head"
      ? { index: from.metrics.indexOf("lsnr"), channels: from.metrics.length }
      : undefined;
  const original = source.files.find((f) => f.ref.file === lsnrRef.file);
  if (original === undefined)
    throw new ValidationError(`bundle ${from.version} lacks ${lsnrRef.file}`, {
      field: "predictor.files.lsnr",
    });
  const bytes = Uint8Array.from(invertModelOutput(original.bytes, from.predictor.output, channel));
  const ref = {
    file: lsnrRef.file,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes: bytes.byteLength,
  };
  // multi-head: the one file is every metric's, so every reference to it changes.
  const files = Object.fromEntries(
    Object.entries(from.predictor.files).map(([m, r]) => [m, r.file === ref.file ? ref : r]),
  ) as BundleManifest["predictor"]["files"];
  const manifest = bundleManifestSchema.parse({
    ...from,
    version,
    predictor: { ...from.predictor, files },
    metric_definitions: { lsnr: { definition: LSNR_DEFINITION, converted_from: definition } },
    evaluation: { ...from.evaluation, lsnr_definition: definition, converted_from: from.version },
  } satisfies BundleManifest);
  return {
    manifest,
    manifestText: `${JSON.stringify(manifest, null, 1)}\n`,
    files: source.files.map((f) => (f.ref.file === ref.file ? { ref, bytes } : f)),
  };
}
