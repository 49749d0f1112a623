"""Self-contained HTML reports: one file with inline styles and charts that opens offline.

Reports are Jinja2 templates in ``riskmodel/evaluation/templates`` that extend
``base.html.j2`` (the shared page, styles and status markers). Charts are matplotlib figures
embedded as base64 PNG (:func:`figure_png`) or inline SVG (:func:`figure_svg`); nothing is
fetched from the network, so a report can be emailed or opened on a machine with no access.
"""

from __future__ import annotations

import base64
import io
import math
import numbers
from functools import lru_cache
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

from riskmodel.evaluation._disclosure import SUPPRESSED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Status of a comparison: the text always says what the colour means (never colour alone).
STATUS = {
    "outside": ("red", "\u25b2 Outside tolerance"),
    "check": ("amber", "\u25cf Check: interval overlaps tolerance"),
    "within": ("green", "\u2713 Within tolerance"),
    "reference": ("grey", "Reference group"),
    "suppressed": ("grey", "Suppressed (small numbers)"),
    "not applicable": ("grey", "Not applicable"),
}


def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, numbers.Real):
        return math.isnan(float(value))
    return False


def fmt_count(value) -> str:
    """A count with thousands separators; published text (``"<5"``) is kept as it is.

    Examples
    --------
    >>> fmt_count(12345), fmt_count("<5"), fmt_count(None)
    ('12,345', '<5', '\u2013')
    """
    if isinstance(value, str):
        return value
    if _missing(value):
        return "\u2013"
    return f"{int(round(float(value))):,}"


def fmt_percent(value, digits: int = 1) -> str:
    """A proportion as a percentage (0.123 -> ``"12.3%"``); text is kept as it is.

    Examples
    --------
    >>> fmt_percent(0.1234), fmt_percent("suppressed")
    ('12.3%', 'suppressed')
    """
    if isinstance(value, str):
        return value
    if _missing(value):
        return "\u2013"
    return f"{100 * float(value):.{digits}f}%"


def fmt_number(value, digits: int = 2) -> str:
    """A plain number to ``digits`` decimals; text is kept as it is.

    Examples
    --------
    >>> fmt_number(1.6049), fmt_number(float("inf"))
    ('1.60', '\u221e')
    """
    if isinstance(value, str):
        return value
    if _missing(value):
        return "\u2013"
    v = float(value)
    if math.isinf(v):
        return "\u221e" if v > 0 else "-\u221e"
    return f"{v:.{digits}f}"


def fmt_interval(low, high, kind: str = "number", digits: int | None = None) -> str:
    """``"1.31\u20132.00"`` (or percentages); empty when either end is missing or hidden."""
    if isinstance(low, str) or isinstance(high, str) or _missing(low) or _missing(high):
        return ""
    if kind == "percent":
        d = 1 if digits is None else digits
        return f"{fmt_percent(low, d)}\u2013{fmt_percent(high, d)}"
    d = 2 if digits is None else digits
    return f"{fmt_number(low, d)}\u2013{fmt_number(high, d)}"


def sentence_case(text) -> str:
    """Capitalise the first letter only (``"IMD quintile"`` stays as it is)."""
    text = str(text)
    return text[:1].upper() + text[1:]


def status_badge(status: str) -> Markup:
    """A status marker: coloured, and always with words and a symbol."""
    colour, text = STATUS.get(status, ("grey", str(status)))
    return Markup(f'<span class="status {colour}">{escape(text)}</span>')


def is_hidden(value) -> bool:
    """True for a published cell that was suppressed."""
    return isinstance(value, str) and (value == SUPPRESSED or value.startswith("<"))


def figure_png(fig: Figure, *, dpi: int = 110, tight: bool = True) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI (the figure is closed).

    ``tight`` crops the image to what is drawn (``bbox_inches="tight"``), which lays the
    figure out once more before drawing it; a chart laid out beforehand
    (:func:`text_inches`) passes ``tight=False`` and is drawn once.
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_svg(fig) -> Markup:
    """A matplotlib figure as inline ``<svg>`` markup (the figure is closed).

    Text is drawn as paths, so the SVG needs no fonts; the XML prolog is dropped so the
    markup can sit inside HTML.
    """
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    return Markup(text[start:] if start >= 0 else text)


def text_inches(fig: Figure, texts: list[str], fontsize: float) -> tuple[float, float]:
    """The widest and tallest of ``texts`` (inches) as ``fig`` would draw them at
    ``fontsize`` points: measured by the figure's renderer, nothing is drawn.

    Examples
    --------
    >>> fig = new_figure(2, 1)
    >>> w, h = text_inches(fig, ["a", "a longer label"], 8)
    >>> w > text_inches(fig, ["a"], 8)[0] and h > 0
    True
    >>> figure_png(fig).startswith("data:image/png")
    True
    """
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, fig.dpi)  # the PNG's renderer: the same fonts and metrics
    prop = FontProperties(size=fontsize)
    sizes = [renderer.get_text_width_height_descent(t, prop, ismath=False)
             for t in texts or [""]]
    return (max(w for w, _, _ in sizes) / fig.dpi, max(h for _, h, _ in sizes) / fig.dpi)


def new_figure(width: float, height: float):
    """A matplotlib figure on the non-interactive backend (safe on servers and in CI)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment for the package's report templates (autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskmodel.evaluation", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        count=fmt_count, percent=fmt_percent, number=fmt_number, status=status_badge,
        sentence=sentence_case,
    )
    env.globals.update(interval=fmt_interval, is_hidden=is_hidden, STATUS=STATUS)
    return env


def render(template: str, **context) -> str:
    """Render a report template from ``riskmodel/evaluation/templates`` to an HTML string.

    Examples
    --------
    >>> html = render("base.html.j2", title="Example")
    >>> html.startswith("<!DOCTYPE html>") and "<title>Example</title>" in html
    True
    """
    return environment().get_template(template).render(**context)
