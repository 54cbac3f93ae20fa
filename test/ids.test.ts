import t from "tap";
import { formatIdList, parseIdList } from "../pipeline/ids.ts";

t.test(
  "mixed lists and ranges keep their order without duplicates",
  async (t) => {
    t.same(parseIdList("0,7,10-13", "--seeds"), [0, 7, 10, 11, 12, 13]);
    t.same(parseIdList("5,1-3,2", "--seeds"), [5, 1, 2, 3]);
    t.same(parseIdList("4294967295", "--seeds"), [4294967295]);
    t.same(parseIdList(42, "--seeds"), [42]);
  },
);

t.test("bad parts are refused naming the flag and the part", async (t) => {
  const cases: [unknown, string][] = [
    [
      "1-x",
      '--seeds: expected numbers and ranges like 0,7,10-19, received "1-x"',
    ],
    [
      "-5",
      '--seeds: expected numbers and ranges like 0,7,10-19, received "-5"',
    ],
    [
      "1,,2",
      '--seeds: expected numbers and ranges like 0,7,10-19, received ""',
    ],
    [
      "9-3",
      '--seeds: expected a range that counts up (low-high), received "9-3"',
    ],
    [
      "4294967296",
      '--seeds: expected numbers from 0 to 4294967295, received "4294967296"',
    ],
    [
      "0-4294967295",
      '--seeds: expected ranges of at most 10000000 ids, received "0-4294967295"',
    ],
    ["", "--seeds: expected a list like 0,7,10-19, received "],
    [
      "1.5",
      '--seeds: expected numbers and ranges like 0,7,10-19, received "1.5"',
    ],
  ];
  for (const [spec, message] of cases) {
    t.throws(() => parseIdList(spec, "--seeds"), { message }, String(spec));
  }
});

t.test("formatIdList compacts runs", async (t) => {
  t.equal(formatIdList([3, 0, 1, 2, 7, 9, 10]), "0-3,7,9-10");
  t.equal(formatIdList([1, 3, 5], 2), "1,3,... (3 ids)");
});
