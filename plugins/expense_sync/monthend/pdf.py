"""The printable copy of an auditors' pack: its page rendered to PDF by WeasyPrint (Pango, with the
Chinese font the image and ``make browser`` install), the charts included as the page shows them."""

from __future__ import annotations

from pathlib import Path


def write_pdf(page: Path, target: Path) -> int:
    """Render ``page`` (its charts and styles relative to it) to ``target``; return its page count."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # WeasyPrint ships no type hints

    document = HTML(filename=str(page)).render()
    document.write_pdf(target)
    return len(document.pages)
