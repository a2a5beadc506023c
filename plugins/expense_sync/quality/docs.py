"""Link the auditors' packs from the Data Docs index (the views that render the site offline are in
:mod:`expense_sync.quality.offline_views`)."""

from __future__ import annotations

from pathlib import Path

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
