import { describe, expect, it } from "vitest";
import { stepsVersus } from "./steps-versus";

describe("stepsVersus", () => {
  it.each([
    [17, 65, "74 % fewer steps than 65"],
    [81, 65, "25 % more steps than 65"],
    [65, 65, "as many steps as 65"],
    [20, 65, "69 % fewer steps than 65"],
    [129, 65, "98 % more steps than 65"],
    [399, 400, "< 1 % fewer steps than 400"],
  ])("%i against %i reads %s", (steps, reference, text) => {
    expect(stepsVersus(steps, reference)).toBe(text);
  });

  it("refers to nothing outside its body, so the page can embed its source", () => {
    const embedded = new Function(`return ${stepsVersus.toString()}`)() as typeof stepsVersus;
    expect(embedded(30, 65)).toBe(stepsVersus(30, 65));
  });
});
