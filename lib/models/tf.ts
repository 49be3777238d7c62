/**
 * TensorFlow.js, loaded on demand: only the autoencoder's `engine=tfjs`
 * training path needs it, so nothing else (the scoring server among them)
 * loads the tensor runtime. The wasm backend (SIMD, about 2.6× faster
 * training than the cpu backend under Deno) is chosen once, falling back to
 * the cpu backend when wasm cannot start.
 * @module
 */
import type * as TF from "@tensorflow/tfjs";

/** The TensorFlow.js namespace, as `import * as tf` gives it. */
export type Tf = typeof TF;

let ready: Promise<{ tf: Tf; backend: string }> | null = null;

/**
 * Loads TensorFlow.js and its wasm backend once and selects the backend
 * (wasm, else cpu; `FRAUDLAB_TF_BACKEND` overrides).
 */
export function loadTf(): Promise<{ tf: Tf; backend: string }> {
  ready ??= (async () => {
    const tf = await import("@tensorflow/tfjs");
    await import("@tensorflow/tfjs-backend-wasm");
    const wanted = Deno.env.get("FRAUDLAB_TF_BACKEND") ?? "wasm";
    let ok = false;
    try {
      ok = await tf.setBackend(wanted);
    } catch {
      ok = false;
    }
    if (!ok) await tf.setBackend("cpu");
    await tf.ready();
    return { tf, backend: tf.getBackend() };
  })();
  return ready;
}

/** Loads TensorFlow.js (see {@linkcode loadTf}); resolves to the backend's name. */
export async function tfReady(): Promise<string> {
  return (await loadTf()).backend;
}
