import { deepStrictEqual, equal } from "@std/assert";
import { History } from "../../static/history.js";

/** A Storage that holds at most `quota` characters, like a full localStorage. */
function memoryStorage(quota = Infinity): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    key: (i: number) => [...items.keys()][i] ?? null,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => {
      if (v.length > quota) throw new DOMException("full", "QuotaExceededError");
      items.set(k, v);
    },
    removeItem: (k: string) => void items.delete(k),
    clear: () => items.clear(),
  };
}

const entry = (id: string) => ({
  id,
  at: 1,
  settings: { model: "digits", prompt: id, guidance: { mode: "none" } },
  image: "data:image/png;base64,AAAA",
});

Deno.test("History keeps the newest entries first, at most its limit, across instances", () => {
  const storage = memoryStorage();
  const history = new History({ storage, limit: 3 });
  for (const id of ["a", "b", "c", "d"]) history.add(entry(id));
  deepStrictEqual(history.entries.map((e) => e.id), ["d", "c", "b"]);
  deepStrictEqual(new History({ storage, limit: 3 }).entries.map((e) => e.id), ["d", "c", "b"]);
  history.clear();
  equal(new History({ storage }).entries.length, 0);
});

Deno.test("History keeps fewer entries when storage is full and ignores broken saved data", () => {
  const storage = memoryStorage(600);
  const history = new History({ storage, limit: 10 });
  for (const id of ["a", "b", "c", "d", "e", "f"]) history.add(entry(id));
  equal(history.entries.length, 6);
  const saved = new History({ storage }).entries;
  equal(saved[0].id, "f");
  equal(saved.length < 6, true);
  storage.setItem("digits.history.v1", "{not json");
  equal(new History({ storage }).entries.length, 0);
});
