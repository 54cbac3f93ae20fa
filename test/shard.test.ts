import t from "tap";
import { parseShard, takeShard } from "../pipeline/shard.ts";
import { range } from "./helpers/cli.ts";

t.test("shards of a range are disjoint and cover it", async (t) => {
  const ids = range(0, 99_999);
  for (const count of [1, 3, 7, 16]) {
    const seen = new Map<number, number>();
    for (let index = 0; index < count; index++) {
      const shard = takeShard(ids, parseShard(`${index}/${count}`));
      t.ok(
        Math.abs(shard.length - ids.length / count) <= 1,
        `shard ${index}/${count} is even`,
      );
      for (const id of shard) seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    t.equal(seen.size, ids.length, `${count} shards cover every id`);
    t.ok(
      [...seen.values()].every((n) => n === 1),
      `${count} shards are disjoint`,
    );
  }
});

t.test("the same shard is the same slice every time", async (t) => {
  const ids = range(10, 50);
  t.same(
    takeShard(ids, parseShard("2/5")),
    takeShard([...ids], parseShard("2/5")),
  );
  t.same(takeShard(ids, parseShard("2/5")).slice(0, 3), [12, 17, 22]);
});

t.test("bad shards are refused with the flag named", async (t) => {
  const message = (spec: string) =>
    `--shard: expected K/N with 0 <= K < N, such as 0/4, received ${spec}`;
  for (const spec of ["4/4", "1/0", "a/b", "1", "-1/3", "1/2/3"]) {
    t.throws(() => parseShard(spec), { message: message(spec) }, spec);
  }
  t.equal(parseShard(undefined), undefined);
});
