"""Small-count suppression for every published table (fairness, cohort profile, model card).

A count from 1 to ``min_count - 1`` could identify a child, so it is never published, and
neither is any figure that would let it be worked out: a rate over the same children, or a
*complementary* count, such as a group total minus its visible subgroups, or the whole cohort
minus every other group.

The check is exact rather than rule-of-thumb. Every published count is a sum of *atoms*: the
finest cells that the published tables cut the cohort into (for ethnicity, sex and ethnicity x
sex, one atom per ethnicity-sex pair). A hidden count can be worked out from the published
ones exactly when its row of atoms is a linear combination of theirs. So after hiding the small
counts (primary suppression) we hide further counts, smallest first, until no small count lies
in the span of what is still published (secondary suppression). Intervals of a count
(for example "between 1 and 4") are not treated as disclosure; exact values are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SUPPRESSED = "suppressed"
#: The rounding base (and smallest publishable count) when no policy gives one.
DEFAULT_BASE = 5


def small_text(min_count: int) -> str:
    """How a small count is shown: ``"<5"`` for the default minimum."""
    return f"<{int(min_count)}"


def is_small(counts, min_count: int) -> np.ndarray:
    """True where a count is from 1 to ``min_count - 1`` (zero is not disclosive)."""
    c = np.asarray(counts, dtype=float)
    return (c >= 1) & (c < min_count)


def atoms(masks: np.ndarray) -> np.ndarray:
    """Membership of each published row in the atoms it adds up (rows x atoms, 0/1).

    ``masks`` is rows x children (which children each published row counts). Children with
    the same pattern of membership form one atom; duplicated columns do not change which rows
    can be derived from which, so only the distinct patterns are kept.
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.shape[1] == 0:
        return np.zeros((masks.shape[0], 0), dtype=np.int8)
    packed = np.packbits(masks.T, axis=1)
    distinct = np.unique(packed, axis=0)
    cols = np.unpackbits(distinct, axis=1, count=masks.shape[0]).astype(bool)
    return cols.T.astype(np.int8)


class _Span:
    """Rank tests on subsets of rows through the Gram matrix (exact for 0/1 rows)."""

    def __init__(self, membership: np.ndarray):
        m = np.asarray(membership, dtype=float)
        self.gram = m @ m.T

    def rank(self, rows: np.ndarray) -> int:
        idx = np.flatnonzero(rows)
        if len(idx) == 0:
            return 0
        return int(np.linalg.matrix_rank(self.gram[np.ix_(idx, idx)]))

    def derivable(self, row: int, visible: np.ndarray) -> bool:
        """Whether row ``row`` is a linear combination of the visible rows."""
        vis = visible.copy()
        vis[row] = False
        if not vis.any():
            return False
        with_row = vis.copy()
        with_row[row] = True
        return self.rank(with_row) == self.rank(vis)

    def breakers(self, row: int, visible: np.ndarray, priority: np.ndarray
                 ) -> int | None:
        """Rows whose hiding stops ``row`` being derivable: the cheapest single row, else the
        cheaper row of the cheapest pair, else the cheapest row that takes part in one way of
        writing ``row`` (hiding it removes that way; the caller tries again).

        The ways of writing ``row`` from the visible rows form an affine space
        ``alpha0 + null t``. Hiding row c forces ``alpha_c = 0``: impossible for every
        solution exactly when ``null[c] = 0`` and ``alpha0[c] != 0``; for a pair (a, b) when
        ``null[a]`` and ``null[b]`` are parallel but ``alpha0`` is not in the same proportion.
        """
        idx = np.flatnonzero(visible & (np.arange(len(visible)) != row))
        g = self.gram[np.ix_(idx, idx)]
        w, u = np.linalg.eigh(g)
        keep = w > max(w.max(initial=0.0), 1.0) * 1e-10 * max(len(idx), 1)
        alpha0 = u[:, keep] @ ((u[:, keep].T @ self.gram[idx, row]) / w[keep])
        null = u[:, ~keep]
        pri = np.asarray(priority, float)[idx]
        size = np.linalg.norm(null, axis=1) if null.size else np.zeros(len(idx))
        single = np.flatnonzero((size < 1e-7) & (np.abs(alpha0) > 1e-7))
        if len(single):
            return int(idx[single[np.argmin(pri[single])]])
        live = np.flatnonzero(size >= 1e-7)
        used = np.flatnonzero(np.abs(alpha0) > 1e-7)
        fallback = int(idx[used[np.argmin(pri[used])]]) if len(used) else None
        if len(live) < 2:
            return fallback
        unit = null[live] / size[live, None]
        parallel = np.abs(unit @ unit.T) > 1 - 1e-9
        lam = (null[live] @ null[live].T) / (size[live] ** 2)[:, None]  # null[b] = lam[a,b] null[a]
        off = np.abs(alpha0[live][None, :] - lam * alpha0[live][:, None]) > 1e-7
        ok = np.triu(parallel & off, k=1)
        if not ok.any():
            return fallback
        a, b = np.nonzero(ok)
        cost = pri[live][a] + pri[live][b]
        k = int(np.argmin(cost))
        pa, pb = live[a[k]], live[b[k]]
        return int(idx[pa] if pri[pa] <= pri[pb] else idx[pb])


def plan_suppression(
    membership: np.ndarray,
    counts: np.ndarray,
    *,
    min_count: int = 5,
    hidden: np.ndarray | None = None,
    published: np.ndarray | None = None,
    priority: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decide which rows of a linked set of tables to hide.

    Parameters
    ----------
    membership : array of shape (rows, atoms)
        0/1: which atoms each row adds up (see :func:`atoms`).
    counts : array of shape (rows,) or (rows, k)
        The counts each row would publish; a row with any count from 1 to
        ``min_count - 1`` is *sensitive*.
    min_count : int, default=5
    hidden : bool array of shape (rows,), optional
        Rows hidden already (for example because a coarser figure of theirs is hidden).
    published : bool array of shape (rows,), optional
        Rows that appear in this block at all. Unpublished rows are never shown, so they
        need no hiding, but a sensitive one is still protected from being derived.
    priority : array of shape (rows,), optional
        Which rows to hide first when more must go (lowest first); default the sum of the
        row's counts.

    Returns
    -------
    hidden : bool array
        Rows not to publish.
    sensitive : bool array
        Rows holding a small count (shown as ``"<5"`` where the count itself is shown).

    Examples
    --------
    Three groups of a cohort of 20 whose total is published: hiding the group of 3 alone
    would let it be worked out (20 - 9 - 8), so the next smallest group goes too.

    >>> import numpy as np
    >>> m = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])  # groups a, b, c; total
    >>> hidden, sensitive = plan_suppression(m, np.array([3, 9, 8, 20]))
    >>> hidden.tolist(), sensitive.tolist()
    ([True, False, True, False], [True, False, False, False])
    """
    m = np.asarray(membership)
    c = np.asarray(counts, dtype=float)
    if c.ndim == 1:
        c = c[:, None]
    n_rows = m.shape[0]
    sensitive = np.asarray(is_small(c, min_count).any(axis=1), dtype=bool)
    pub = np.ones(n_rows, bool) if published is None else np.asarray(published, bool).copy()
    hide = np.zeros(n_rows, bool) if hidden is None else np.asarray(hidden, bool).copy()
    hide |= sensitive | ~pub
    if priority is None:
        priority = c.sum(axis=1)
    _hide_until_safe(_Span(m), sensitive, hide, np.asarray(priority, float))
    return hide & pub, sensitive


def _hide_until_safe(span: _Span, sensitive: np.ndarray, hide: np.ndarray,
                     priority: np.ndarray) -> None:
    """Hide more rows (in place) until no sensitive row is derivable from the visible ones."""
    order = np.lexsort((np.arange(len(hide)), priority))
    while True:
        visible = ~hide
        exposed = [int(r) for r in np.flatnonzero(sensitive) if span.derivable(int(r), visible)]
        if not exposed:
            return
        r = exposed[0]
        choice = span.breakers(r, visible, priority)
        if choice is None:  # not reached while r is derivable; kept as a safe last resort
            choice = next(int(i) for i in order if visible[i] and i != r)
        hide[choice] = True


def plan_with_complements(
    masks: np.ndarray,
    counts: np.ndarray,
    *,
    min_count: int = 5,
    hidden: np.ndarray | None = None,
    published: np.ndarray | None = None,
    priority: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`plan_suppression` for rows of children, also protecting every row's complement.

    Row 0 of ``masks`` (rows x children) must be everyone. Everyone minus a row (the children
    *not* in a category) can be worked out whenever both are published, so each row's
    complement is protected as an unpublished row: if it holds a small count, the row itself
    (or enough others) is hidden. ``priority`` (lowest hidden first) defaults to the row's
    counts.
    """
    masks = np.asarray(masks, dtype=bool)
    c = np.asarray(counts, dtype=float)
    if c.ndim == 1:
        c = c[:, None]
    rows = masks.shape[0]
    ext = np.vstack([masks, ~masks[1:]])
    ext_counts = np.vstack([c, c[0] - c[1:]])
    pub = np.ones(rows, bool) if published is None else np.asarray(published, bool)
    hid = np.zeros(rows, bool) if hidden is None else np.asarray(hidden, bool)
    h, s = plan_suppression(
        atoms(ext), ext_counts, min_count=min_count,
        hidden=np.concatenate([hid, np.ones(rows - 1, bool)]),
        published=np.concatenate([pub, np.zeros(rows - 1, bool)]),
        priority=np.concatenate([c.sum(axis=1) if priority is None else priority,
                                 np.full(rows - 1, np.inf)]),
    )
    return h[:rows], s[:rows]


def suppress(
    table: pd.DataFrame,
    *,
    count: str = "children",
    rates: Sequence[str] = ("percent",),
    by: str | Sequence[str] | None = None,
    total: int | Mapping | None = None,
    hide=None,
    min_count: int = 5,
) -> pd.DataFrame:
    """A publishable copy of a table of counts.

    Each row counts the children in one category. Rows that share the values of ``by`` split
    one population (a *section*): its size is ``total`` (a number, or a mapping from the
    section's key), or by default the section's sum, and is taken to be published. Counts
    from 1 to ``min_count - 1`` are shown as ``"<5"``; further counts are shown as
    ``"suppressed"`` where needed so that no small count can be worked out from the section's
    total and its other rows, including the children in none of its rows when the rows do not
    add up to the total. Columns in ``rates`` (figures derived from the count) are hidden
    with it.

    Parameters
    ----------
    table : DataFrame
    count : str, default="children"
        The count column.
    rates : sequence of str, default=("percent",)
        Columns derived from the count; absent ones are ignored.
    by : str or list of str, optional
        Section columns; default: the whole table is one section.
    total : int or mapping, optional
        Published size of each section.
    hide : bool array-like, optional
        Rows to hide regardless (for consistency with another published table).
    min_count : int, default=5

    Returns
    -------
    DataFrame
        The same rows; ``count`` and ``rates`` become text where suppressed.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["a", "b", "c"], "children": [3, 9, 8]})
    >>> suppress(t, total=20)["children"].tolist()
    ['<5', 9, 'suppressed']
    """
    out = table.copy()
    if out.empty:
        return out
    keys = [by] if isinstance(by, str) else list(by or [])
    counts = pd.to_numeric(out[count]).to_numpy(dtype=float)
    hidden, sensitive = np.zeros(len(out), bool), np.zeros(len(out), bool)
    forced = np.zeros(len(out), bool) if hide is None else np.asarray(hide, bool)
    sections = out.groupby(keys, sort=False).indices if keys else {None: np.arange(len(out))}
    for key, idx in sections.items():
        size = _section_size(counts[idx], key, total)
        hidden[idx], sensitive[idx] = _plan_section(counts[idx], size, forced[idx], min_count)
    return _mark_hidden(out, hidden, sensitive, count=count, rates=rates, min_count=min_count)


def _section_size(counts: np.ndarray, key: object, total: int | Mapping | None) -> float:
    """The published size of one section of :func:`suppress`: given, else its rows' sum."""
    key1 = key[0] if isinstance(key, tuple) and len(key) == 1 else key
    size = float(counts.sum())
    if isinstance(total, Mapping):
        return float(total.get(key1, size))
    if total is not None:
        return float(total)
    return size


def _plan_section(counts: np.ndarray, size: float, forced: np.ndarray, min_count: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(hidden, sensitive) for the rows of one section of ``size`` children."""
    rest = size - counts.sum()
    k = len(counts)
    # Rows: the section's rows, their complements (the total minus the row), the
    # remainder (children in none of them; an unknown only when there are some) and the
    # published total. Complements and the remainder are never published rows, but a
    # small one must not be derivable.
    part = np.eye(k, k + 1, dtype=np.int8)
    rest_row = np.zeros((1, k + 1), dtype=np.int8)
    rest_row[0, k] = 1
    m = np.vstack([part, 1 - part, rest_row, np.ones((1, k + 1), dtype=np.int8)])
    if rest <= 0:
        m = m[:, :k]
    c = np.concatenate([counts, size - counts, [rest, size]])
    pub = np.zeros(2 * k + 2, bool)
    pub[:k] = True
    pub[-1] = True
    h, s = plan_suppression(
        m, c, min_count=min_count,
        hidden=np.concatenate([forced, np.ones(k + 1, bool), [False]]),
        published=pub, priority=np.concatenate([c[:k], np.full(k + 2, np.inf)]),
    )
    return h[:k], s[:k]


def _mark_hidden(out: pd.DataFrame, hidden: np.ndarray, sensitive: np.ndarray, *, count: str,
                 rates: Sequence[str], min_count: int) -> pd.DataFrame:
    """``out`` with hidden counts as ``"<5"`` or ``"suppressed"`` and their rates hidden."""
    shown = out[count].astype(object)
    shown[hidden & sensitive] = small_text(min_count)
    shown[hidden & ~sensitive] = SUPPRESSED
    out[count] = shown
    for col in rates:
        if col in out.columns:
            v = out[col].astype(object)
            v[hidden] = SUPPRESSED
            out[col] = v
    return out


def shown(value, *, hidden: bool, sensitive: bool, min_count: int):
    """A published cell: the value, ``"<5"`` for a small hidden count, else ``"suppressed"``."""
    if not hidden:
        return value
    return small_text(min_count) if sensitive else SUPPRESSED


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


def protect_total(count: float, label: str, base: int = DEFAULT_BASE) -> int:
    """Protect a count whose children are not at hand (the model card reads logged totals).

    The cell's key is a keyed hash, with the council's secret, of the cell's ``label`` and
    its exact count, so the same cell with the same count is rounded the same way in every
    document, and a different count is rounded afresh.

    Examples
    --------
    >>> a = protect_total(7486, "test rows", 5)
    >>> a % 5 == 0 and abs(a - 7486) < 5, protect_total(7486, "test rows", 5) == a
    (True, True)
    >>> protect_total(3, "x", 1)
    3
    """
    c = int(round(float(count)))
    key = record_keys([f"{label}|{c}"])
    return int(round_counts([c], key, base)[0])


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
