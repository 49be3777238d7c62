/**
 * Reading a model saved by XGBoost's `save_model` (JSON, `binary:logistic`,
 * numerical splits) as a fraudlab tree ensemble: each tree's splits
 * (`split_indices`, `split_conditions`: x < condition goes left, missing
 * values as `default_left` says), leaf values (a leaf's
 * `split_conditions`), covers (`sum_hessian`, which TreeSHAP weighs
 * coalitions by) and gains (`loss_changes`); the first margin is the logit
 * of `base_score`. Nodes are renumbered breadth-first, children side by
 * side, as the batch scorer wants them.
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { Ensemble } from "./gbdt.ts";
import type { Tree } from "./trees.ts";

interface XgbTree {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
  sum_hessian: number[];
  loss_changes: number[];
  split_type?: number[];
}

/**
 * The ensemble of an XGBoost JSON model.
 *
 * @param value the parsed JSON
 * @param options the file (in errors) and, when known, how many features the rows have
 * @returns trees and first margin, ready for the gbdt kind
 */
export function parseXgboostModel(
  value: unknown,
  options: { what: string; features?: number },
): Ensemble {
  const what = options.what;
  const learner = (value as { learner?: Record<string, unknown> } | null)?.learner;
  const booster = learner?.gradient_booster as
    | { name?: string; model?: { trees?: XgbTree[] } }
    | undefined;
  if (!learner || !booster?.model?.trees) {
    throw new UserError(
      `${what}: not an XGBoost JSON model (no learner.gradient_booster.model.trees)`,
    );
  }
  if (booster.name !== "gbtree") {
    throw new UserError(`${what}: booster "${booster.name}" is not gbtree`);
  }
  const objective = (learner.objective as { name?: string } | undefined)?.name;
  if (objective !== "binary:logistic") {
    throw new UserError(`${what}: objective "${objective}" is not binary:logistic`);
  }
  const param = learner.learner_model_param as Record<string, string>;
  const cols = Number(param.num_feature);
  if (options.features !== undefined && cols !== options.features) {
    throw new UserError(
      `${what}: the model has ${cols} features, the spec's numeric features are ${options.features}`,
    );
  }
  const p = Number(param.base_score);
  if (!(p > 0 && p < 1)) {
    throw new UserError(`${what}: base_score ${param.base_score} is not in (0, 1)`);
  }
  let maxDepth = 1;
  const trees = booster.model.trees.map((t, k): Tree => {
    if (t.split_type?.some((s) => s !== 0)) {
      throw new UserError(`${what}: tree ${k} has categorical splits, which are not supported`);
    }
    // Breadth-first renumbering: children side by side.
    const order = [0], index = new Map<number, number>([[0, 0]]);
    for (let q = 0; q < order.length; q++) {
      const node = order[q];
      const l = t.left_children[node];
      if (l >= 0) {
        for (const c of [l, t.right_children[node]]) {
          index.set(c, order.length);
          order.push(c);
        }
      }
    }
    const m = order.length;
    const tree: Tree = {
      feature: new Int32Array(m),
      threshold: new Float32Array(m),
      left: new Int32Array(m).fill(-1),
      right: new Int32Array(m).fill(-1),
      defaultLeft: new Uint8Array(m),
      value: new Float64Array(m),
      cover: new Float64Array(m),
      gain: new Float64Array(m),
    };
    const depth = new Int32Array(m);
    order.forEach((node, i) => {
      const l = t.left_children[node];
      tree.cover[i] = t.sum_hessian[node];
      if (l < 0) {
        tree.feature[i] = -1;
        tree.value[i] = t.split_conditions[node];
        return;
      }
      tree.feature[i] = t.split_indices[node];
      if (tree.feature[i] >= cols) {
        throw new UserError(`${what}: tree ${k} splits on feature ${tree.feature[i]} of ${cols}`);
      }
      tree.threshold[i] = t.split_conditions[node];
      tree.left[i] = index.get(l)!;
      tree.right[i] = index.get(t.right_children[node])!;
      tree.defaultLeft[i] = t.default_left[node] ? 1 : 0;
      tree.gain[i] = t.loss_changes[node];
      depth[tree.left[i]] = depth[tree.right[i]] = depth[i] + 1;
      maxDepth = Math.max(maxDepth, depth[i] + 1);
    });
    return tree;
  });
  return { trees, base: Math.log(p / (1 - p)), cols, maxDepth };
}
