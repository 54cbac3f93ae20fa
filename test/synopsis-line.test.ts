import t from "tap";
import { formatSynopsis, parseSynopsis } from "../pipeline/synopsis-line.ts";

t.test(
  "a title|synopsis line is parsed and the source note removed",
  async (t) => {
    const parsed = parseSynopsis(
      "Star Rail Girls|Three students find a train that runs between stars. (Source: ANN)",
    );
    t.same(parsed, {
      title: "Star Rail Girls",
      synopsis: "Three students find a train that runs between stars.",
    });
    t.equal(
      formatSynopsis(parsed!),
      "_Star Rail Girls_: Three students find a train that runs between stars.",
    );
    t.same(
      parseSynopsis("Moon|A quiet town. [Written by MAL Rewrite]")?.synopsis,
      "A quiet town.",
    );
  },
);

t.test("malformed lines are skipped; the first good line wins", async (t) => {
  t.equal(parseSynopsis("no bar here"), undefined);
  t.equal(parseSynopsis("|synopsis without a title"), undefined);
  t.equal(parseSynopsis("Title without synopsis|   "), undefined);
  t.equal(parseSynopsis("Two|bars|here"), undefined);
  t.equal(parseSynopsis(""), undefined);
  t.same(parseSynopsis("garbage\nA|b c\nD|e"), { title: "A", synopsis: "b c" });
});
