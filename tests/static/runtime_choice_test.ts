import { equal } from "@std/assert";
import { initialRuntime, RUNTIME_KEY, runtimeUrl, saveRuntime } from "../../static/runtime_choice.js";

function memoryStorage(): Pick<Storage, "getItem" | "setItem"> {
  const items = new Map<string, string>();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) };
}

Deno.test("initialRuntime() takes ?runtime= first, then the saved choice, then the server", () => {
  const storage = memoryStorage();
  equal(initialRuntime("http://h/", storage), "server");
  saveRuntime("local", storage);
  equal(storage.getItem(RUNTIME_KEY), "local");
  equal(initialRuntime("http://h/", storage), "local");
  equal(initialRuntime("http://h/?runtime=server", storage), "server");
  equal(initialRuntime("http://h/?runtime=gpu", storage), "local");
  equal(initialRuntime("http://h/?runtime=local", null), "local");
});

Deno.test("runtimeUrl() sets ?runtime= and keeps the other parameters", () => {
  equal(runtimeUrl("http://h/?token=t", "local"), "http://h/?token=t&runtime=local");
  equal(runtimeUrl("http://h/?runtime=local#x", "server"), "http://h/?runtime=server#x");
});
