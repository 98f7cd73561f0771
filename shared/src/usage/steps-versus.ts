/**
 * How a step budget reads next to a reference count: "74 % fewer steps than 65", "24 % more
 * steps than 65", "as many steps as 65". One wording for the API's docs and the page at /, which
 * embeds this function's source (Function.toString), so it refers to nothing outside its body.
 */
export function stepsVersus(steps: number, reference: number): string {
  if (steps === reference) return `as many steps as ${reference}`;
  const percent = Math.round((Math.abs(steps - reference) / reference) * 100);
  // A difference that rounds to 0 % still says which way it goes.
  const shown = percent === 0 ? "< 1" : String(percent);
  return `${shown} % ${steps < reference ? "fewer" : "more"} steps than ${reference}`;
}
