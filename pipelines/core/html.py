"""What every HTML page of the project shares: escaping, number formatting, one stylesheet and
the page frame. Pages are self-contained (no scripts, no network); no pyspark here."""

from __future__ import annotations

import math
from html import escape
from typing import Any

STYLESHEET = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2933; background: #f5f7fa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; }
.meta { color: #52606d; font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { background: #fff; border-radius: 6px; padding: 10px 12px; box-shadow: 0 1px 2px #0002; }
.card .v { font-size: 20px; font-weight: 600; } .card .k { color: #52606d; font-size: 12px; }
table { border-collapse: collapse; background: #fff; margin: 6px 0; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 14px; }
figure { background: #fff; margin: 0; padding: 8px; border-radius: 6px; box-shadow: 0 1px 2px #0002; }
figure img { width: 100%; height: auto; } figcaption { color: #52606d; font-size: 12px; }
.note { color: #52606d; font-size: 12px; max-width: 900px; }
.pass { color: #1a7f37; } .fail { color: #cf222e; } .warn { color: #9a6700; }
code { background: #eef1f4; padding: 0 .2rem; }
"""


def text(value: Any) -> str:
    """A value as escaped HTML text; None as "-"."""
    return escape("-" if value is None else str(value))


def number(value: Any, unit: str = "") -> str:
    """A figure for people: thousands separators, shares as percentages, two decimals at most."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "share":
        return f"{100 * value:.2f}%"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain table; every cell is escaped."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{text(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, body: str, extra_style: str = "") -> str:
    """A whole self-contained page around body (already HTML), with the page's own rules."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{STYLESHEET}{extra_style}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
