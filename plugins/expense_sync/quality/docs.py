"""Make the Data Docs site open offline, as an auditor's copy must.

GX's pages load Bootstrap, jQuery, Vega and Font Awesome from public CDNs (and a logo from S3 that
carries the context id). Offline, such a page waits on dead links and renders unstyled. This pass
removes every remote script, stylesheet and image and inlines a small stylesheet instead; the
validation tables are static HTML and stay complete (the interactive charts need the removed
scripts and are dropped). The index's lists of validation results and suites are built in the
browser by a jQuery table plugin from rows embedded in an inline script: they are rendered here as
static tables, linking each result, and the inline scripts (which need the removed jQuery and would
only throw) are dropped.
"""

from __future__ import annotations

import ast
import html as markup
import re
from pathlib import Path
from typing import Any

REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)
REMOTE_LINK = re.compile(r"<link[^>]*\bhref=[\"']https?://[^>]*>", re.IGNORECASE)
REMOTE_IMG = re.compile(r"<img[^>]*\bsrc=[\"']https?://[^>]*>", re.IGNORECASE)
REMOTE_CSS_URL = re.compile(r"url\(\s*[\"']?https?://[^)]*\)", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script>.*?</script>", re.IGNORECASE | re.DOTALL)
TABLE_SCRIPT = re.compile(r"\$\('#([\w-]+)'\)\.bootstrapTable\(")
MARKER = "<!-- expense-sync: offline -->"

OFFLINE_CSS = """
<style>
body { font-family: -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0;
       color: #212529; background: #fff; font-size: 14px; line-height: 1.5; }
.container, .container-fluid { padding: 0 24px; }
nav, .navbar { background: #f4f6f8; border-bottom: 1px solid #dee2e6; padding: 8px 24px; }
a { color: #0b5cad; }
table { border-collapse: collapse; margin: 8px 0 16px; width: 100%; }
th, td { border: 1px solid #dee2e6; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f6f8; }
.card { border: 1px solid #dee2e6; border-radius: 4px; margin: 12px 0; padding: 8px 12px; }
.text-danger, .ge-failed { color: #b00020; } .text-success { color: #1b7f3b; }
.d-none, .modal, .collapse:not(.show) { display: none; }
code, pre { background: #f6f8fa; padding: 1px 4px; white-space: pre-wrap; }
.fa-check-circle::before { content: "\\2714"; color: #1b7f3b; }
.fa-times::before, .fa-times-circle::before { content: "\\2718"; color: #b00020; }
.fa-exclamation-triangle::before { content: "\\26A0"; color: #b26a00; }
</style>
"""


def make_self_contained(site: Path) -> int:
    """Rewrite every page of the site once; returns how many pages were changed."""
    changed = 0
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if MARKER in html:
            continue
        html = REMOTE_SCRIPT.sub("", html)
        html = REMOTE_LINK.sub("", html)
        html = REMOTE_IMG.sub("", html)
        html = REMOTE_CSS_URL.sub("none", html)
        html = _static_tables(html)
        html = INLINE_SCRIPT.sub("", html)
        html = html.replace("</head>", f"{MARKER}{OFFLINE_CSS}</head>", 1)
        page.write_text(html, encoding="utf-8")
        changed += 1
    for sheet in site.rglob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        if REMOTE_CSS_URL.search(css):
            sheet.write_text(REMOTE_CSS_URL.sub("none", css), encoding="utf-8")
    return changed


def _literal(text: str, key: str) -> Any:
    """The Python-literal list that follows ``key`` in ``text`` (GX writes the table rows with repr())."""
    start = text.index(key) + len(key)
    depth, quote, i = 0, None, start
    while True:
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return ast.literal_eval(text[start : i + 1])
        i += 1


def _cell(row: dict[str, Any], field: str, first: bool) -> str:
    link = row.get("_table_row_link_path")
    if field == "validation_success":
        text = row.get("_validation_success_text", "")
        css = "text-success" if text == "Success" else "ge-failed"
        return f'<a class="{css}" href="{markup.escape(link or "", quote=True)}">{markup.escape(text)}</a>'
    if field == "batch_identifier" and "_batch_identifier_sort" in row:
        return markup.escape(str(row["_batch_identifier_sort"]))  # drop the tooltip with the batch spec
    value = str(row.get(field, ""))
    if first and link and "<a " not in value:
        return f'<a href="{markup.escape(link, quote=True)}">{value}</a>'
    return value


def _static_tables(html: str) -> str:
    """Fill each script-built table (``$('#id').bootstrapTable({columns, data})``) with its rows."""
    for match in TABLE_SCRIPT.finditer(html):
        table_id, script = match.group(1), html[match.end() :]
        columns, rows = _literal(script, "columns: "), _literal(script, "data: ")
        head = "".join(f"<th>{markup.escape(c.get('title', c['field']))}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell(row, c['field'], n == 0)}</td>" for n, c in enumerate(columns)) + "</tr>"
            for row in rows
        )
        empty = re.compile(rf"(<table[^>]*\bid=\"{re.escape(table_id)}\"[^>]*>)\s*(</table>)", re.DOTALL)
        html = empty.sub(
            lambda m, h=head, b=body: f"{m.group(1)}<thead><tr>{h}</tr></thead><tbody>{b}</tbody>{m.group(2)}", html
        )
    return html


PACKS_MARKER = "<!-- expense-sync: auditors' packs -->"


def link_packs(index: Path) -> bool:
    """Link the auditors' packs (``<results>/auditors_pack/index.html``) from the Data Docs index,
    once; GX rewrites the index on every checkpoint run, so this runs after each one."""
    packs = index.parent.parent.parent / "auditors_pack" / "index.html"
    if not index.exists() or not packs.exists():
        return False
    html = index.read_text(encoding="utf-8")
    if PACKS_MARKER in html:
        return False
    section = (
        f'{PACKS_MARKER}<div class="container"><div class="card"><h3>Auditors\' packs (month end)</h3>'
        '<p><a href="../../auditors_pack/index.html">Month-end packs per period: reconciliation, differences, '
        "exception history, claim → voucher → ledger</a></p></div></div>"
    )
    html = html.replace("</body>", f"{section}</body>", 1) if "</body>" in html else html + section
    index.write_text(html, encoding="utf-8")
    return True
