import t from "tap";
import {
  attemptSeed,
  cleanSnippet,
  cutAtEndOfText,
  tidyWhitespace,
  trimToSentence,
  unwrapLines,
} from "../pipeline/snippet-text.ts";

t.test("text is cut at the first end-of-text marker", async (t) => {
  t.equal(cutAtEndOfText("A plot.<|endoftext|>Another story"), "A plot.");
  t.equal(cutAtEndOfText("<|endoftext|>late"), "");
  t.equal(cutAtEndOfText("no marker"), "no marker");
});

t.test("length-stopped text keeps whole sentences", async (t) => {
  t.equal(
    trimToSentence('She runs. "Wait!" he says. And then the'),
    'She runs. "Wait!" he says.',
  );
  t.equal(
    trimToSentence("Version 2.5 is out? Yes. Then"),
    "Version 2.5 is out? Yes.",
  );
  t.equal(trimToSentence("no end at all"), "");
  t.equal(
    trimToSentence("Ends with an ellipsis\u2026 and more"),
    "Ends with an ellipsis\u2026",
  );
});

t.test("hard-wrapped lines are joined inside paragraphs", async (t) => {
  t.equal(
    unwrapLines("one\ntwo \n three\n\nfour\nfive"),
    "one two three\n\nfour five",
  );
});

t.test("whitespace is tidied", async (t) => {
  t.equal(tidyWhitespace("  a  \r\n\n\n\nb \n"), "a\n\nb");
});

t.test("empty and short texts are named as such", async (t) => {
  t.same(cleanSnippet("<|endoftext|>", "eot", 10), {
    text: "",
    problem: "empty",
  });
  t.same(cleanSnippet("Tiny.", "eot", 10), {
    text: "Tiny.",
    problem: "too short (5 characters, at least 10 wanted)",
  });
  t.same(cleanSnippet("A long enough plot. And a cut-off", "length", 10), {
    text: "A long enough plot.",
  });
  t.same(cleanSnippet("A whole plot without a full stop", "eot", 10), {
    text: "A whole plot without a full stop",
  });
});

t.test(
  "attempt seeds: the base seed first, then distinct derived seeds",
  async (t) => {
    t.equal(attemptSeed(42, 0), 42);
    const seeds = new Set([0, 1, 2, 3, 4, 5].map((a) => attemptSeed(42, a)));
    t.equal(seeds.size, 6);
    t.equal(attemptSeed(42, 3), attemptSeed(42, 3), "deterministic");
    t.not(attemptSeed(42, 1), attemptSeed(43, 1));
    for (const seed of seeds) t.ok(seed >= 0 && seed <= 2 ** 32 - 1);
  },
);
