"""The views that render the Data Docs so they open offline, as an auditor's copy must.

GX's page templates load Bootstrap, jQuery, Vega and Font Awesome from public CDNs, and a logo from
S3 that carries the context id. Offline, such a page waits on dead links and renders unstyled. The
site builder (``great_expectations.yml``) renders every page with the views below, which look a
template up in the context's ``plugins/custom_data_docs/views`` before GX's own. Those templates are
GX's without the remote stylesheets, scripts and logo; the index's lists of validation results and
suites, which GX builds in the browser with a jQuery table plugin, are static tables linking each
page; the charts and the "Failed Only" filter, which need the removed scripts, are left out.
``plugins/custom_data_docs/styles/data_docs_custom_styles.css`` is a small stylesheet in place of Bootstrap.
"""

from __future__ import annotations

from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from great_expectations.render.view.view import DefaultJinjaView
from jinja2 import ChoiceLoader, FileSystemLoader


class _ProjectTemplatesFirst(DefaultJinjaView):
    """A GX view whose templates come from the context's ``custom_data_docs/views`` first, then GX's."""

    env: Any  # the Jinja environment DefaultJinjaView makes

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None):
        if not custom_views_directory:
            raise FileNotFoundError("the offline Data Docs need the templates in plugins/custom_data_docs/views")
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.loader = ChoiceLoader([FileSystemLoader(custom_views_directory), self.env.loader])


class OfflinePageView(_ProjectTemplatesFirst, DefaultJinjaPageView):
    """The page of one validation result or suite, without remote assets."""


class OfflineIndexPageView(_ProjectTemplatesFirst, DefaultJinjaIndexPageView):
    """The site's index, without remote assets, its lists as static tables."""
