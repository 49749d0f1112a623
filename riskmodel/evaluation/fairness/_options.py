"""What a fairness audit is asked to do: the options of :func:`fairness_audit`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from riskmodel.evaluation.fairness._policy import FairnessPolicy


@dataclass(frozen=True, kw_only=True)
class AuditOptions:
    """The settings of one fairness audit (see :func:`fairness_audit`).

    Only ``label``, ``score`` and one of ``threshold`` and ``top`` are needed; everything else
    has a default. The options are checked when the audit runs, against the table audited, so
    every problem is reported as one line naming the option (an ``InputError``).

    Attributes
    ----------
    label : str
        The outcome column, 0/1; rows where it is empty (not yet observed) are left out of
        the audit after flagging.
    score : str
        The score column (higher = more likely); scores in [0, 1] are treated as
        probabilities and also get calibration measures.
    threshold : float, optional
        Flag ``score >= threshold``.
    top : str or int, optional
        Flag the highest scores instead: ``"10%"`` or a number of children (per as-of date
        when there is an ``as_of`` column). Give exactly one of ``threshold`` and ``top``.
    sensitive : str or list, optional
        Characteristic columns to audit (``"race,sex"``); ``"a*b"`` adds an intersection.
        Settings for names in the policy (reference group, label) are taken from it.
        Default: the policy's characteristics and intersections.
    policy : FairnessPolicy, path or dict, optional
        Default: the packaged policy (:func:`load_fairness_policy`).
    random_state : int, default=0
        Seed of the bootstrap (and of the mitigation's folds).
    cluster : str, optional
        Resample whole clusters (e.g. ``"family_id"``: siblings share outcomes) instead of
        rows; by default rows are resampled, exactly as fairlearn does.
    mitigate : bool, default=False
        Also fit the policy's mitigation and report it before/after.
    profile_columns : list or dict, optional
        Extra columns for the cohort profile (a dict gives their names in the report).
    references : dict, optional
        Reference group per characteristic, overriding the policy (``{"race": "Caucasian"}``).
    subjects, positive_words, negative_words : str
        Words for the summary: who is scored and what the label means.
    source : str, default="scores"
        Name of the input in error messages.
    record_id : str or list of str, optional
        Columns that identify a record, for the keys that round published counts the same
        way in every report (default ``child_id`` and ``as_of`` when present, else the row
        number).
    bootstrap : bool, default=True
        Resample for the intervals of AUC and calibration; ``False`` skips it (faster; those
        figures then have no interval and are not judged).

    Examples
    --------
    >>> import dataclasses
    >>> options = AuditOptions(label="label", score="score", top="10%", sensitive="sex")
    >>> options.threshold is None, options.subjects
    (True, 'children')
    >>> dataclasses.replace(options, top=None, threshold=0.5).threshold
    0.5
    """

    label: str
    score: str
    threshold: float | None = None
    top: str | int | None = None
    sensitive: str | Sequence[str | Sequence[str]] | None = None
    policy: FairnessPolicy | str | os.PathLike | dict | None = None
    random_state: int = 0
    cluster: str | None = None
    mitigate: bool = False
    profile_columns: Sequence[str] | dict[str, str] | None = None
    references: Mapping[str, str] | None = None
    subjects: str = "children"
    positive_words: str = "needed help"
    negative_words: str = "did not need help"
    source: str = "scores"
    record_id: str | Sequence[str] | None = None
    bootstrap: bool = True
