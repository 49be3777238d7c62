/**
 * Worker side of a parallel search (`tune.ts`): fits each configuration it
 * is given on every fold's training matrix (resampled as the run asks) and
 * answers the folds' figures, ticking once a fold.
 * @module
 */
import { getKind, resolveParams } from "../models/mod.ts";
import { resampleFit } from "../models/resample.ts";
import { foldFigures, type TuneWorkerJob, type TuneWorkerReply } from "./tune.ts";

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<TuneWorkerJob>) => void;
  postMessage(m: TuneWorkerReply): void;
};

scope.onmessage = async (e) => {
  const job = e.data;
  try {
    const kind = getKind(job.kind);
    for (const { index, params } of job.configs) {
      const t0 = performance.now();
      const folds = [];
      for (const f of job.folds) {
        const fit = resampleFit(f.Xtrain, f.ytrain, job.resample, job.seed);
        const detector = kind.create(resolveParams(kind, params));
        await detector.fit(fit.X, fit.y, { seed: job.seed, quiet: true });
        folds.push(foldFigures(f, detector.score(f.X), job));
        scope.postMessage({ tick: true });
      }
      scope.postMessage({ index, folds, seconds: (performance.now() - t0) / 1000 });
    }
  } catch (err) {
    scope.postMessage({ error: (err as Error).message });
  }
};
