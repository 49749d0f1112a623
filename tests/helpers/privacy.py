"""Published text names no child: no child or family id, no date of birth."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

# an embedded image (its base64 letters could spell anything)
BASE64 = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")


def assert_names_no_child(text: str, children: pd.DataFrame, *,
                          allowed_dates: Iterable[str] = ()) -> None:
    """No child id, family id or date of birth in a published text (images aside)."""
    text = BASE64.sub("", text)
    words = set(re.findall(r"[A-Za-z0-9_-]+", text))
    ids = set(children["child_id"].astype(str)) | set(children["family_id"].astype(str))
    leaked = sorted(ids & words)
    assert not leaked, f"identifiers in a published report: {leaked[:5]}"
    dobs = set(pd.to_datetime(children["date_of_birth"]).dt.strftime("%Y-%m-%d"))
    found = set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) & dobs
    assert found <= set(allowed_dates), f"dates of birth in a published report: {found}"
