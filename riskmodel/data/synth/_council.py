"""The synthetic council: children in families, contacts, ACEs and episodes with known truth.

:func:`simulate_council` simulates a council in memory as a :class:`SyntheticCouncil`;
:func:`write_council` writes one atomically and :func:`generate_council` does both. The work is
split over private modules:

- ``_simulate``: one chunk of whole families (traits, ACEs, contacts, the chain of episodes,
  contact outcomes, truth rows, planted referral bias);
- ``_episodes``: the documented drivers and the early-help and social-care episodes, whose
  competing hazards give the truth its closed form;
- ``_bias``: ``--referral-bias`` parsing and the spurious contacts;
- ``_drift``: ``--drift``, planted changes from a date;
- ``_knowledge``: knowledge dates (values filled in later, backdated episodes) and moves
  between localities (``children_history``), from streams of their own;
- ``_assemble``: the chunks joined into the contract tables and the truth;
- ``_dates`` and ``_draws``: day-number arithmetic and random streams;
- ``_params``: every parameter, all copied into the manifest built here, which also
  holds the calibration (``_calibration``) and the truth's AUC.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import riskmodel.data.synth._params as P
from riskmodel._core.errors import InputError
from riskmodel._core.interrupt import held_interrupt
from riskmodel._core.io import check_writable
from riskmodel.data._contract import CONTRACT_VERSION
from riskmodel.data.synth._annex_a import FACTORS, WORKBOOK, write_annex_a
from riskmodel.data.synth._assemble import TRUTH_COLUMNS, Assembled, _assemble, _Part
from riskmodel.data.synth._bias import _BIAS_SOURCES, _Bias, parse_referral_bias
from riskmodel.data.synth._dates import _dates, _day, _quarters
from riskmodel.data.synth._drift import Drift, apply_drift, parse_drift
from riskmodel.data.synth._knowledge import draw_episode_lags, plant_knowledge
from riskmodel.data.synth._simulate import _finish_chunk, _population, _simulate_chunk

# a day as the options give it (ISO text or a date)
DateLike: TypeAlias = str | dt.date


@dataclass
class SyntheticCouncil:
    """A simulated council held in memory.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The four contract tables, and ``children_history`` unless made without knowledge
        dates, typed as :func:`riskmodel.data.coerce_tables` types them.
    truth : DataFrame
        ``child_id``, ``as_of`` and the true probabilities of each outcome within 6 and
        12 months, for every child with an early-help episode open at each quarterly date.
    manifest : dict
        Every parameter, the seed, the extract date, the calibration targets and the
        generated values, the documented drivers of each outcome, and ``plants``: counts of
        what the knowledge dates and moves planted.
    detail : DataFrame
        One row per truth row: ``episode_id``, the probabilities with the latent term
        removed (``q_...``) and what the simulation then did (``y_...``, 0/1, known even
        past the extract date). For checks and documentation, not written to disk.
    """

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    manifest: dict
    detail: pd.DataFrame = field(repr=False)
    _arrow: dict = field(default_factory=dict, repr=False)


def simulate_council(n_children: int = 20_000, *, seed: int = 1, start: DateLike = "2019-01-01",
                     end: DateLike = "2025-12-31", referral_bias: Sequence[str] | None = None,
                     drift: Sequence[str] | None = None,
                     knowledge_dates: bool = True) -> SyntheticCouncil:
    """Simulate a synthetic council in memory, with known truth.

    Parameters
    ----------
    n_children : int
        Number of children (whole families; the last family is cut to fit).
    seed : int
        Random seed. The same seed and options always give the same council.
    start, end : str or date
        First simulated day and the extract date (nothing happens after ``end``).
    referral_bias : list of str, optional
        ``column=value:factor`` (e.g. ``"ethnicity=black:2.0"``): multiply that group's
        police and school contacts by ``factor`` with spurious contacts that never enter any
        hazard, so the truth is unchanged. Off by default.
    drift : list of str, optional
        Planted changes from a date, ``KIND:DATE[:FACTOR]`` (``recording`` may add
        ``:SOURCE``): ``recording:2025-06-01`` (police contacts recorded twice),
        ``population:2025-06-01`` (adolescents arrive), ``risk:2025-06-01:3`` (escalation
        hazard x3), ``decay:2025-01-01:0.6`` (60% of escalations moved to other open
        children) or, every year, ``season:8:0.7:school`` (70% of August's school contacts
        unrecorded); see ``riskmodel.data.synth._drift``. Off by default.
    knowledge_dates : bool
        Record when late-filled values became known (the default): contacts'
        ``mash_rag_recorded_date`` and ``outcome_recorded_date``, episodes'
        ``start_recorded_date`` and ``triage_start_recorded_date``, and the
        ``children_history`` table. ``False``: a council that records none of them (the
        ``children`` table still holds the values as at the extract, after any move).
        Nothing else changes either way (``riskmodel.data.synth._knowledge``).

    Returns
    -------
    SyntheticCouncil

    Examples
    --------
    >>> from riskmodel.data import simulate_council
    >>> council = simulate_council(500, seed=3)
    >>> sorted(council.tables)
    ['ace_factors', 'children', 'children_history', 'contacts', 'episodes']
    >>> list(council.truth.columns)[:2]
    ['child_id', 'as_of']
    """
    n_children, seed, s, e = _checked(n_children, seed, start, end)
    biases = parse_referral_bias(referral_bias)
    drifts = parse_drift(drift, start=s, end=e)
    knowledge = bool(knowledge_dates)
    parts = _simulated_parts(_population(n_children, seed), seed, s, e, biases, drifts,
                             knowledge)
    a = _assemble(parts, n_children=sum(sim["n"] for _, _, sim, _ in parts), end=e,
                  knowledge=knowledge)
    return _council(a, seed=seed, n_children=n_children, start=s, end=e, biases=biases,
                    drifts=drifts, knowledge=knowledge)


def _council(a: Assembled, *, seed: int, n_children: int, start: int, end: int,
             biases: tuple[_Bias, ...], drifts: tuple[Drift, ...],
             knowledge: bool) -> SyntheticCouncil:
    """The assembled council with its manifest (what was asked for and what was planted)."""
    council = SyntheticCouncil(tables=a.tables, truth=a.truth, manifest={}, detail=a.detail,
                               _arrow=a.arrow)
    council.manifest = _manifest(council, seed=seed, n_children=n_children,
                                 n_families=a.n_families, start=start, end=end,
                                 biases=biases, xe=a.xe, xd=a.xd)
    council.manifest["knowledge_dates"] = knowledge
    council.manifest["plants"] = a.plants
    if drifts:
        council.manifest["drift"] = [d.describe() for d in drifts]
    return council


def _checked(n_children: int, seed: int, start: DateLike,
             end: DateLike) -> tuple[int, int, int, int]:
    """The size, seed and window checked (one error line each): ``(n, seed, start, end)``,
    the days as day numbers."""
    if isinstance(n_children, bool) or not isinstance(n_children, (int, np.integer)) \
            or n_children < 1:
        raise InputError(f"--children: must be a whole number of at least 1, got {n_children!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"--seed: must be a whole number of at least 0, got {seed!r}")
    s, e = _day(start, "start"), _day(end, "end")
    if e - s < 365:
        raise InputError(f"--end: {end} must be at least a year after --start {start}")
    return int(n_children), int(seed), s, e


def _simulated_parts(sizes: np.ndarray, seed: int, s: int, e: int, biases: tuple[_Bias, ...],
                     drifts: tuple[Drift, ...], knowledge: bool) -> list[_Part]:
    """Simulate the families chunk by chunk (bias, drift and knowledge dates planted in each):
    each chunk with the offsets of its first child and family."""
    quarters = _quarters(s, e)
    first = np.cumsum(sizes) - sizes
    chunk_of = first // P.CHUNK_CHILDREN
    parts: list[_Part] = []
    child_off = fam_off = 0
    for k in np.unique(chunk_of):
        fs = sizes[chunk_of == k]
        sim = _simulate_chunk(fs, int(k), seed, s, e)
        fin = _finish_chunk(sim, int(k), seed, s, e, quarters, biases)
        if knowledge:
            draw_episode_lags(sim, chunk=int(k), seed=seed)
        apply_drift(sim, fin, drifts, chunk=int(k), seed=seed, end=e, quarters=quarters)
        plant_knowledge(sim, fin, chunk=int(k), seed=seed, start=s, end=e, dates=knowledge)
        parts.append((child_off, fam_off, sim, fin))
        child_off += sim["n"]
        fam_off += sim["nf"]
    return parts


# --------------------------------------------------------------------------- manifest --------

def _jsonable(value):
    if isinstance(value, (MappingProxyType, dict)):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _parameters() -> dict:
    skip = {"TARGET_", "TOLERANCE_PP", "ESCALATION_DRIVERS", "DISENGAGEMENT_DRIVERS"}
    return {name.lower(): _jsonable(getattr(P, name)) for name in dir(P)
            if name.isupper() and not any(name.startswith(s) for s in skip)}


def _targets() -> dict:
    return {
        "walsall_2016": {
            "children_per_family": P.TARGET_CHILDREN_PER_FAMILY,
            "ace_count_bands": P.TARGET_ACE_BANDS, "age_bands": P.TARGET_AGE_BANDS,
            "ace_prevalence": P.TARGET_ACE_PREVALENCE, "top_five_needs": P.TARGET_TOP_NEEDS,
        },
        "warwickshire_2020": {"closure_shares": P.TARGET_CLOSURE,
                              "fsw_mean_weeks": P.TARGET_FSW_WEEKS},
        "wolverhampton_2018": {"initiating_agency": P.TARGET_INITIATING,
                               "flow": P.TARGET_FLOW,
                               "busiest_localities": ["Wednesfield", "Whitmore Reans"]},
        "tolerance_pp": P.TOLERANCE_PP,
    }


def _drivers(xe: np.ndarray, xd: np.ndarray) -> dict:
    """Each outcome's drivers, strongest first (|coefficient| x spread over episodes)."""
    out: dict[str, object] = {}
    for outcome, drivers, x in (("escalation", P.ESCALATION_DRIVERS, xe),
                                ("disengagement", P.DISENGAGEMENT_DRIVERS, xd)):
        rows: list[dict] = []
        for j, (name, coef, cap, what, feature) in enumerate(drivers):
            sd = float(x[:, j].std()) if len(x) else 0.0
            rows.append({"driver": name, "coefficient": coef, "cap": cap,
                         "strength": round(abs(coef) * sd, 4), "observable": what,
                         "feature": feature[0] if feature else None,
                         "features": list(feature or ()), "observed": feature is not None})
        out[outcome] = sorted(rows, key=lambda r: -r["strength"])
    out["scale"] = ("coefficient = change in the log cause-specific hazard per unit, fixed at "
                    "the episode's start; strength = |coefficient| x standard deviation of "
                    "the (capped) driver over this council's early-help episodes")
    return out


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    ranks = pd.Series(p).rank(method="average").to_numpy()
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def truth_auc(detail: pd.DataFrame, *, extract_date) -> dict:
    """AUC of the true probabilities (and with the latent term removed) against outcomes.

    Only as-of dates whose window ends on or before the extract date are used.
    """
    extract = pd.Timestamp(extract_date)
    as_of = detail["as_of"].to_numpy().astype("datetime64[M]")
    out = {}
    for outcome in ("escalation", "disengagement"):
        for months in (6, 12):
            ok = (as_of + months).astype("datetime64[ns]") <= extract.to_datetime64()
            y = detail[f"y_{outcome}_{months}m"].to_numpy()[ok]
            if not len(y) or y.min() == y.max():
                continue
            p = _auc(y, detail[f"p_{outcome}_{months}m"].to_numpy()[ok])
            q = _auc(y, detail[f"q_{outcome}_{months}m"].to_numpy()[ok])
            out[f"{outcome}_{months}m"] = {"rows": int(ok.sum()), "rate": round(y.mean(), 4),
                                           "auc_truth": round(p, 4),
                                           "auc_without_latent": round(q, 4),
                                           "gap": round(p - q, 4)}
    return out


def _manifest(council: SyntheticCouncil, *, seed, n_children, n_families, start, end, biases,
              xe, xd) -> dict:
    from riskmodel._core.version import __version__
    from riskmodel.data.synth._calibration import calibration_table

    extract = str(_dates(np.array([end]))[0])
    cal = calibration_table(council.tables, extract_date=extract)
    return {
        "generator": "riskmodel.data.generate_council",
        "riskmodel_version": __version__,
        "contract_version": CONTRACT_VERSION,
        "seed": seed,
        "n_children": n_children,
        "n_families": n_families,
        "start": str(_dates(np.array([start]))[0]),
        "end": extract,
        "extract_date": extract,
        "referral_bias": [{"column": b.column, "value": b.value, "factor": b.factor,
                           "sources": list(_BIAS_SOURCES)} for b in biases],
        "rows": {k: len(v) for k, v in council.tables.items()} | {"truth": len(council.truth)},
        "truth": {
            "as_of": "1 January, April, July and October after the start, up to the extract",
            "cohort": "children with an early-help episode open at the as-of date",
            "columns": list(TRUTH_COLUMNS),
            "auc": truth_auc(council.detail, extract_date=extract),
        },
        "drivers": _drivers(xe, xd),
        "targets": _jsonable(_targets()),
        "calibration": _jsonable(cal.to_dict(orient="records")),
        "parameters": _parameters(),
    }


# --------------------------------------------------------------------------- writing ---------

_FILES = ("children", "contacts", "ace_factors", "episodes", "children_history", "truth")
FORMATS = ("native", "annex-a")


def _names_of(council: SyntheticCouncil, fmt: str) -> tuple[str, ...]:
    """The tables written as Parquet: Annex A has no place for the knowledge dates, so it
    carries only the truth beside its workbook."""
    if fmt == "annex-a":
        return ("truth",)
    return tuple(name for name in _FILES if name in council._arrow)


def _files(council: SyntheticCouncil, fmt: str) -> tuple[str, ...]:
    parquet = tuple(f"{name}.parquet" for name in _names_of(council, fmt))
    return parquet + ((WORKBOOK, FACTORS) if fmt == "annex-a" else ())


def _write_folder(council: SyntheticCouncil, folder: Path, fmt: str = "native") -> None:
    for name in _names_of(council, fmt):
        pq.write_table(council._arrow[name], folder / f"{name}.parquet", compression="zstd")
    manifest = council.manifest
    if fmt == "annex-a":
        write_annex_a(council.tables, folder, seed=int(manifest.get("seed", 0)))
        manifest = manifest | {"format": "annex-a", "files": [WORKBOOK, FACTORS]}
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def write_council(council: SyntheticCouncil, out: str | os.PathLike,
                  fmt: str = "native") -> Path:
    """Write a simulated council atomically: a killed run never leaves a half-written one.

    A new or empty folder is built beside ``out`` and renamed into place. Into a folder that
    already holds other files, the council is built in a hidden temporary folder inside it,
    the old ``manifest.json`` is removed first and the new one is moved in last, so a folder
    with a manifest always holds a complete council. ``fmt="annex-a"`` writes the council as
    an Ofsted Annex A workbook and CIN assessment factors instead of the four tables.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format: expected native or annex-a, got {fmt!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp: Path | None = None
        try:
            with held_interrupt():  # a Ctrl-C never falls between making it and knowing it
                tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}.", dir=out.parent))
            _write_folder(council, tmp, fmt)
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        except BaseException:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-synth.", dir=out))
    try:
        _write_folder(council, tmp, fmt)
        (out / "manifest.json").unlink(missing_ok=True)
        # a council without knowledge dates leaves no children_history of an earlier one
        if "children_history.parquet" not in _files(council, fmt):
            (out / "children_history.parquet").unlink(missing_ok=True)
        for name in _files(council, fmt):
            os.replace(tmp / name, out / name)
        os.replace(tmp / "manifest.json", out / "manifest.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def generate_council(n_children: int = 20_000, *, seed: int = 1, out, start="2019-01-01",
                     end="2025-12-31", referral_bias=None, drift=None,
                     fmt: str = "native", knowledge_dates: bool = True) -> Path:
    """Generate a synthetic council and write it to ``out``.

    Writes ``children``, ``contacts``, ``ace_factors``, ``episodes``, ``children_history``
    (unless ``knowledge_dates=False``) and ``truth`` as Parquet (dates as date32, ids as
    strings, empty values as nulls) and ``manifest.json`` (every parameter, the seed, the
    extract date, the calibration targets with the generated values, the truth's AUC, the
    documented drivers and what was planted). The same seed and options give the same bytes.

    Parameters
    ----------
    n_children : int
        Number of children.
    seed : int
        Random seed.
    out : path-like
        Folder to write into (created if needed).
    start, end : str or date
        First simulated day and the extract date.
    referral_bias : list of str, optional
        ``column=value:factor`` specs, see :func:`simulate_council`.
    drift : list of str, optional
        Planted changes from a date, see :func:`simulate_council`.
    fmt : {"native", "annex-a"}
        ``annex-a`` writes ``annex_a.xlsx`` (Ofsted Annex A Lists 1, 2, 3, 6, 7, 8) and
        ``assessment_factors.csv`` (CIN census factor codes) instead of the four tables,
        with the same ``truth.parquet`` and ``manifest.json`` (Annex A has no knowledge
        dates).
    knowledge_dates : bool
        Record when late-filled values became known and ``children_history`` (the
        default); see :func:`simulate_council`.

    Returns
    -------
    pathlib.Path
        The folder written.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> out = generate_council(n_children=300, seed=1, out=tempfile.mkdtemp())
    >>> sorted(p.name for p in out.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['ace_factors.parquet', 'children.parquet', 'children_history.parquet', 'contacts.parquet',
     'episodes.parquet', 'manifest.json', 'truth.parquet']
    """
    if fmt not in FORMATS:
        raise InputError(f"--format: expected native or annex-a, got {fmt!r}")
    check_writable(out, folder=True)  # before the simulation, not after it
    council = simulate_council(n_children, seed=seed, start=start, end=end,
                               referral_bias=referral_bias, drift=drift,
                               knowledge_dates=knowledge_dates)
    return write_council(council, out, fmt)
