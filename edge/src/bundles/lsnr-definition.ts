/**
 * SPEC §3's revision reversed L-SNR: a head trained on the first definition, N/(S+N), predicts
 * 1 - the revised S/(S+N). Its t* would be unchanged (the plateau rule reads |changes|), but its
 * curves and any quality read off them would be the wrong way round, so this edge serves only
 * bundles whose manifest says their head outputs S/(S+N). Its own module: uploads, activations
 * and loads of stored bundles all apply the one check.
 */
import { LSNR_DEFINITION } from "@budgetfusion/shared/metrics/lsnr-definition";
import {
  type BundleManifest,
  lsnrDefinitionOf,
} from "@budgetfusion/shared/predictor/bundle-manifest";
import { InvalidBundleError } from "./verify-bundle";

const LSNR_DEFINITION_FIELD = "metric_definitions.lsnr.definition";

/** Throws InvalidBundleError (422) naming the manifest field and both ways to fix it. */
export function requireServedLsnrDefinition(manifest: BundleManifest): void {
  const definition = lsnrDefinitionOf(manifest);
  if (definition === LSNR_DEFINITION) return;
  const recorded =
    manifest.metric_definitions === undefined
      ? "has no metric_definitions, so it predates SPEC §3's revision and its L-SNR head outputs"
      : `says its L-SNR head outputs "${definition}",`;
  throw new InvalidBundleError(
    `bundle ${manifest.version} ${recorded} N/(S+N) (the first SPEC's L-SNR); this edge serves ` +
      `${LSNR_DEFINITION_FIELD} "${LSNR_DEFINITION}", L-SNR = S/(S+N) (SPEC §3 revised). Retrain ` +
      "the bundle, or convert it exactly (y -> 1 - y): npm run bundle:convert-lsnr -- --bundle DIR --out DIR",
    { field: LSNR_DEFINITION_FIELD },
  );
}
