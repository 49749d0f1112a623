"""Which published figures are hidden: the disclosure plan of the audit's rows."""

from __future__ import annotations

import numpy as np

from riskmodel.evaluation._disclosure import SUPPRESSED, plan_with_complements, small_text


def shown_count(value, hidden, min_count):
    """A count as published: the number, ``<min_count`` when small, or suppressed."""
    v = int(round(float(value)))
    if hidden or (1 <= v < min_count):
        return small_text(min_count) if 1 <= v < min_count else SUPPRESSED
    return v


def disclosure_plan(masks, cells, n_audit_rows, min_count, *, tier=None,
                    mitigation_rows=None, cells_after=None) -> dict[str, np.ndarray]:
    """Which rows are hidden in each block of figures (and which hold a small count).

    Blocks: N (how many), Y (who went on to need help), F (who was flagged), C (both
    together); hiding a coarser block hides the finer ones. Each row's complement (everyone
    else) is protected too. With a mitigation, F2 and C2 are the blocks after it.

    Returns a boolean array per block, by the block's letter (``plan["Y"][row]``: the row's
    figures of who went on to need help are hidden), and per ``<block>_small``.
    """
    rows = masks.shape[0]
    audit_rows = np.zeros(rows, bool)
    audit_rows[:n_audit_rows] = True
    tn, fp, fn, tp = cells.T

    def plan(counts, hidden=None, published=None):
        total = np.asarray(counts, float).reshape(rows, -1).sum(axis=1)
        priority = None if tier is None else total + tier * (total.max(initial=0) + 1)
        return plan_with_complements(masks, counts, min_count=min_count, hidden=hidden,
                                     published=published, priority=priority)

    out = {}
    out["N"], out["N_small"] = plan(cells.sum(axis=1))
    out["Y"], out["Y_small"] = plan(np.c_[fn + tp, tn + fp], out["N"], audit_rows)
    out["F"], out["F_small"] = plan(np.c_[fp + tp, tn + fn], out["N"], audit_rows)
    out["C"], out["C_small"] = plan(cells, out["Y"] | out["F"], audit_rows)
    for b in ("Y", "F", "C"):
        out[b] = out[b] | ~audit_rows  # never published outside the audit's rows
    if mitigation_rows is not None:
        pub = np.zeros(rows, bool)
        pub[mitigation_rows] = True
        tn2, fp2, fn2, tp2 = cells_after.T
        out["F2"], out["F2_small"] = plan(np.c_[fp2 + tp2, tn2 + fn2], out["N"], pub)
        out["C2"], out["C2_small"] = plan(cells_after, out["Y"] | out["F2"], pub)
        out["F2"] |= ~pub
        out["C2"] |= ~pub
    return out
