"""HTML pieces of the auditors' pack: the style (screen and print), tables, and a chart beside its numbers."""

from __future__ import annotations

import html
from collections.abc import Collection
from typing import Any

from expense_sync.monthend.charts import Chart

NUMERIC = {"claims", "amount", "month before", "change", "change on the month before"}  # chart table columns

CSS = """<style>
body { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei",
       "Noto Sans CJK SC", sans-serif; margin: 24px; font-size: 14px; color: #212529; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #dee2e6; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f6f8; } .bad { color: #b00020; } .ok { color: #1b7f3b; } .note { color: #6c757d; }
tr.total td { font-weight: bold; background: #f4f6f8; }
table.chart, table.chart > tbody > tr > td { border: none; padding: 0 16px 0 0; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; font-size: 8pt; } th, td { padding: 1px 4px; } h2 { break-after: avoid; }
               table.chart { break-inside: avoid; } }
</style>"""


def text(value: Any) -> str:
    return "" if value is None else str(value)


def table(
    columns: list[str],
    rows: list[tuple],
    numeric: Collection[int] = frozenset(),
    total: tuple | None = None,
) -> str:
    """A table of ``rows``; the columns in ``numeric`` right-aligned; ``total`` a last, bold row."""

    def row_html(row: tuple, css: str = "") -> str:
        cells = "".join(
            f'<td class="num">{html.escape(text(v))}</td>' if i in numeric else f"<td>{html.escape(text(v))}</td>"
            for i, v in enumerate(row)
        )
        return f"<tr{css}>{cells}</tr>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(row_html(row) for row in rows) + (row_html(total, ' class="total"') if total else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart(item: Chart) -> str:
    """The chart's drawing and, beside it, the numbers it is drawn from (with their total)."""
    numeric = {i for i, c in enumerate(item.columns) if c in NUMERIC}
    amount_at = item.columns.index("amount")
    total = tuple("total" if i == 0 else (item.total if i == amount_at else "") for i in range(len(item.columns)))
    numbers = table(item.columns, item.rows, numeric, total)
    drawing = (
        f"<img src='{html.escape(item.svg)}' alt='{html.escape(item.title)}'>"
        if item.svg
        else "<p class='note'>No expense to draw.</p>"
    )
    return (
        f"<h3>{html.escape(item.title)}</h3><table class='chart'><tr><td>{drawing}</td><td>{numbers}"
        f"<p class='note'><a href='charts/{item.name}.csv'>charts/{item.name}.csv</a></p></td></tr></table>"
    )
