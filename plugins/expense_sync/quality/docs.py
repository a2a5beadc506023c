"""What the Data Docs add to GX's site: the auditors' packs linked from the index, and on each
validation page the period, DAG and Airflow run it checked (the views that render the site offline
are in :mod:`expense_sync.quality.offline_views`)."""

from __future__ import annotations

import glob
import html
from collections.abc import Mapping
from pathlib import Path

PACKS_MARKER = "<!-- expense-sync: auditors' packs -->"
RUN_LABEL_MARKER = "<!-- expense-sync: run label -->"  # in great_expectations/plugins/custom_data_docs/views/page.j2


def link_packs(index: Path) -> bool:
    """Link the auditors' packs (``<results>/auditors_pack/index.html``) from the Data Docs index,
    once; GX rewrites the index on every checkpoint run, so this runs after each one."""
    packs = index.parent.parent.parent / "auditors_pack" / "index.html"
    if not index.exists() or not packs.exists():
        return False
    html_text = index.read_text(encoding="utf-8")
    if PACKS_MARKER in html_text:
        return False
    section = (
        f'{PACKS_MARKER}<div class="container"><div class="card"><h3>Auditors\' packs (month end)</h3>'
        '<p><a href="../../auditors_pack/index.html">Month-end packs per period: reconciliation, differences, '
        "exception history, claim → voucher → ledger</a></p></div></div>"
    )
    html_text = html_text.replace("</body>", f"{section}</body>", 1) if "</body>" in html_text else html_text + section
    index.write_text(html_text, encoding="utf-8")
    return True


def label_run_pages(site: Path, run_name: str, label: Mapping[str, str]) -> list[Path]:
    """Write ``label`` (period, DAG, Airflow run…) at the top of every validation page of the run
    ``run_name`` (GX files them as ``validations/<suite>/<run name>/<run time>/<batch>.html``), once:
    a page GX renders again gets its marker back and is labelled again. The pages it labelled."""
    block = (
        '<dl class="run-label">'
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in label.items())
        + "</dl>"
    )
    labelled = []
    for page in sorted((site / "validations").glob(f"*/{glob.escape(run_name)}/*/*.html")):
        text = page.read_text(encoding="utf-8")
        if RUN_LABEL_MARKER in text:
            page.write_text(text.replace(RUN_LABEL_MARKER, block, 1), encoding="utf-8")
            labelled.append(page)
    return labelled
