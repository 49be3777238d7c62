/**
 * TensorFlow.js, loaded on demand: only the autoencoder's `engine=tfjs`
 * training path needs it, so nothing else (the scoring server among them)
 * loads the tensor runtime. The wasm backend (SIMD, about 2.6× faster
 * training than the cpu backend under Deno) is chosen once, falling back to
 * the cpu backend when wasm cannot start.
 * @module
 */
import type * as Core from "@tensorflow/tfjs-core";
import type * as Layers from "@tensorflow/tfjs-layers";

/**
 * The part of TensorFlow.js fraudlab uses: the core (tensors, optimizers,
 * losses) and the layers API's `sequential` and `layers`. Installed as the
 * core, layers, cpu and wasm packages rather than the `@tensorflow/tfjs`
 * bundle, whose converter, data and WebGL parts nothing here needs
 * (node_modules 603 → 391 MB).
 */
export type Tf = typeof Core & Pick<typeof Layers, "sequential" | "layers">;

let ready: Promise<{ tf: Tf; backend: string }> | null = null;

/**
 * Loads TensorFlow.js and its wasm backend once and selects the backend
 * (wasm, else cpu; `FRAUDLAB_TF_BACKEND` overrides).
 */
export function loadTf(): Promise<{ tf: Tf; backend: string }> {
  ready ??= (async () => {
    const core = await import("@tensorflow/tfjs-core");
    const layers = await import("@tensorflow/tfjs-layers");
    await import("@tensorflow/tfjs-backend-cpu");
    await import("@tensorflow/tfjs-backend-wasm");
    const tf: Tf = { ...core, sequential: layers.sequential, layers: layers.layers };
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
