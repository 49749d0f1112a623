"""Per-row contributions and plain-language reasons (riskmodel.models._contributions)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.models import (
    CalibratedModel,
    LightGBMClassifier,
    LogisticClassifier,
    RuleClassifier,
    explain_rows,
    feature_contributions,
    top_reasons,
)
from riskmodel.models._contributions import BASE_VALUE
from riskmodel.models._lightgbm import _TreeShap


def _data(seed: int, n: int, p: int, *, nan_rate: float = 0.0, zero_rate: float = 0.5):
    rng = np.random.default_rng(seed)
    X = rng.poisson(1.5, size=(n, p)).astype(float)
    X[rng.uniform(size=(n, p)) < zero_rate] = 0.0
    X[:, -1] = rng.normal(size=n)  # one continuous column
    X[rng.uniform(size=(n, p)) < nan_rate] = np.nan
    logit = 0.6 * np.nan_to_num(X[:, 0]) - 0.4 * np.nan_to_num(X[:, 1]) + X[:, -1].clip(-2, 2)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(logit - 1)))).astype(float)
    return X, y


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), leaves=st.integers(2, 16), trees=st.integers(1, 12),
       nan_rate=st.sampled_from([0.0, 0.1]), missing=st.sampled_from(["nan", "zero", "none"]))
def test_vectorised_treeshap_equals_lightgbm(seed, leaves, trees, nan_rate, missing):
    # The tabulated TreeSHAP must give LightGBM's own pred_contrib values on every row,
    # whatever the tree shapes, repeated splits on a feature, and missing-value handling.
    X, y = _data(seed, 400, 5, nan_rate=nan_rate)
    params = {"objective": "binary", "num_leaves": leaves, "min_data_in_leaf": 5,
              "learning_rate": 0.3, "verbosity": -1, "seed": seed, "num_threads": 1,
              "use_missing": missing != "none", "zero_as_missing": missing == "zero",
              "bagging_fraction": 0.7, "bagging_freq": 1}
    booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=trees)
    ours = _TreeShap(booster)(X)
    theirs = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.sum(axis=1), booster.predict(X, raw_score=True), atol=1e-9)


@pytest.fixture(scope="module")
def frame():
    X, y = _data(3, 600, 4)
    cols = ["ace_total_all_count", "contacts_total_12m_count",
            "contacts_need_domestic_abuse_12m_count", "child_age_all_years"]
    return pd.DataFrame(X, columns=cols), y.astype(int)


def test_every_method_sums_to_the_margin_and_agrees(frame):
    X, y = frame
    model = CalibratedModel(LightGBMClassifier(n_estimators=25, num_leaves=7,
                                               min_child_samples=10)).fit(X, y)
    margin = model.decision_function(X)
    results = {m: feature_contributions(model, X, method=m)
               for m in ("auto", "vectorised", "lightgbm", "shap")}
    for method, c in results.items():
        assert list(c.columns) == [*X.columns, BASE_VALUE], method
        np.testing.assert_allclose(c.sum(axis=1), margin, atol=1e-9, err_msg=method)
        np.testing.assert_allclose(c, results["lightgbm"], atol=1e-9, err_msg=method)


def test_logistic_contributions_are_exact_linear_shap(frame):
    X, y = frame
    model = LogisticClassifier(C=1.0).fit(X, y)
    c = feature_contributions(CalibratedModel(model, method="sigmoid").fit(X, y), X)
    base = CalibratedModel(model, method="sigmoid").fit(X, y).base_
    expected = (X.to_numpy() - base.mean_) / base.scale_ * base.coef_
    np.testing.assert_allclose(c[list(X.columns)], expected, atol=1e-12)
    assert (c[BASE_VALUE] == base.intercept_).all()
    np.testing.assert_allclose(c.sum(axis=1), base.decision_function(X), atol=1e-9)
    # a child exactly at the training mean of a feature gets no contribution from it
    at_mean = X.iloc[[0]].copy()
    at_mean.iloc[0, 0] = base.mean_[0]
    assert feature_contributions(base, at_mean).iloc[0, 0] == pytest.approx(0.0, abs=1e-12)


def test_the_rule_ranks_by_points_and_breaks_ties_at_random():
    X = pd.DataFrame({"ace_total_all_count": [5, 0, 6, 1, 0, 0, 0, 0],
                      "contacts_total_12m_count": [0, 4, 3, 1, 0, 0, 0, 0]})
    y = [1, 1, 1, 0, 0, 0, 1, 0]
    rule = RuleClassifier().fit(X, y)
    # 3 points per ACE, 4 per contact: either old threshold is 12 points
    assert rule.points(X).tolist() == [15, 16, 30, 7, 0, 0, 0, 0]
    c = feature_contributions(rule, X)
    np.testing.assert_allclose(c.sum(axis=1), rule.decision_function(X), atol=1e-12)
    assert c.iloc[2, :2].tolist() == [18.0, 12.0]
    # the tie-break orders the four children with no points, and not in row order
    margin = rule.decision_function(X)
    assert list(np.argsort(-margin)[:4]) == [2, 1, 0, 3]
    tied = margin[4:]
    assert len(set(tied)) == 4 and list(np.argsort(tied)) != [0, 1, 2, 3]
    # calibrated: one probability per number of points, moved less than 1e-9 by the tie-break
    model = CalibratedModel(RuleClassifier(), cv=2).fit(pd.concat([X] * 10), y * 10)
    p = model.predict_proba(X)[:, 1]
    assert np.ptp(p[4:]) < 1e-9 and len(set(p[4:])) == 4
    reasons = explain_rows(rule, X)
    assert reasons.loc[2, "reason_1"] == "6 ACEs recorded — raises risk"
    assert reasons.loc[2, "reason_2"] == "3 contacts in the last 12 months — raises risk"
    assert reasons.loc[4].isna().all()  # no points, no reason


def test_tie_share_is_the_part_of_the_list_drawn_by_lot():
    from riskmodel.models import tie_share

    assert tie_share([9, 5, 5, 5, 5, 0], [True, True, True, False, False, False]) == 2 / 3
    assert tie_share([9, 5, 5, 0], [True, True, True, False]) == 0.0
    assert tie_share([1, 1], [False, False]) == 0.0


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 4))
def test_reasons_follow_the_contributions(data, n):
    # Reasons are the largest raising contributions in order; "lowers risk" appears only
    # when fewer than n features raise the risk; the words name the child's own value.
    rows, p = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 7))
    values = st.one_of(st.just(0.0), st.floats(-3, 3, allow_nan=False))
    C = np.array(data.draw(st.lists(st.lists(values, min_size=p, max_size=p),
                                    min_size=rows, max_size=rows)))
    names = [f"f{j}" for j in range(p)]
    contrib = pd.DataFrame(C, columns=names).assign(base_value=-1.0)
    V = pd.DataFrame(np.arange(rows * p).reshape(rows, p) + 100, columns=names)
    out = top_reasons(contrib, V, n=n, describe=lambda name, value: f"{name}={value}")
    assert list(out.columns) == [f"reason_{r + 1}" for r in range(n)]
    for i in range(rows):
        raising = [j for j in np.argsort(-C[i], kind="stable") if C[i, j] > 1e-6]
        lowering = [j for j in np.argsort(C[i], kind="stable") if C[i, j] < -1e-6]
        expected = [f"f{j}={V.iloc[i, j]} — raises risk" for j in raising[:n]]
        expected += [f"f{j}={V.iloc[i, j]} — lowers risk" for j in lowering[:n - len(expected)]]
        got = [r for r in out.iloc[i] if pd.notna(r)]
        # equal contributions may come in either order: compare the contributions named
        def contribution(reason, i=i):
            return C[i, int(reason.split("=")[0][1:])]
        assert [contribution(r) for r in got] == [contribution(r) for r in expected]
        assert [r.split(" — ")[1] for r in got] == [r.split(" — ")[1] for r in expected]
        for r in got:
            name = r.split("=")[0]
            assert r.split(" — ")[0] == f"{name}={V.iloc[i, int(name[1:])]}"


def test_words_come_from_the_feature_dictionary():
    names = ["contacts_need_domestic_abuse_12m_count", "contacts_source_police_12m_count",
             "contacts_last_all_days", "contacts_last_all_days_missing"]
    contrib = pd.DataFrame([[0.9, 0.2, 0.5, 0.4], [0.1, 0.3, np.nan, 0.0]], columns=names)
    X = pd.DataFrame([[3, 0, 3650, 1], [1, 2, 40, 0]], columns=names)
    out = top_reasons(contrib, X)
    # the sign decides: no police contacts can raise risk if the model says so
    assert out.iloc[0].tolist() == [
        "3 contacts about domestic abuse in the last 12 months — raises risk",
        # an imputed value speaks through its missing flag, and only once
        "no earlier contact recorded — raises risk",
        "no police contacts in the last 12 months — raises risk",
    ]
    assert out.iloc[1].tolist()[:2] == [
        "2 police contacts in the last 12 months — raises risk",
        "1 contact about domestic abuse in the last 12 months — raises risk",
    ]
    assert pd.isna(out.iloc[1, 2])  # zero (or unknown) contributions are never reasons


# ---------------------------------------------------------------- TreeSHAP's routes -----------

def _lgb_frame(n=3000, p=6, seed=3):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.poisson(1.5, size=(n, p)).astype(float),
                     columns=[f"f{j}" for j in range(p)])
    y = (X.f0 + X.f1 * X.f2 / 3 + rng.normal(size=n) > 3).astype(int)
    return X, y


def _pred_contrib(model, X):
    return model.booster_.predict(X.to_numpy(dtype=float), pred_contrib=True)


def test_a_tree_too_big_for_the_tables_falls_back_to_pred_contrib_and_says_so(caplog):
    from riskmodel.models._lightgbm import _MAX_PATH, _SHAP_CACHE

    X, y = _lgb_frame()
    model = LightGBMClassifier(n_estimators=5, num_leaves=63, min_child_samples=5).fit(X, y)
    assert max(t["num_leaves"] for t in model.booster_.dump_model()["tree_info"]) > _MAX_PATH + 1
    with caplog.at_level("INFO", logger="riskmodel.models._lightgbm"):
        got = feature_contributions(model, X.head(400), method="vectorised")
    assert _SHAP_CACHE[model.booster_] is False  # remembered: not tried again
    assert "TreeSHAP tables not built (tree with more splits" in caplog.text
    np.testing.assert_allclose(got.to_numpy(), _pred_contrib(model, X.head(400)), atol=1e-9)


def test_a_categorical_split_falls_back_to_pred_contrib(caplog):
    import lightgbm as lgb

    from riskmodel.models._lightgbm import _SHAP_CACHE

    X, y = _lgb_frame(seed=5)
    X["f5"] = np.arange(len(X)) % 4
    y = ((X.f5 == 1) | (X.f5 == 3)).astype(int) ^ (np.arange(len(X)) % 7 == 0)
    model = LightGBMClassifier(n_estimators=5, num_leaves=7)
    model._set_features(X)
    model.booster_ = lgb.train({"objective": "binary", "num_leaves": 7, "verbosity": -1,
                                "min_data_per_group": 5, "cat_smooth": 1},
                               lgb.Dataset(X.to_numpy(float), label=y.to_numpy(),
                                           categorical_feature=[5]),
                               num_boost_round=5)
    assert "'decision_type': '=='" in str(model.booster_.dump_model()["tree_info"])
    with caplog.at_level("INFO", logger="riskmodel.models._lightgbm"):
        got = feature_contributions(model, X.head(300), method="vectorised")
    assert _SHAP_CACHE[model.booster_] is False
    assert "categorical split" in caplog.text
    np.testing.assert_allclose(got.to_numpy(), _pred_contrib(model, X.head(300)), atol=1e-9)


def test_few_rows_use_pred_contrib_until_the_tables_exist():
    from riskmodel.models._lightgbm import _FEW_ROWS, _SHAP_CACHE

    X, y = _lgb_frame(seed=7)
    model = LightGBMClassifier(n_estimators=20, num_leaves=7).fit(X, y)
    few = X.head(_FEW_ROWS - 1)
    first = feature_contributions(model, few)  # auto, few rows, nothing cached
    assert model.booster_ not in _SHAP_CACHE  # no tables were built for a few rows
    feature_contributions(model, X, method="auto")  # many rows: the tables are built
    assert _SHAP_CACHE[model.booster_] not in (None, False)
    again = feature_contributions(model, few)  # few rows, but now from the cached tables
    for got in (first, again):
        np.testing.assert_allclose(got.to_numpy(), _pred_contrib(model, few), atol=1e-9)


def test_a_kind_registered_in_one_place_is_fitted_saved_explained_and_worded(frame):
    # The registry is the one list of kinds: a kind defined and registered here (and nowhere
    # else) can be named by a training spec, fitted, stored as JSON, loaded, explained and
    # described, with no other module edited.
    import json

    from riskmodel.models import KINDS, Base, Kind, make_model, model_from_dict, register_kind
    from riskmodel.training import Candidate

    class AceCount(Base):
        kind = "ace_count"

        def __init__(self, *, weight: float = 1.0):
            self.weight = weight

        def fit(self, X, y):
            self._set_features(X)
            self.offset_ = float(np.mean(y))
            return self

        def decision_function(self, X):
            return self.weight * np.asarray(X["ace_total_all_count"], dtype=float) + self.offset_

        def contributions(self, A, method="auto"):
            out = np.zeros((len(A), len(self.feature_names_in_) + 1))
            out[:, 0] = self.weight * A[:, 0]
            out[:, -1] = self.offset_
            return out

        def state(self):
            return {"offset": self.offset_}

        def load_state(self, d):
            self.offset_ = d["offset"]

    X, y = frame
    register_kind(Kind("ace_count", AceCount, words="the ACE count",
                       method_words="the ACE count times its weight"))
    try:
        assert Candidate(name="c", kind="ace_count").kind == "ace_count"
        model = make_model("ace_count", {"weight": 0.5}, calibration="sigmoid").fit(X, y)
        loaded = model_from_dict(json.loads(json.dumps(model.to_dict())))
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
        c = feature_contributions(loaded, X)
        np.testing.assert_allclose(c.sum(axis=1), loaded.decision_function(X), atol=1e-12)
        row = X[X["ace_total_all_count"] == 2].head(1)
        assert explain_rows(loaded, row)["reason_1"].tolist() == ["2 ACEs recorded — raises risk"]
        assert KINDS[loaded.kind].words == "the ACE count"
    finally:
        KINDS.remove("ace_count")
    with pytest.raises(ValueError, match="unknown model kind 'ace_count'"):
        model_from_dict(model.to_dict())


def test_a_loaded_models_reasons_use_its_own_feature_spec():
    # The words come from the spec recorded with the model: a council that counts a repeat
    # contact within 6 months is never told "within 12 months".
    from types import SimpleNamespace

    from riskmodel.features import load_feature_spec

    spec = load_feature_spec().model_dump(mode="json")
    spec["builders"]["contacts"]["repeat_within_months"] = 6
    X = pd.DataFrame({"contacts_repeat_12m_count": [0, 1, 2, 3] * 20})
    y = (X["contacts_repeat_12m_count"] >= 2).astype(int)
    y.iloc[:4] = 1 - y.iloc[:4]
    model = CalibratedModel(LogisticClassifier(), method="sigmoid").fit(X, y)
    loaded = SimpleNamespace(model=model, meta={"feature_spec": spec})
    reason = explain_rows(loaded, X.iloc[[3]])["reason_1"].iloc[0]
    assert reason == ("3 repeat contacts (within 6 months of the one before) in the last 12 "
                      "months — raises risk")
    assert "within 12 months" in explain_rows(model, X.iloc[[3]])["reason_1"].iloc[0]
