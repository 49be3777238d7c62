"""The Handbook's chapter 3 models in scikit-learn and XGBoost (the book's
own libraries and settings) on the matrices bench/handbook.ts --peer writes:
the same rows and features as fraudlab's models see, so the two differ only
by their implementations. Prints one JSON line per model.

    /usr/bin/python3 bench/handbook_peer.py DIR   # Debian's python3-sklearn, python3-xgboost
"""
import json
import sys
import time

import numpy as np
import pandas as pd
import sklearn.ensemble
import sklearn.linear_model
import sklearn.tree
import xgboost
from sklearn.metrics import average_precision_score, roc_auc_score

d = sys.argv[1]
train = pd.read_csv(f"{d}/train.csv")
test = pd.read_csv(f"{d}/test.csv")
features = [c for c in train.columns if c not in ("label", "day", "card")]


def card_precision_top_k(df, k=100):
    """The book's card_precision_top_k, detected cards removed."""
    detected, per_day = set(), []
    for day in sorted(df.day.unique()):
        day_df = df[(df.day == day) & (~df.card.isin(detected))]
        cards = day_df.groupby("card").max().sort_values("score", ascending=False).reset_index()
        top = cards.head(k)
        found = list(top[top.label == 1].card)
        per_day.append(len(found) / k)
        detected.update(found)
    return float(np.mean(per_day))


models = {
    "logreg": sklearn.linear_model.LogisticRegression(random_state=0),
    "dt2": sklearn.tree.DecisionTreeClassifier(max_depth=2, random_state=0),
    "dt": sklearn.tree.DecisionTreeClassifier(random_state=0),
    "rf": sklearn.ensemble.RandomForestClassifier(random_state=0, n_jobs=2),
    "gbdt": xgboost.XGBClassifier(random_state=0, n_jobs=2),
    # XGBoost's histogram method (256 bins), as fraudlab's trees bin: where it differs
    # from the exact method above, the bins are why.
    "gbdt_hist": xgboost.XGBClassifier(random_state=0, n_jobs=2, tree_method="hist"),
    # Chapter 6's XGBoost (50 trees of depth 3 at learning rate 0.3), exact and histogram.
    "gbdt_small": xgboost.XGBClassifier(n_estimators=50, max_depth=3, learning_rate=0.3, random_state=0, n_jobs=2),
    "gbdt_small_hist": xgboost.XGBClassifier(n_estimators=50, max_depth=3, learning_rate=0.3, random_state=0, n_jobs=2, tree_method="hist"),
}
for name, m in models.items():
    t0 = time.time()
    m.fit(train[features].values, train.label.values)
    s = m.predict_proba(test[features].values)[:, 1]
    scored = test.assign(score=s)
    print(json.dumps({
        "model": name,
        "auc": roc_auc_score(test.label, s),
        "ap": average_precision_score(test.label, s),
        "cp100": card_precision_top_k(scored),
        "seconds": time.time() - t0,
    }), flush=True)
