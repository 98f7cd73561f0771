/**
 * The settled dead zone (model/curve-dead-zone.ts) appended to an exported single-head model:
 * scores' = scores - Clip(scores - scores[:, -1:], -δ, δ). Gather with index -1 reads the last
 * step whatever the dense length, so it fits grid and dense exports alike. δ = 0 is the identity
 * and returns the model unchanged.
 */
import { ValidationError } from "@budgetfusion/shared/errors";
import { appendAfterOutput } from "./onnx-output-edit";

export function withDeadZone(model: Uint8Array, delta: number, output = "scores"): Uint8Array {
  if (!Number.isFinite(delta) || delta < 0)
    throw new ValidationError(`dead zone δ must be a finite number >= 0, got ${delta}`, {
      field: "delta",
    });
  if (delta === 0) return model;
  return appendAfterOutput(model, output, `${output}_before_dead_zone`, (before, g) => {
    const last = g.fresh("dead_zone_end");
    const distance = g.fresh("dead_zone_distance");
    const kept = g.fresh("dead_zone_kept");
    g.node("Gather", "DeadZoneEnd", [before, g.int64("dead_zone_last", [1], [-1])], last, 1);
    g.node("Sub", "DeadZoneDistance", [before, last], distance);
    g.node(
      "Clip",
      "DeadZoneClip",
      [distance, g.float("dead_zone_low", [], [-delta]), g.float("dead_zone_high", [], [delta])],
      kept,
    );
    g.node("Sub", "DeadZoneApply", [before, kept], output);
  });
}
