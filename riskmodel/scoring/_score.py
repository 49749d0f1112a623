"""Score a built matrix: probabilities, ranks, bands, capacity and reasons, chunk by chunk.

Scoring makes two passes over the matrix. The first converts one chunk of rows at a time
to floats, rejects rows that cannot be scored (with the reason), keeps only each row's
margin and probability and counts the values (nearly) the whole cohort shares. Ranks,
ventiles and capacity need the whole cohort, so they are computed next, on those small
arrays; bands need only each child's probability and the model's cut-points. The second
pass reads back only the rows that get reasons (by default, those in capacity) and explains
them. The output is then produced in rank order, a chunk at a time, so a writer can stream
it to disk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from riskmodel._core.errors import InputError
from riskmodel.models import explain_rows
from riskmodel.scoring._bands import BAND_NAMES, BandCuts, cuts_from_meta, risk_bands
from riskmodel.scoring._common import CommonValues
from riskmodel.scoring._options import DEFAULT_CHUNK_SIZE
from riskmodel.scoring._select import (
    Selection,
    capacity_from_meta,
    parse_selection,
    rank_rows,
    ventiles,
)
from riskmodel.scoring._source import open_matrix

EXPLAIN_CHUNK = 10_000
N_REASONS = 3
# The scores table, in order. Scores files are the one output that holds child ids.
SCORE_COLUMNS = (
    "child_id", "locality", "as_of", "outcome", "horizon_months", "score", "risk_ventile",
    "risk_band", "rank_overall", "rank_in_locality", "in_capacity", "capacity_rule",
    *(f"reason_{i + 1}" for i in range(N_REASONS)),
    "model_name", "model_version", "model_run_id",
)
# The protected characteristics the fairness policy audits (riskmodel/evaluation/
# fairness.yaml; locality is always in the scores), carried from the matrix only when asked
# (--with-characteristics): they are personal data.
CHARACTERISTIC_COLUMNS = ("ethnicity", "sex", "disability", "age_band", "imd_quintile")
REJECTED_COLUMNS = ("child_id", "locality", "as_of", "reason")
SCORE_SCHEMA = pa.schema([
    ("child_id", pa.string()), ("locality", pa.string()), ("as_of", pa.date32()),
    ("outcome", pa.string()), ("horizon_months", pa.int16()), ("score", pa.float64()),
    ("risk_ventile", pa.int8()), ("risk_band", pa.string()), ("rank_overall", pa.int64()),
    ("rank_in_locality", pa.int64()), ("in_capacity", pa.bool_()),
    ("capacity_rule", pa.string()),
    *((f"reason_{i + 1}", pa.string()) for i in range(N_REASONS)),
    ("model_name", pa.string()), ("model_version", pa.string()), ("model_run_id", pa.string()),
])
NO_LOCALITY = "(no locality)"
REJECTED_SCHEMA = pa.schema([("child_id", pa.string()), ("locality", pa.string()),
                             ("as_of", pa.date32()), ("reason", pa.string())])


def _margin_and_score(model, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The base model's margin and the calibrated probability for a float chunk."""
    margin = model.margin_array(A)
    return margin, model.calibrate(margin)


@dataclass
class ScoredCohort:
    """A scored cohort: the scores table, the rejected rows and the counts.

    ``scores`` has the columns of ``SCORE_COLUMNS`` (then ``CHARACTERISTIC_COLUMNS`` when
    asked for), highest score first; ``rejected`` has ``child_id``, ``locality``, ``as_of``
    and ``reason``; ``counts`` holds ``rows_in``, ``scored``, ``rejected``, ``in_capacity``
    and ``explained`` (rows in = scored + rejected, always); ``by_locality`` the same counts
    for each locality; ``bands`` the band cut-points used and where they came from;
    ``common`` the values left out of reasons.
    """

    scores: pd.DataFrame
    rejected: pd.DataFrame
    counts: dict
    capacity: str
    explained_by: str
    rejected_reasons: dict = field(default_factory=dict)
    by_locality: dict = field(default_factory=dict)
    bands: dict = field(default_factory=dict)
    common: dict = field(default_factory=dict)

    @classmethod
    def from_scorer(cls, scorer: CohortScorer) -> ScoredCohort:
        """The scored cohort as frames, with the scorer's counts and records."""
        return cls(
            scores=_frame(scorer.batches(), scorer.schema),
            rejected=_frame([scorer.rejected_batch()], REJECTED_SCHEMA),
            counts=scorer.counts, capacity=scorer.capacity.describe(),
            explained_by=scorer.explain.describe() if scorer.explain else "in capacity",
            rejected_reasons=scorer.rejected_reasons(), by_locality=scorer.by_locality(),
            bands=scorer.bands_record(), common=scorer.common_record(),
        )


class CohortScorer:
    """The two passes and the streamed output behind :func:`score_cohort`."""

    def __init__(self, matrix, loaded_model, *, top=None, explain_top=None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, method: str = "auto",
                 with_characteristics: bool = False):
        if chunk_size < 1:
            raise InputError(f"--chunk-size: expected at least 1, got {chunk_size}")
        self.loaded = loaded_model
        self.model = getattr(loaded_model, "model", loaded_model)
        meta = getattr(loaded_model, "meta", None) or {}
        self.meta = meta
        self.features = [str(f) for f in self.model.feature_names_in_]
        self.capacity: Selection = (parse_selection(top) if top is not None
                                    else capacity_from_meta(meta.get("capacity")))
        self.explain: Selection | None = (
            parse_selection(explain_top, option="--explain-top", allow_all=True)
            if explain_top is not None else None)
        self.chunk_size, self.method = int(chunk_size), method
        used = self.model.used_features()
        self.source = open_matrix(matrix, self.features, used=used)
        self.carried = (self.source.extra(CHARACTERISTIC_COLUMNS) if with_characteristics
                        else {})
        self.schema = SCORE_SCHEMA
        for name, arr in self.carried.items():
            self.schema = self.schema.append(pa.field(name, arr.type))
        # Values nearly everyone shares are counted only when someone gets reasons.
        self.common_values = (None if self.explain is not None and self.explain.kind == "none"
                              else CommonValues(self.features, used))
        self.common: dict[str, float] = {}
        self.left_out: dict[str, int] = {}  # feature -> reasons it would have given
        self.timings: dict[str, float] = {}
        for step in (self._first_pass, self._rank, self._second_pass):
            t0 = time.perf_counter()
            step()
            self.timings[step.__name__.strip("_")] = time.perf_counter() - t0

    # -- pass 1: margin, probability, rejections ------------------------------------------
    def _first_pass(self) -> None:
        n = self.source.n_rows
        keys = self.source.keys()
        self.child_id, self.locality, self.as_of = keys["child_id"], keys["locality"], \
            keys["as_of"]
        reasons = self._key_problems(keys)
        key_bad = np.zeros(n, dtype=bool)
        key_bad[list(reasons)] = True
        margin = np.zeros(n)
        score = np.zeros(n)
        for start, A, problems in self.source.chunks(self.chunk_size):
            stop = start + len(A)
            good = np.ones(len(A), dtype=bool)
            for i, j, n_bad in problems:
                more = f" (and {n_bad - 1} more)" if n_bad > 1 else ""
                reasons.setdefault(start + i, []).append(
                    f"feature {self.features[j]} is missing or not a number{more}")
                good[i] = False
            if good.all():
                margin[start:stop], score[start:stop] = _margin_and_score(self.model, A)
            elif good.any():
                m, s = _margin_and_score(self.model, np.ascontiguousarray(A[good]))
                margin[start:stop][good], score[start:stop][good] = m, s
            if self.common_values is not None:
                self.common_values.add(A, good & ~key_bad[start:stop])
        if self.common_values is not None:
            self.common = self.common_values.common()
        rejected = np.zeros(n, dtype=bool)
        rejected[list(reasons)] = True
        self.reject_rows = np.flatnonzero(rejected)
        self.reject_reasons = ["; ".join(reasons[int(i)]) for i in self.reject_rows]
        self.rows = np.flatnonzero(~rejected)
        self.margin, self.score = margin[self.rows], score[self.rows]

    def _key_problems(self, keys) -> dict[int, list[str]]:
        """Rows whose keys make them unscorable: no id, an id seen twice, no as-of date."""
        problems: dict[int, list[str]] = {}
        ids = keys["child_id"].to_pandas()
        blank = ids.isna().to_numpy() | (ids.fillna("").str.strip() == "").to_numpy()
        for i in np.flatnonzero(blank):
            problems.setdefault(int(i), []).append("child_id missing")
        dup = ids.duplicated(keep=False).to_numpy() & ~blank
        if dup.any():
            times = ids[dup].map(ids[dup].value_counts())
            for i, k in zip(np.flatnonzero(dup), times.to_numpy(), strict=True):
                problems.setdefault(int(i), []).append(
                    f"child_id appears {int(k)} times in the matrix")
        as_of = keys["as_of"].to_pandas()
        for i in np.flatnonzero(as_of.isna().to_numpy()):
            problems.setdefault(int(i), []).append("as_of missing")
        dates = as_of.dropna().unique()
        if len(dates) > 1:
            shown = ", ".join(str(pd.Timestamp(d).date()) for d in sorted(dates)[:3])
            raise InputError(f"matrix: as_of holds {len(dates)} dates ({shown}); "
                             "scoring ranks one as-of date at a time")
        return problems

    # -- ranks, bands, capacity -----------------------------------------------------------
    def _rank(self) -> None:
        loc = self.locality.take(pa.array(self.rows)).to_pandas()
        self.rank, self.rank_in_locality, self.order = rank_rows(self.score, self.margin, loc)
        self.ventile = ventiles(self.rank)
        # Bands: fixed cut-points on the probability (the model's), never the capacity.
        self.cuts: BandCuts = cuts_from_meta(self.meta, self.score)
        self.band = risk_bands(self.score, self.cuts)
        self.in_capacity = self.capacity.flags(self.rank, self.rank_in_locality)
        if self.explain is None:
            self.explained = self.in_capacity.copy()
        else:
            self.explained = self.explain.flags(self.rank, self.rank_in_locality)

    # -- pass 2: reasons --------------------------------------------------------------------
    def _second_pass(self) -> None:
        self.reasons = np.full((len(self.rows), N_REASONS), None, dtype=object)
        which = np.flatnonzero(self.explained)  # positions among scored rows
        if len(which) == 0:
            return
        matrix_rows = self.rows[which]  # sorted, as self.rows is
        done = 0
        # Explaining holds several copies of a chunk (values, contributions, their ranking);
        # smaller chunks keep that small at no cost in speed (measured).
        for part, A in self.source.take(matrix_rows, min(self.chunk_size, EXPLAIN_CHUNK)):
            words = explain_rows(self.loaded, A, n=N_REASONS, method=self.method,
                                 common=self.common, left_out=self.left_out)
            self.reasons[which[done:done + len(part)]] = words.to_numpy(dtype=object,
                                                                        na_value=None)
            done += len(part)

    # -- output ---------------------------------------------------------------------------
    @property
    def counts(self) -> dict:
        return {"rows_in": int(self.source.n_rows), "scored": int(len(self.rows)),
                "rejected": int(len(self.reject_rows)),
                "in_capacity": int(self.in_capacity.sum()),
                "explained": int(self.explained.sum())}

    def by_locality(self) -> dict[str, dict[str, int]]:
        """Each locality's counts: children in, scored, rejected, within capacity (no ids)."""
        def codes(rows) -> pd.Series:
            loc = self.locality.take(pa.array(rows, type=pa.int64())).to_pandas()
            return loc.astype(object).where(loc.notna(), NO_LOCALITY)

        scored = codes(self.rows)
        frame = pd.DataFrame({
            "locality": pd.concat([scored, codes(self.reject_rows)], ignore_index=True),
            "scored": np.r_[np.ones(len(self.rows), int), np.zeros(len(self.reject_rows), int)],
            "in_capacity": np.r_[self.in_capacity.astype(int),
                                 np.zeros(len(self.reject_rows), int)],
        })
        out = {}
        for name, part in frame.groupby("locality", sort=True):
            n_in, n_scored = len(part), int(part["scored"].sum())
            out[str(name)] = {"rows_in": n_in, "scored": n_scored,
                              "rejected": n_in - n_scored,
                              "in_capacity": int(part["in_capacity"].sum())}
        return out

    def band_counts(self) -> dict[str, int]:
        """How many scored children fall in each band."""
        return {b: int((self.band == b).sum()) for b in BAND_NAMES}

    def bands_record(self) -> dict:
        """The band cut-points, where they came from and the counts (for the audit)."""
        return {**self.cuts.record(), "counts": self.band_counts()}

    def capacity_rule(self) -> str:
        """The capacity rule in words, as written in every row and the audit."""
        return self.capacity.words()

    def common_record(self) -> dict:
        """The values left out of reasons and the rule (for the audit)."""
        if self.common_values is None:
            return {"rule": "no reasons asked for", "features": {}}
        return self.common_values.record(self.left_out)

    def rejected_reasons(self) -> dict[str, int]:
        """How many rows were rejected for each kind of reason (no ids)."""
        kinds: dict[str, int] = {}
        for text in self.reject_reasons:
            for part in text.split("; "):
                key = part.split(" (and ")[0]
                key = "child_id repeated" if key.startswith("child_id appears") else key
                kinds[key] = kinds.get(key, 0) + 1
        return dict(sorted(kinds.items()))

    def batches(self, chunk_size: int | None = None) -> Iterator[pa.RecordBatch]:
        """The scores table in rank order, a record batch at a time."""
        size = chunk_size or self.chunk_size
        meta = self.meta
        constants = {
            "outcome": (meta.get("outcome"), pa.string()),
            "horizon_months": (meta.get("horizon_months"), pa.int16()),
            "model_name": (getattr(self.loaded, "name", None), pa.string()),
            "model_version": (_str(getattr(self.loaded, "version", None)), pa.string()),
            "model_run_id": (getattr(self.loaded, "run_id", None), pa.string()),
            "capacity_rule": (self.capacity_rule(), pa.string()),
        }
        for start in range(0, len(self.order), size):
            o = self.order[start:start + size]
            rows = pa.array(self.rows[o])
            m = len(o)
            cols = {
                "child_id": self.child_id.take(rows),
                "locality": self.locality.take(rows),
                "as_of": self.as_of.take(rows).cast(pa.date32()),
                "score": pa.array(self.score[o]),
                "risk_ventile": pa.array(self.ventile[o]),
                "risk_band": pa.array(self.band[o], type=pa.string()),
                "rank_overall": pa.array(self.rank[o]),
                "rank_in_locality": pa.array(self.rank_in_locality[o]),
                "in_capacity": pa.array(self.in_capacity[o]),
            }
            for r in range(N_REASONS):
                cols[f"reason_{r + 1}"] = pa.array(self.reasons[o, r], type=pa.string())
            for name, (value, typ) in constants.items():
                cols[name] = pa.nulls(m, typ) if value is None else pa.array(
                    np.full(m, value, dtype=object), type=typ)
            for name, arr in self.carried.items():
                cols[name] = arr.take(rows)
            yield pa.RecordBatch.from_arrays([cols[c] for c in self.schema.names],
                                             schema=self.schema)

    def rejected_batch(self) -> pa.RecordBatch:
        rows = pa.array(self.reject_rows, type=pa.int64())
        return pa.RecordBatch.from_arrays([
            self.child_id.take(rows), self.locality.take(rows),
            self.as_of.take(rows).cast(pa.date32()),
            pa.array(self.reject_reasons, type=pa.string()),
        ], schema=REJECTED_SCHEMA)


def _str(value):
    return None if value is None else str(value)


def _frame(batches, schema: pa.Schema) -> pd.DataFrame:
    table = pa.Table.from_batches(list(batches), schema=schema)
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype(),
                                          pa.int16(): pd.Int16Dtype()}.get)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    return frame


def score_cohort(matrix, loaded_model, *, top=None, explain_top=None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, method: str = "auto",
                 with_characteristics: bool = False) -> ScoredCohort:
    """Score every child of a built matrix (one as-of date) with a loaded model.

    Parameters
    ----------
    matrix : DataFrame or path
        A feature matrix for one as-of date, from :func:`riskmodel.features.build_matrix`
        (``child_id``, ``as_of``, ``locality`` and the model's feature columns), or a
        Parquet file of one (read in row batches, never whole).
    loaded_model : LoadedModel
        From :func:`riskmodel.store.load_model` (a bare fitted model also works; the
        capacity must then be given with ``top``).
    top : int or str, optional
        Capacity: ``500`` (top 500), ``"10%"`` or ``"25/locality"``. Default: the capacity
        in the model's training spec.
    explain_top : int or str, optional
        Who gets reasons, in the same form, or ``"all"``/``"none"``. Default: the children
        in capacity.
    chunk_size : int, default=50_000
        Rows converted and scored at a time: bounds the extra memory.
    method : str, default="auto"
        TreeSHAP route for LightGBM reasons (same values).
    with_characteristics : bool, default=False
        Also carry the protected characteristics the fairness policy audits
        (``CHARACTERISTIC_COLUMNS``) from the matrix into the scores, for
        ``riskmodel fairness``. They are personal data: off unless asked for.

    Returns
    -------
    ScoredCohort
        ``scores`` (highest first), ``rejected``, ``counts``.

    Raises
    ------
    InputError
        When a model feature is not in the matrix, the matrix holds several as-of dates,
        or an option is malformed. Rows that cannot be scored are not errors: they are
        returned in ``rejected`` with the reason.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ace_total_all_count": rng.integers(0, 6, 200),
    ...                   "contacts_total_12m_count": rng.integers(0, 5, 200)})
    >>> model = LogisticClassifier().fit(X, (X.sum(axis=1) + rng.normal(size=200) > 5))
    >>> matrix = X.assign(child_id=[f"c{i}" for i in range(200)], as_of="2025-06-01",
    ...                   locality=np.where(np.arange(200) % 2, "north", "south"))
    >>> out = score_cohort(matrix, model, top="10%")
    >>> out.counts
    {'rows_in': 200, 'scored': 200, 'rejected': 0, 'in_capacity': 20, 'explained': 20}
    >>> out.scores["rank_overall"].head(3).tolist()
    [1, 2, 3]
    """
    return ScoredCohort.from_scorer(CohortScorer(
        matrix, loaded_model, top=top, explain_top=explain_top, chunk_size=chunk_size,
        method=method, with_characteristics=with_characteristics))
