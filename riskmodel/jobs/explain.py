"""``riskmodel explain``: a SHAP report of a registered model on a council's extract."""

from __future__ import annotations

from pathlib import Path

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel._core.io import check_writable
from riskmodel.evaluation import write_explanation_report
from riskmodel.features import FeatureSpec
from riskmodel.jobs._extract import open_extract
from riskmodel.store import load_model


def explain_extract(model, data, out_path, *, as_of=None, max_rows: int | None = 2000) -> Path:
    """Explain a registered model on a council extract at one as-of date (``riskmodel explain``).

    Parameters
    ----------
    model : str or LoadedModel
        A registered model URI such as ``models:/escalation@champion``, or a loaded model.
    data : path
        The council extract (folder of Parquet/CSV tables, or a DuckDB file).
    out_path : path
        The HTML report to write.
    as_of : date, optional
        Explain the children open to early help at this date; default: the extract date
        (``manifest.json``'s ``extract_date``, else the latest date in the tables).
    max_rows : int or None, default=2000

    Returns
    -------
    Path

    Examples
    --------
    >>> explain_extract("models:/escalation@champion", "council", "explain.html",
    ...                 as_of="2025-10-01")  # doctest: +SKIP
    """
    if Path(out_path).suffix.lower() not in (".html", ".htm"):  # never HTML under another name
        raise InputError(f"--out: explain writes an HTML report; name it .html, not "
                         f"{Path(out_path).name}")
    check_writable(out_path)
    loaded = load_model(model) if isinstance(model, str) else model
    ex = open_extract(data)
    when = ex.date if as_of is None else parse_date(as_of, "as_of")
    meta = loaded.meta
    spec = FeatureSpec.model_validate(meta["feature_spec"]) if meta.get("feature_spec") else None
    matrix = ex.matrix([when], outcome=meta["outcome"], spec=spec,
                       horizon_months=int(meta["horizon_months"]))
    if matrix.empty:
        raise InputError(f"as_of: no child has an early-help episode open at "
                         f"{when.date()}, so there is nobody to explain")
    return write_explanation_report(loaded, matrix, out_path, max_rows=max_rows)
