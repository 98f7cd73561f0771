/**
 * The L-SNR definitions a predictor's head may have been trained on, as bundle manifests and
 * datasets record them (SPEC §3, revised): "signal_share" = S / (S + N), what lsnr.ts computes;
 * "noise_share" = N / (S + N), the first SPEC's, exactly 1 - it. Its own module so that the
 * bundle manifest (read by the edge) can name them without pulling in the image code.
 */
export const LSNR_DEFINITIONS = ["signal_share", "noise_share"] as const;
export type LsnrDefinition = (typeof LSNR_DEFINITIONS)[number];

/** The definition lsnr.ts computes and every new head is trained on. */
export const LSNR_DEFINITION: LsnrDefinition = "signal_share";
