/** The protocol the resumability test's child builds (shared by the child and the test). */
export const CHILD_PROMPTS = [
  { id: 0, text: "a red ball on a white floor", split: "train" as const },
  { id: 1, text: "a green meadow with grass", split: "train" as const },
  { id: 5, text: "a colourful park with a crowd", split: "test" as const },
];
export const CHILD_STEPS = [1, 2, 3, 5, 9, 17, 22, 27, 33, 42, 65, 129];
export const CHILD_SEEDS = 2;
