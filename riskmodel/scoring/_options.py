"""What a scoring run is asked for: capacity, who gets reasons, outputs (one typed object)."""

from __future__ import annotations

from dataclasses import dataclass

from riskmodel._core.capacity import parse_selection

DEFAULT_CHUNK_SIZE = 50_000


@dataclass(frozen=True, kw_only=True)
class ScoreOptions:
    """The choices of one scoring run.

    Parameters
    ----------
    top : str or int, optional
        Capacity: ``"10%"``, ``500`` or ``"25/locality"``; default: the workspace's training
        spec, else the capacity the model was trained with.
    explain_top : str, optional
        Who gets reasons, as ``top`` or ``"all"``/``"none"``; default: those in capacity.
    chunk_size : int, default=50,000
        Rows scored at a time (bounds memory).
    by_locality : bool, default=False
        Also write one CSV per locality beside the scores file.
    with_characteristics : bool, default=False
        Carry the protected characteristics into the scores file (personal data: only when
        asked, e.g. to check this month's list for fairness).

    Examples
    --------
    >>> ScoreOptions(top="5/locality").check().top
    '5/locality'
    """

    top: str | int | None = None
    explain_top: str | int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    by_locality: bool = False
    with_characteristics: bool = False

    def check(self) -> ScoreOptions:
        """Refuse a bad capacity or reasons option now, before any slow work."""
        if self.top is not None:
            parse_selection(self.top)
        if self.explain_top is not None:
            parse_selection(self.explain_top, option="--explain-top", allow_all=True)
        return self
