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
