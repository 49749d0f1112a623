"""Assembling the simulated chunks into the contract tables and the known truth.

Children, contacts, ACE factors, episodes and (with knowledge dates) ``children_history``
become Arrow tables typed as the contract says (ids as zero-padded strings, dates as date32,
empty values as nulls) and sorted, with ids that do not depend on chunking or on referral
bias; the truth becomes one row per child and quarterly as-of date. The same tables are also
given in the package's in-memory types, and the manifest's ``plants`` counts what the
knowledge dates and moves planted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import riskmodel.data.synth._params as P
from riskmodel.data._contract import (
    ACE_FACTORS,
    CLOSURE_REASONS,
    CONTACT_OUTCOMES,
    DISABILITY,
    NEEDS,
    SERVICES,
    SEX,
    SOCIAL_CARE_SERVICES,
    SOURCES,
    TRIAGE_LEVELS,
)
from riskmodel.data.synth._dates import _INF

TRUTH_COLUMNS = ("child_id", "as_of", "p_escalation_6m", "p_escalation_12m",
                 "p_disengagement_6m", "p_disengagement_12m")


class Assembled(NamedTuple):
    """What :func:`_assemble` gives: everything a ``SyntheticCouncil`` holds but its manifest.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The four contract tables in the package's in-memory types.
    truth : DataFrame
        The truth in the same types.
    detail : DataFrame
        One row per truth row (episode, latent-free probabilities, simulated outcomes).
    arrow : dict of str to pyarrow.Table
        The contract tables and ``truth`` as written to Parquet.
    n_families : int
        Number of families.
    xe, xd : ndarray
        The capped escalation and disengagement drivers of every early-help episode.
    plants : dict
        Counts of what the knowledge dates and moves planted (the manifest's ``plants``).
    """

    tables: dict
    truth: pd.DataFrame
    detail: pd.DataFrame
    arrow: dict
    n_families: int
    xe: np.ndarray
    xd: np.ndarray
    plants: dict


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _names(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    codes = np.asarray(codes, dtype=np.int64)
    return pa.array(list(names), type=pa.string()).take(pa.array(codes, mask=codes < 0))


def _date_array(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32(), mask=missing)



def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> the package's in-memory types (as ``coerce_tables`` gives them)."""
    out = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_date32(col.type):
            out[name] = pd.to_datetime(col.to_numpy(zero_copy_only=False)).astype(
                "datetime64[ns]")
        elif pa.types.is_integer(col.type):
            out[name] = pd.array(col.to_pylist(), dtype="Int64") if col.null_count else \
                pd.array(col.to_numpy(), dtype="Int64")
        elif pa.types.is_string(col.type):
            out[name] = col.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(out)


_Part = tuple[int, int, dict[str, Any], dict[str, Any]]
_Get = Callable[[int, int, dict[str, Any], dict[str, Any]], np.ndarray]


def _cat(parts: list[_Part], get: _Get) -> np.ndarray:
    """``get(child_offset, family_offset, sim, fin)`` of every chunk, concatenated."""
    return np.concatenate([get(co, fo, sim, fin) for co, fo, sim, fin in parts])


def _kn(parts: list[_Part], key: str) -> np.ndarray:
    """A knowledge date array of every chunk, concatenated."""
    return _cat(parts, lambda co, fo, sim, fin: fin["knowledge"][key])


class _Places(NamedTuple):
    """Each child's family, locality and IMD decile as simulated and at the extract."""

    fam: np.ndarray
    loc0: np.ndarray
    imd0: np.ndarray
    move: np.ndarray
    loc: np.ndarray
    imd: np.ndarray


def _places(parts: list[_Part]) -> _Places:
    """Family, first and extract-date locality and IMD decile, and move day of each child."""
    return _Places(
        fam=_cat(parts, lambda co, fo, sim, fin: fo + sim["fam"]),
        loc0=_cat(parts, lambda co, fo, sim, fin: sim["loc"][sim["fam"]]),
        imd0=_cat(parts, lambda co, fo, sim, fin: sim["imd"][sim["fam"]]),
        loc=_cat(parts, lambda co, fo, sim, fin: fin["moves"]["loc"][sim["fam"]]),
        imd=_cat(parts, lambda co, fo, sim, fin: fin["moves"]["imd"][sim["fam"]]),
        move=_cat(parts, lambda co, fo, sim, fin: fin["moves"]["day"][sim["fam"]]),
    )


def _children_table(parts: list[_Part], places: _Places, n_children: int) -> pa.Table:
    """``children``: one row per child, locality and IMD decile as at the extract."""
    eth_names = tuple(P.ETHNICITY_WEIGHT)
    return pa.table({
        "child_id": _ids("C", np.arange(1, n_children + 1), 7),
        "family_id": _ids("F", places.fam + 1, 7),
        "date_of_birth": _date_array(_cat(parts, lambda co, fo, sim, fin: sim["dob"])),
        "sex": _names(SEX, _cat(parts, lambda co, fo, sim, fin: sim["sex"])),
        "ethnicity": _names(eth_names, _cat(parts, lambda co, fo, sim, fin:
                                            sim["eth"][sim["fam"]])),
        "disability": _names(DISABILITY, _cat(parts, lambda co, fo, sim, fin: sim["dis"])),
        "locality": _names(P.LOCALITIES, places.loc),
        "imd_decile": pa.array(places.imd, type=pa.int64(), mask=places.imd == 0),
    })


def _contacts_table(parts: list[_Part], knowledge: bool) -> pa.Table:
    """``contacts``: genuine ones numbered first (same ids with or without referral bias)."""
    def ct(key: str) -> np.ndarray:
        return _cat(parts, lambda co, fo, sim, fin: fin["contacts"][key] + np.int32(co)
                    if key == "child" else fin["contacts"][key])
    c_child, c_cdate, spurious = ct("child").astype(np.int64), ct("cdate"), ct("spurious")
    number = np.empty(len(c_child), dtype=np.int64)
    number[~spurious] = np.arange(1, (~spurious).sum() + 1)
    number[spurious] = np.arange((~spurious).sum() + 1, len(c_child) + 1)
    o = np.lexsort((number, c_cdate, c_child))
    rag = ct("rag")[o]
    contacts = pa.table({
        "contact_id": _ids("K", number[o], 9),
        "child_id": _ids("C", c_child[o] + 1, 7),
        "contact_date": _date_array(c_cdate[o]),
        "recorded_date": _date_array(ct("rdate")[o]),
        "source": _names(SOURCES, ct("source")[o]),
        "need": _names(NEEDS, ct("need")[o]),
        "mash_rag": _names(("red", "amber", "green"), np.where(rag == 3, -1, rag)),
        "outcome": _names(CONTACT_OUTCOMES, ct("outcome")[o]),
    })
    if knowledge:
        contacts = contacts.append_column(
            "mash_rag_recorded_date", _date_array(np.where(rag == 3, 0, _kn(parts, "rag_rec")[o]),
                                                  rag == 3))
        contacts = contacts.append_column("outcome_recorded_date",
                                          _date_array(_kn(parts, "out_rec")[o]))
    return contacts


def _aces_table(parts: list[_Part]) -> pa.Table:
    """``ace_factors``: the ACE records known at the extract date."""
    a_child = _cat(parts, lambda co, fo, sim, fin: co + fin["aces"]["child"])
    a_factor = _cat(parts, lambda co, fo, sim, fin: fin["aces"]["factor"])
    a_date = _cat(parts, lambda co, fo, sim, fin: fin["aces"]["rdate"])
    o = np.lexsort((a_factor, a_date, a_child))
    return pa.table({
        "child_id": _ids("C", a_child[o] + 1, 7),
        "factor": _names(ACE_FACTORS, a_factor[o]),
        "recorded_date": _date_array(a_date[o]),
    })


def _episode(parts: list[_Part], kind: str, key: str) -> np.ndarray:
    """One column of the ``eh`` or ``sc`` episodes of every chunk (child ids offset)."""
    return _cat(parts, lambda co, fo, sim, fin: sim[kind][key] + (co if key == "child" else 0))


def _episodes_table(parts: list[_Part], end: int, knowledge: bool
                    ) -> tuple[pa.Table, np.ndarray]:
    """``episodes``: early help, then social care before the extract; and episode numbers."""
    def eh(key: str) -> np.ndarray:
        return _episode(parts, "eh", key)

    def sc(key: str) -> np.ndarray:
        return _episode(parts, "sc", key)
    cause, dur = eh("cause"), eh("duration")
    eh_reason = np.choose(cause, [0, 1, 2, 4, 5])  # CLOSURE_REASONS order
    eh_reason = np.where((cause == 2) & (dur < P.DECLINED_WITHIN_DAYS), 3, eh_reason)
    sc_keep = sc("start") <= end
    ep_child = np.concatenate([eh("child"), sc("child")[sc_keep]])
    ep_start = np.concatenate([eh("start"), sc("start")[sc_keep]])
    ep_end = np.concatenate([eh("end"), sc("end")[sc_keep]])
    ep_service = np.concatenate([np.asarray([0, 2, 1])[eh("service")],  # contract order
                                 3 + sc("service")[sc_keep]])
    ep_reason = np.concatenate([eh_reason, np.where(sc("reason")[sc_keep] == 0, 0, 4)])
    # The contract requires a triage level on every episode; social care sits above the
    # early-help levels, so its episodes carry the highest one (orange).
    ep_tri_s = np.concatenate([eh("triage"), np.full(sc_keep.sum(), 3)])
    ep_tri_e = np.concatenate([eh("triage_end"), np.full(sc_keep.sum(), 3)])
    is_open = ep_end > end
    o = np.lexsort((ep_service, ep_start, ep_child))
    ep_number = np.empty(len(o), dtype=np.int64)
    ep_number[o] = np.arange(1, len(o) + 1)
    episodes = pa.table({
        "episode_id": _ids("E", ep_number[o], 8),
        "child_id": _ids("C", ep_child[o] + 1, 7),
        "service": _names(SERVICES, ep_service[o]),
        "start_date": _date_array(ep_start[o]),
        "end_date": _date_array(np.where(is_open, 0, ep_end)[o], is_open[o]),
        "closure_reason": _names(CLOSURE_REASONS, np.where(is_open, -1, ep_reason)[o]),
        "triage_start": _names(TRIAGE_LEVELS, ep_tri_s[o]),
        "triage_end": _names(TRIAGE_LEVELS, np.where(is_open, -1, ep_tri_e)[o]),
    })
    if knowledge:
        ep_rec = np.concatenate([_kn(parts, "eh_rec"), _kn(parts, "sc_rec")[sc_keep]])
        ep_tri = np.concatenate([_kn(parts, "eh_tri"), _kn(parts, "sc_tri")[sc_keep]])
        episodes = episodes.append_column("start_recorded_date", _date_array(ep_rec[o]))
        episodes = episodes.append_column("triage_start_recorded_date", _date_array(ep_tri[o]))
    return episodes, ep_number


def _truth_tables(parts: list[_Part], ep_number: np.ndarray) -> tuple[pa.Table, pd.DataFrame]:
    """The truth (child, as-of date, probabilities) and its detail for checks."""
    def tr(key: str) -> np.ndarray:
        return _cat(parts, lambda co, fo, sim, fin: fin["truth"][key] + (co if key == "child"
                                                                         else 0))
    eh_off = np.cumsum([0] + [len(sim["eh"]["child"]) for _co, _fo, sim, _fin in parts])
    n_eh = int(eh_off[-1])
    t_episode = np.concatenate([eh_off[i] + fin["truth"]["episode"]
                                for i, (_co, _fo, _sim, fin) in enumerate(parts)])
    t_child, t_asof = tr("child"), tr("as_of")
    o = np.lexsort((t_child, t_asof))
    truth = pa.table({"child_id": _ids("C", t_child[o] + 1, 7),
                      "as_of": _date_array(t_asof[o]),
                      **{c: pa.array(tr(c)[o], type=pa.float64()) for c in TRUTH_COLUMNS[2:]}})
    detail = _to_pandas(truth.select(["child_id", "as_of"]))
    detail["episode_id"] = pd.array(_ids("E", ep_number[:n_eh][t_episode[o]], 8).to_pylist(),
                                    dtype="string")
    for key in sorted(parts[0][3]["truth"]):
        if key[:2] in ("p_", "q_", "y_"):
            detail[key] = tr(key)[o]
    return truth, detail


def _assemble(parts: list[_Part], *, n_children: int, end: int, knowledge: bool = True
              ) -> Assembled:
    """Join the chunks into the contract tables, the truth and the detail.

    Parameters
    ----------
    parts : list of tuple
        ``(child_offset, family_offset, sim, fin)`` for each chunk, in order, where ``sim`` is
        what :func:`~riskmodel.data.synth._simulate._simulate_chunk` returned and ``fin`` what
        :func:`~riskmodel.data.synth._simulate._finish_chunk` returned.
    n_children : int
        Number of children in all chunks.
    end : int
        The extract date as a day number (later social-care episodes are dropped).
    knowledge : bool
        Add the knowledge dates and ``children_history`` (each ``fin`` then holds
        ``knowledge``); the children's locality and IMD decile are as at the extract either way.

    Returns
    -------
    Assembled
    """
    places = _places(parts)
    episodes, ep_number = _episodes_table(parts, end, knowledge)
    truth, detail = _truth_tables(parts, ep_number)
    arrow = {"children": _children_table(parts, places, n_children),
             "contacts": _contacts_table(parts, knowledge), "ace_factors": _aces_table(parts),
             "episodes": episodes}
    if knowledge:
        arrow["children_history"] = _history(_kn(parts, "first"), places)
    tables = {k: _to_pandas(v) for k, v in arrow.items()}
    xe = np.concatenate([sim["eh"]["xe"] for _co, _fo, sim, _fin in parts])
    xd = np.concatenate([sim["eh"]["xd"] for _co, _fo, sim, _fin in parts])
    return Assembled(tables=tables, truth=_to_pandas(truth), detail=detail,
                     arrow=dict(arrow, truth=truth), n_families=int(places.fam.max()) + 1,
                     xe=xe, xd=xd, plants=_plants(parts, arrow))


def _history(first: np.ndarray, places: _Places) -> pa.Table:
    """``children_history``: each child's first record, and the move for families that moved."""
    fam, loc0, imd0, move, loc, imd = (places.fam, places.loc0, places.imd0, places.move,
                                       places.loc, places.imd)
    n = len(first)
    moved = np.flatnonzero(move < _INF)
    child = np.concatenate([np.arange(n), moved])
    o = np.lexsort((np.concatenate([first, move[moved]]), child))
    imds = np.concatenate([imd0, imd[moved]])[o]
    return pa.table({
        "child_id": _ids("C", child[o] + 1, 7),
        "valid_from": _date_array(np.concatenate([first, move[moved]])[o]),
        "family_id": _ids("F", np.concatenate([fam, fam[moved]])[o] + 1, 7),
        "locality": _names(P.LOCALITIES, np.concatenate([loc0, loc[moved]])[o]),
        "imd_decile": pa.array(imds, type=pa.int64(), mask=imds == 0),
    })


def _count_share(k, of) -> dict:
    k, of = int(k), int(of)
    return {"count": k, "of": of, "share": round(k / of, 4) if of else None}


def _plants(parts, arrow: dict) -> dict:
    """Counts of what was planted (the manifest's ``plants``): moves always, and the knowledge
    dates when the tables carry them."""
    def mv(key):
        return _cat(parts, lambda co, fo, sim, fin: fin["moves"][key])
    moved, step_up = mv("moved"), mv("step_up")
    out = {"moves": {
        "families": int(len(moved)),
        "families_moved": int(moved.sum()),
        "children_moved": int(_cat(parts, lambda co, fo, sim, fin:
                                   fin["moves"]["moved"][sim["fam"]]).sum()),
        "moved_after_step_up": _count_share((moved & step_up).sum(), step_up.sum()),
        "moved_without_step_up": _count_share((moved & ~step_up).sum(), (~step_up).sum()),
        "rehoused_after_step_up": int(mv("rehoused").sum()),
        "eligible_families": int(mv("eligible").sum()),
    }}
    if "children_history" not in arrow:
        return out
    ct, ep = arrow["contacts"], arrow["episodes"]

    def days(table, col):
        return pc.fill_null(table[col].cast(pa.int32()), -1).to_numpy().astype(np.int64)
    rdate = days(ct, "recorded_date")
    rated = np.asarray(ct["mash_rag"].is_valid().to_numpy(zero_copy_only=False))
    rag_lag = (days(ct, "mash_rag_recorded_date") - rdate)[rated]
    out_lag = days(ct, "outcome_recorded_date") - rdate
    out["contacts"] = {
        "rating_after_recorded_date": _count_share((rag_lag > 0).sum(), len(rag_lag)),
        "rating_over_14_days": _count_share((rag_lag > 14).sum(), len(rag_lag)),
        "outcome_after_recorded_date": _count_share((out_lag > 0).sum(), len(out_lag)),
        "outcome_over_14_days": _count_share((out_lag > 14).sum(), len(out_lag)),
    }
    lag = days(ep, "start_recorded_date") - days(ep, "start_date")
    tri = days(ep, "triage_start_recorded_date") - days(ep, "start_recorded_date")
    sc = pc.is_in(ep["service"], pa.array(SOCIAL_CARE_SERVICES)).to_numpy(
        zero_copy_only=False)
    out["episodes"] = {
        "early_help_backdated": _count_share((lag[~sc] > 0).sum(), (~sc).sum()),
        "early_help_backdated_over_14_days": _count_share((lag[~sc] > 14).sum(), (~sc).sum()),
        "social_care_backdated": _count_share((lag[sc] > 0).sum(), sc.sum()),
        "social_care_backdated_over_14_days": _count_share((lag[sc] > 14).sum(), sc.sum()),
        "triage_after_start_recorded": _count_share((tri > 0).sum(), len(tri)),
    }
    return out
