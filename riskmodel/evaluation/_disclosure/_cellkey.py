"""Cell-key rounding: every published count of children rounded by its children's permanent keys,
and the one public path (protected counts, cells, rates and intervals) every report asks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure._suppress import DEFAULT_BASE

# ------------------------------------------------------------------ cell-key rounding --------
#
# The fairness report publishes every count rounded to a multiple of ``base`` (the policy's
# ``min_count``), up or down at random with the chance that keeps it unbiased (a 3 becomes 5
# three times in five, else 0). The randomness comes from the children in the cell, as in the
# ONS's cell-key method for Census 2021: every child has a fixed secret key, a cell's key is
# the sum of its children's keys, and the cell's key decides the rounding. So the same cell is
# rounded the same way in every report made from the same children (several thresholds,
# before and after mitigation, the profile and the tables), and a reader who subtracts one
# report from another subtracts two roundings, not two true counts.

KEY_BITS = 31
#: The environment variable that holds the council's disclosure secret (wins over the file).
SECRET_ENV = "RISKMODEL_DISCLOSURE_KEY"
#: Where the secret is kept inside the council's workspace (created once, readable only by
#: the user who made it, never written into any output).
SECRET_FILE = ".riskmodel/disclosure.key"


def council_secret(*, create: bool = True) -> str | None:
    """The council's disclosure secret: the salt of every child's permanent record key.

    Read from the ``RISKMODEL_DISCLOSURE_KEY`` environment variable, else from
    ``.riskmodel/disclosure.key`` in the workspace in force (made there once, with
    :mod:`secrets`, readable by its owner only, beside a ``.gitignore`` that keeps the folder
    out of git, when ``create`` is true and the file is missing). Without either (no
    workspace), None: keys then come from a digest of the cohort itself, so they hold within
    one file but change when a child is added or removed (see :func:`rounding_note`).

    Examples
    --------
    >>> import os
    >>> os.environ["RISKMODEL_DISCLOSURE_KEY"] = "not-a-real-secret"
    >>> council_secret()
    'not-a-real-secret'
    >>> del os.environ["RISKMODEL_DISCLOSURE_KEY"]
    """
    import contextlib
    import os
    import secrets

    from riskmodel._core.io import atomic_path
    from riskmodel._core.workspace import workspace

    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    ws = workspace()
    if ws is None:
        return None
    path = ws / SECRET_FILE
    if not path.is_file():
        if not create:
            return None
        with atomic_path(path.with_name(path.name + ".new"), private=True) as tmp:
            tmp.write_text(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError, FileNotFoundError):  # another run won
            os.link(path.with_name(path.name + ".new"), path)
        path.with_name(path.name + ".new").unlink(missing_ok=True)
        ignore = path.parent / ".gitignore"  # a workspace kept in git never holds the secret
        if not ignore.exists():
            ignore.write_text("*\n")
    return path.read_text().strip() or None


def record_keys(ids: Sequence | np.ndarray | pd.Series, *, salt: str | None = None
                ) -> np.ndarray:
    """A permanent pseudo-random key in [0, 2**31) for each record, from its identity.

    The key is a keyed hash of the identity (the child id, and the as-of date where a row is
    a child-month) with the council's secret (:func:`council_secret`), so a child has the
    same key in every report and every re-run, whoever else is in the file, and an outsider
    without the secret cannot recompute it. ``salt`` overrides the secret (tests); without a
    secret the salt is a digest of every identity in the cohort (stable within one file only).

    Examples
    --------
    >>> k = record_keys(["c1", "c2", "c1"], salt="x")
    >>> bool(k[0] == k[2]), bool(k[0] != k[1]), int(k.max()) < 2**31
    (True, True, True)
    >>> bool(record_keys(["c1", "c3"], salt="x")[0] == k[0])  # c1 keeps its key
    True
    """
    import hashlib

    values = pd.Series(list(ids), dtype=object).astype(str)
    if salt is None:
        salt = council_secret()
    if not salt:
        salt = hashlib.sha256("\n".join(sorted(values.unique())).encode()).hexdigest()
    key = hashlib.sha256(str(salt).encode()).hexdigest()[:16]
    hashed = pd.util.hash_array(values.to_numpy(), hash_key=key, categorize=False)
    return (hashed >> np.uint64(64 - KEY_BITS)).astype(np.int64)


def cell_keys(masks: np.ndarray, keys: np.ndarray, members: np.ndarray | None = None
              ) -> np.ndarray:
    """The cell key of each row: the sum of its members' record keys (mod 2**31).

    ``masks`` is rows x records (bool); ``members`` (records, optional) narrows every row to
    the records where it is true (for example, those who were flagged).
    """
    k = np.asarray(keys, np.int64)
    if members is not None:
        k = np.where(np.asarray(members, bool), k, 0)
    m = np.asarray(masks, bool)
    # int64 sums: at most 2**31 per record, so any realistic cohort fits.
    total = m.astype(np.int64) @ k
    return np.mod(total, 2 ** KEY_BITS)


def round_counts(counts, ckeys, base: int) -> np.ndarray:
    """Round each count to a multiple of ``base``, up with chance ``(count mod base)/base``.

    The chance is drawn from the cell key, so a cell is always rounded the same way. With
    ``base`` 1 the counts are returned unchanged.

    Examples
    --------
    >>> round_counts([0, 3, 10, 12], [5, 2**30, 7, 2**31 - 1], 5).tolist()
    [0, 5, 10, 10]
    >>> round_counts([3, 12], [0, 0], 5).tolist()
    [5, 15]
    """
    c = np.rint(np.asarray(counts, float)).astype(np.int64)
    if base <= 1:
        return c
    u = np.asarray(ckeys, np.int64) / float(2 ** KEY_BITS)
    r = np.mod(c, base)
    up = u < r / base
    return c - r + np.where((r > 0) & up, base, 0)


def rounding_note(base: int) -> str:
    """How the counts of a report were protected, in one sentence (or two, when the keys are
    not permanent because the council has no disclosure secret; see :func:`council_secret`).

    Examples
    --------
    >>> rounding_note(1)
    'Counts are exact (no disclosure control: use only for data already public).'
    """
    if base <= 1:
        return "Counts are exact (no disclosure control: use only for data already public)."
    note = (f"Every count is rounded to a multiple of {base}, up or down at random (the same "
            f"way in every report of the same people), so figures may not add up exactly.")
    if council_secret(create=False) is None:
        note += (" The rounding keys come from this file's children alone (no disclosure "
                 "secret: run in a workspace), so do not publish it beside a re-run.")
    return note


# ------------------------------------------------------------------ the public path ----------
#
# Every report (fairness, the front door, monitoring, decisions, the card, explain) publishes
# counts of children through these few functions, so a count is protected the same way
# wherever it appears, and a rate is always a ratio of two published counts.

#: The cells of a confusion table, each published as a protected count of its own:
#: name -> which children it counts, from (needed help, flagged).
CONFUSION_CELLS = {
    "children": lambda y, f: np.ones(len(y), bool),
    "needed_help": lambda y, f: y,
    "did_not_need_help": lambda y, f: ~y,
    "flagged": lambda y, f: f,
    "hits": lambda y, f: y & f,
    "missed": lambda y, f: y & ~f,
    "false_positives": lambda y, f: ~y & f,
}
#: Each part of the table and the wholes it may not exceed once published.
PARTS = {
    "needed_help": ("children",), "did_not_need_help": ("children",), "flagged": ("children",),
    "hits": ("needed_help", "flagged"), "missed": ("needed_help",),
    "false_positives": ("did_not_need_help", "flagged"),
}
#: Published rates: name -> (numerator cell, denominator cell).
RATES = {
    "base_rate": ("needed_help", "children"), "selection_rate": ("flagged", "children"),
    "true_positive_rate": ("hits", "needed_help"), "false_negative_rate": ("missed", "needed_help"),
    "false_positive_rate": ("false_positives", "did_not_need_help"),
    "precision": ("hits", "flagged"),
}


def protect_counts(masks: np.ndarray, keys: np.ndarray, base: int,
                   members: np.ndarray | None = None) -> np.ndarray:
    """The published count of each row: its children, rounded by their cell key.

    ``masks`` is rows x records (bool), ``keys`` the records' :func:`record_keys`,
    ``members`` (optional, records) narrows every row to the records where it is true.
    ``base`` is the policy's ``min_count`` (1: exact, for data already public).

    Examples
    --------
    >>> keys = record_keys(["a", "b", "c", "d"], salt="s")
    >>> masks = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    >>> protect_counts(masks, keys, 1).tolist()
    [3, 4]
    >>> set(protect_counts(masks, keys, 5).tolist()) <= {0, 5}
    True
    """
    m = np.atleast_2d(np.asarray(masks, bool))
    sel = m if members is None else m & np.asarray(members, bool)[None, :]
    exact = sel.astype(np.int64).sum(axis=1)
    return round_counts(exact, cell_keys(m, keys, members), base)


def protect_cells(masks: np.ndarray, cells: Mapping[str, np.ndarray],
                  wholes: Mapping[str, Sequence[str]], keys: np.ndarray, base: int
                  ) -> dict[str, np.ndarray]:
    """Named counts of each row, each a protected count of its own, no part above its whole.

    ``masks`` is rows x records (the groups, everyone usually first); ``cells`` names which
    records each count counts (records, bool); ``wholes`` gives, for a cell, the cells it is
    part of (listed before it in ``cells``). Each (row, cell) is rounded by the keys of its
    own children (:func:`protect_counts`); then, so that no published part is larger than
    its whole, a cell is published at most as its wholes' published counts in the same row,
    and at most as the same cell of every row that holds all of this row's records (a group
    never above everyone, an intersection never above its groups). A capped count is still
    a multiple of ``base`` within ``base - 1`` of the truth (its whole's truth is at least
    its own).

    Examples
    --------
    >>> keys = record_keys([str(i) for i in range(30)], salt="s")
    >>> masks = np.vstack([np.ones(30, bool), np.arange(30) < 12])  # everyone, a group
    >>> c = protect_cells(masks, {"all": np.ones(30, bool), "some": np.arange(30) % 3 == 0},
    ...                   {"some": ("all",)}, keys, 5)
    >>> bool((c["some"] <= c["all"]).all() and (c["all"][1] <= c["all"][0]))
    True
    """
    m = np.atleast_2d(np.asarray(masks, bool))
    out = {name: protect_counts(m, keys, base, members=np.asarray(cell, bool))
           for name, cell in cells.items()}
    outside = (~m).astype(np.int64)
    holds = (m.astype(np.int64) @ outside.T) == 0  # holds[i, j]: row i within row j
    np.fill_diagonal(holds, False)
    order = np.lexsort((np.arange(len(m)), -m.sum(axis=1)))  # larger rows first
    for name in cells:  # in order: a cell's wholes are settled before it
        v = out[name]
        for whole in wholes.get(name, ()):
            v = np.minimum(v, out[whole])
        for i in order:
            above = holds[i] & (m.sum(axis=1) > m[i].sum())  # strictly larger rows
            if above.any():
                v[i] = min(v[i], v[above].min())
        out[name] = v
    return out


def protect_confusion(masks: np.ndarray, needed: np.ndarray, flagged: np.ndarray,
                      keys: np.ndarray, base: int) -> dict[str, np.ndarray]:
    """Every cell of each row's confusion table as a protected count of its own.

    :func:`protect_cells` with :data:`CONFUSION_CELLS` and their wholes :data:`PARTS`: each
    cell rounded by the keys of the children it counts (so a cell equal to its whole, such
    as hits when every child who needed help was flagged, is published equal to it), no part
    published larger than its whole, no group's cell larger than everyone's.

    Examples
    --------
    >>> keys = record_keys([str(i) for i in range(30)], salt="s")
    >>> y = np.arange(30) < 12
    >>> f = np.arange(30) % 2 == 0
    >>> t = protect_confusion(np.ones((1, 30), bool), y, f, keys, 5)
    >>> all(t[p][0] <= t[w][0] for p, ws in PARTS.items() for w in ws)
    True
    """
    y = np.asarray(needed).astype(bool)
    f = np.asarray(flagged).astype(bool)
    return protect_cells(masks, {name: cell(y, f) for name, cell in CONFUSION_CELLS.items()},
                         PARTS, keys, base)


def published_rate(numerator: float | np.ndarray, denominator: float | np.ndarray
                   ) -> float | np.ndarray:
    """A rate from two published counts: NaN where the denominator is 0.

    Examples
    --------
    >>> published_rate(5, 20), bool(np.isnan(published_rate(0, 0)))
    (0.25, True)
    """
    k = np.asarray(numerator, float)
    d = np.asarray(denominator, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(d > 0, np.clip(k, 0, None) / np.where(d > 0, d, 1), np.nan)
    return float(r) if r.ndim == 0 else r


def protect_table(groups: pd.Series | np.ndarray, needed: np.ndarray, flagged: np.ndarray,
                  ids: Sequence | pd.Series, base: int) -> pd.DataFrame:
    """A publishable confusion table by group: every count protected, rates from them.

    One row for everyone (``group`` ``"all"``) then one per group value, with the cells of
    :data:`CONFUSION_CELLS` and the rates of :data:`RATES` (each the ratio of two published
    cells). ``ids`` identify the records (child id, or child id and as-of date) for their
    permanent keys; ``base`` is the policy's ``min_count``. This is the call for any report
    that publishes who needed help and who was flagged (monitoring, decisions, the card).

    Examples
    --------
    >>> import os
    >>> os.environ["RISKMODEL_DISCLOSURE_KEY"] = "doc"
    >>> g = pd.Series(["a"] * 20 + ["b"] * 10)
    >>> y = np.arange(30) % 3 == 0
    >>> f = np.arange(30) % 2 == 0
    >>> t = protect_table(g, y, f, [f"c{i}" for i in range(30)], base=1)
    >>> t[["group", "children", "hits", "missed", "true_positive_rate"]].round(2).values.tolist()
    [['all', 30, 5, 5, 0.5], ['a', 20, 4, 3, 0.57], ['b', 10, 1, 2, 0.33]]
    >>> del os.environ["RISKMODEL_DISCLOSURE_KEY"]
    """
    g = pd.Series(np.asarray(groups, dtype=object)).astype(str)
    values = list(dict.fromkeys(g))
    masks = np.vstack([np.ones(len(g), bool)] + [(g == v).to_numpy() for v in values])
    cells = protect_confusion(masks, needed, flagged, record_keys(ids), base)
    out = pd.DataFrame({"group": ["all", *values], **cells})
    for name, (num, den) in RATES.items():
        out[name] = published_rate(out[num], out[den])
    return out


def total_key(ids: Sequence | pd.Series, members: np.ndarray | None = None) -> int:
    """The cell key a report with the records at hand rounds their total by.

    The sum of the records' :func:`record_keys` (``ids`` keyed together, as a report keys its
    whole table; ``members`` narrows the sum to the records it counts, e.g. those with a
    known outcome). Kept beside the exact count where the records are not published (a
    training run's parameters), it lets a document that later reads only the count round it
    as the report did (:func:`protect_total` with ``key``): the same count, the same figure.

    Examples
    --------
    >>> ids = [f"c{i}" for i in range(12)]
    >>> key = total_key(ids)
    >>> masks = np.ones((1, 12), bool)
    >>> protect_total(12, "rows", 5, key=key) == int(protect_counts(masks, record_keys(ids), 5)[0])
    True
    """
    keys = record_keys(ids)
    return int(cell_keys(np.ones((1, len(keys)), bool), keys, members)[0])


def protect_total(count: float, label: str, base: int = DEFAULT_BASE, *,
                  key: int | None = None) -> int:
    """Protect a count whose children are not at hand (the model card reads logged totals).

    With ``key`` (the :func:`total_key` of the records counted, logged where they were at
    hand), the count is rounded exactly as a report holding the records rounds it
    (:func:`protect_counts`). Without it, the cell's key is a keyed hash, with the council's
    secret, of the cell's ``label`` and its exact count, so the same cell with the same count
    is rounded the same way in every document that has no key for it either.

    Examples
    --------
    >>> a = protect_total(7486, "test rows", 5)
    >>> a % 5 == 0 and abs(a - 7486) < 5, protect_total(7486, "test rows", 5) == a
    (True, True)
    >>> protect_total(3, "x", 1)
    3
    >>> [protect_total(7486, "test rows", 5, key=k) for k in (0, 2**31 - 1)]  # up, down
    [7490, 7485]
    """
    c = int(round(float(count)))
    cell = record_keys([f"{label}|{c}"]) if key is None else np.array([int(key)], np.int64)
    return int(round_counts([c], cell, base)[0])


def protected_rate(numerator: float, denominator: float, label: str,
                   base: int = DEFAULT_BASE) -> float:
    """A rate from two logged counts, each protected by :func:`protect_total` (the part never
    above its whole); NaN where the protected denominator is 0.

    Examples
    --------
    >>> protected_rate(54, 576, "imd 1 needed help", 1)
    0.09375
    >>> r = protected_rate(54, 576, "imd 1 needed help", 5)
    >>> abs(r - 54 / 576) < 0.02
    True
    """
    d = protect_total(denominator, f"{label}|whole", base)
    k = min(protect_total(numerator, f"{label}|part", base), d)
    return float(published_rate(k, d))


#: Figures computed from the children's exact records rather than from published counts
#: (AUC, calibration, resampled intervals) are shown, to two decimals, only for a group with
#: at least this many published children who had the outcome, and as many who did not.
MIN_FOR_SCORES = 20


def rate_interval(k: float | np.ndarray, n: float | np.ndarray, *, base: int = 1,
                  confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval of ``k`` of ``n``, widened for rounding to ``base``.

    The lower end is the exact lower end for the smallest count the published ``k`` could
    stand for, the upper end the exact upper end for the largest; never a single point.

    Examples
    --------
    >>> lo, hi = rate_interval(0, 18)
    >>> float(lo), round(float(hi), 3)
    (0.0, 0.185)
    >>> lo, hi = rate_interval(10, 100, base=5)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.022, 0.224)
    """
    from scipy import special

    k = np.asarray(k, float)
    n = np.asarray(n, float)
    a = (1 - confidence) / 2
    spread = max(int(base) - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        klo = np.clip(k - spread, 0, n)
        khi = np.clip(k + spread, 0, n)
        lo = np.where(klo > 0, special.betaincinv(np.maximum(klo, 1e-9), n - klo + 1, a), 0.0)
        hi = np.where(khi < n, special.betaincinv(khi + 1, np.maximum(n - khi, 1e-9), 1 - a),
                      1.0)
    bad = ~(n > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
