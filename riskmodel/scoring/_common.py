"""Values (nearly) the whole cohort shares: never shown as a child's reason.

A reason is there to tell a panel what sets a child apart. "current episode: early help
pathway — raises risk" says nothing to a panel when three in four children open to early
help are on that pathway. So a reason is left out of the words when **the child's value of
that feature is shared by at least 75% of the scored cohort** (``COMMON_SHARE``); the rule
applies to cohorts of at least 50 scored children (``MIN_COHORT``: in a smaller cohort a
share says little). A value held by fewer than three in four children is always eligible,
so a rare value ("1 youth justice contact") is never hidden because most children have
none. The full contributions are unchanged (``riskmodel explain``,
:func:`riskmodel.models.feature_contributions`).

Only a value held by more than half of the cohort can reach 75%, and such a value is the
median of any fair sample of the cohort. So each feature's candidate is the median of a
random sample of up to 5,000 scored children from the first rows read (the whole cohort
when it fits in one ``--chunk-size``, as a council's monthly cohort does), and its share is
then counted exactly over every scored child. A wrong candidate could only leave a common
value shown, never hide an uncommon one.
"""

from __future__ import annotations

import numpy as np

from riskmodel._core.errors import InputError

COMMON_SHARE = 0.75
MIN_COHORT = 50
SAMPLE = 5_000


def _words(name: str, value) -> str:
    """A feature value in the words a reason would use (the feature dictionary's)."""
    from riskmodel.features import describe_feature

    try:
        return describe_feature(name, value)
    except InputError:
        return f"{name} = {value}"


class CommonValues:
    """Count, chunk by chunk, how many scored children share each feature's common value.

    Parameters
    ----------
    features : list of str
        The matrix's feature columns, in the order of the float blocks.
    used : bool array, optional
        The features the model reads (the others are never reasons and are not counted).

    Examples
    --------
    >>> cv = CommonValues(["a", "b"])
    >>> A = np.column_stack([np.ones(60), np.arange(60) % 3])
    >>> cv.add(A, np.ones(60, bool))
    >>> cv.common()
    {'a': 1.0}
    """

    def __init__(self, features: list[str], used=None, *, seed: int = 0):
        self.features = list(features)
        self.used = (np.ones(len(self.features), bool) if used is None
                     else np.asarray(used, bool))
        self.rng = np.random.default_rng(seed)
        self.candidate: np.ndarray | None = None
        self.pending: list[np.ndarray] = []
        self.n_pending = 0
        self.count = np.zeros(len(self.features), dtype=np.int64)
        self.n = 0

    def add(self, A: np.ndarray, good: np.ndarray) -> None:
        """Count a chunk's scored rows (``good``); ``A`` may be a reused buffer."""
        rows = A if good.all() else A[good]
        if len(rows) == 0:
            return
        if self.candidate is None:
            if self.n_pending + len(rows) < SAMPLE:
                self.pending.append(np.array(rows, copy=True))
                self.n_pending += len(rows)
                return
            take = min(len(rows), SAMPLE)
            pick = np.sort(self.rng.choice(len(rows), size=take, replace=False))
            self._choose(np.concatenate([*self.pending, rows[pick]]))
        self._count(rows)

    def _choose(self, sample: np.ndarray) -> None:
        mid = len(sample) // 2
        cand = np.partition(sample, mid, axis=0)[mid].astype(np.float64)
        cand[~self.used] = np.nan  # never equal: unused features are not counted
        self.candidate = cand
        for block in self.pending:
            self._count(block)
        self.pending, self.n_pending = [], 0

    def _count(self, rows: np.ndarray) -> None:
        self.count += np.count_nonzero(rows == self.candidate, axis=0)
        self.n += len(rows)

    def finish(self) -> None:
        """Choose the candidates from everything read, if the cohort was smaller than the sample."""
        if self.candidate is None and self.pending:
            self._choose(np.concatenate(self.pending))

    def shares(self) -> dict[str, tuple[float, float]]:
        """Feature -> (common value, share of the scored cohort) for values at the threshold."""
        self.finish()
        if self.candidate is None or self.n < MIN_COHORT:
            return {}
        share = self.count / self.n
        return {self.features[j]: (float(self.candidate[j]), float(share[j]))
                for j in np.flatnonzero(share >= COMMON_SHARE)}

    def common(self) -> dict[str, float]:
        """Feature -> the value shared by at least ``COMMON_SHARE`` of the scored cohort."""
        return {f: v for f, (v, _) in self.shares().items()}

    def record(self, left_out: dict[str, int] | None = None) -> dict:
        """For the audit line: the rule and, per feature, the common value, its share, its
        words and how many children's reasons it would otherwise have been among
        (``left_out``, from :func:`riskmodel.models.top_reasons`). No child-level data."""
        left_out = left_out or {}
        features = {}
        for f, (v, s) in sorted(self.shares().items()):
            value = int(v) if float(v).is_integer() else v
            features[f] = {"value": v, "share": round(s, 3), "words": _words(f, value),
                           "reasons_left_out": int(left_out.get(f, 0))}
        return {"rule": f"a value shared by at least {COMMON_SHARE:.0%} of the scored cohort "
                        f"(cohorts of {MIN_COHORT} or more) is not shown as a reason",
                "features": features}
