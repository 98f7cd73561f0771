/** Prompts whose reference curves the global setup computes (imported by Node and workerd code). */
export const PROBE_PROMPTS = [
  "a colorful park with a crowd",
  "a white and empty wall",
  "an astronaut",
];
