import assert from "node:assert/strict";

Deno.test("lowerThreadPriority: a worker's own thread is lowered, the rest of the process is not", async () => {
  const module = new URL("./priority.ts", import.meta.url).href;
  const code = `
    import { lowerThreadPriority, BACKGROUND_NICE } from "${module}";
    const nice = () => Number(Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1].split(" ")[16]);
    const before = nice(), set = lowerThreadPriority();
    self.postMessage({ before, set, after: nice(), want: BACKGROUND_NICE });
  `;
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const w = new Worker(url, { type: "module" });
  const m = await new Promise<{ before: number; set: boolean; after: number; want: number }>(
    (resolve) => w.onmessage = (e) => resolve(e.data),
  );
  w.terminate();
  URL.revokeObjectURL(url);
  const mine = Number(
    Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1].split(" ")[16],
  );
  assert.equal(m.set, true);
  assert.equal(m.after, Math.max(m.before, m.want));
  assert.equal(mine, m.before, "this thread keeps its priority");
});
