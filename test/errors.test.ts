import t from "tap";
import { badInput, describeValue } from "../pipeline/errors.ts";

t.test("badInput names the flag, the expectation and what came", async (t) => {
  t.equal(
    badInput("--psi", "a number in [-2, 2]", "abc").message,
    "--psi: expected a number in [-2, 2], received abc",
  );
  t.equal(describeValue(3), "3 (number)");
  t.equal(describeValue(undefined), "nothing");
});
