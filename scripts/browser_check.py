"""Look at the Airflow UI and the Data Docs the way a person does: headless Chromium, screenshots, errors.

``python scripts/browser_check.py --url http://127.0.0.1:8080 --password … --dag org_sync_daily
--docs great_expectations/uncommitted/data_docs/local_site/index.html --out test-artifacts/browser``

Drives Debian's Chromium over the DevTools protocol (the ``websockets`` client already pinned), with
no driver and no browser download: logs in through the SimpleAuthManager login form, opens the DAG
list and each named DAG's page, then the Data Docs index and its newest validation page, and saves a
PNG of each. A page fails when it shows an error (Airflow's error texts, a browser error page, an
import error banner), throws a JavaScript exception, or never shows what it should.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1440,960",
    "--remote-debugging-port=0",
]
# What a broken page says: Airflow's own error texts (its i18n 'error' strings), the browser's, the server's.
ERROR_TEXTS = (
    "An unexpected error occurred",
    "Something went wrong",
    "Page Not Found",
    "Dag Not Found",
    "Dag Import Error",
    "Plugin Import Error",
    "Internal Server Error",
    "Traceback (most recent call last)",
    "This site can’t be reached",
    "Your file couldn’t be accessed",
    "ERR_",
)


class PageError(AssertionError):
    """A page showed an error, threw, or never showed what it should."""


@dataclass
class Shot:
    name: str
    url: str
    path: Path
    text: str = ""
    errors: list[str] = field(default_factory=list)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("Chromium is not installed: apt-get install chromium (make test does it)")
    return found


class Browser:
    """One headless Chromium with a fresh profile, driven through one page over the DevTools protocol."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="expense-sync-chromium-")
        self.process = subprocess.Popen(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port = self._devtools_port()
        page = next(
            t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json() if t["type"] == "page"
        )
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
        self._id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime"):
            self.call(f"{domain}.enable")

    def _devtools_port(self, timeout: float = 30) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not marker.exists() or not marker.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("Chromium did not start")
            time.sleep(0.1)
        return int(marker.read_text().split()[0])

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def goto(self, url: str, timeout: float = 30) -> None:
        """Navigate and wait for the new document's load event (the old page's text is gone by then)."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                return
            self.evaluate("0")  # pumps the events that arrive meanwhile
            time.sleep(0.1)

    def wait_for(self, texts: tuple[str, ...], timeout: float = 30, settle: float = 1.0) -> str:
        """The page's text once it shows every one of ``texts`` (or an error) and stays the same ``settle`` s.

        A single-page app renders in steps (the layout, then each API answer), so the first text
        that matches may not be the route's final state: it must also stop changing.
        """
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while True:
            text = self.text()
            if text != last:
                last, since = text, time.monotonic()
            shown = (text.strip() and all(t in text for t in texts)) or any(e in text for e in ERROR_TEXTS)
            if (shown and time.monotonic() - since >= settle) or time.monotonic() > deadline:
                return text
            time.sleep(0.25)

    def type_into(self, selector: str, value: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=value)

    def click(self, *labels: str, timeout: float = 30, within: str = "document") -> None:
        """Click the visible button (or link) whose text or aria-label is one of ``labels``, as a person
        would; wait up to ``timeout`` s for it to appear and be enabled (a dialog renders after its
        trigger). An icon button's aria-label is its tooltip (Airflow's: "Press shift+c to clear")."""
        script = f"""(() => {{
            const want = {json.dumps(list(labels))};
            const root = {within};
            const found = [...root.querySelectorAll('button, a, [role=button], [role=menuitem]')].find(e =>
                (want.includes(e.innerText.trim()) || want.includes(e.getAttribute('aria-label')))
                && !e.disabled && e.getClientRects().length > 0);
            if (!found) return false;
            found.scrollIntoView({{block: 'center'}});
            found.click();
            return true;
        }})()"""
        deadline = time.monotonic() + timeout
        while not self.evaluate(script):
            if time.monotonic() > deadline:
                raise LookupError(f"no enabled button {labels!r} on {self.evaluate('location.href')}")
            time.sleep(0.25)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def js_errors(self) -> list[str]:
        errors = []
        for event in self.events:
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        return errors

    def close(self) -> None:
        if getattr(self, "_stack", None):
            self._stack.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def capture(browser: Browser, name: str, url: str, expect: tuple[str, ...], out: Path) -> Shot:
    """Open ``url``, wait for ``expect``, save ``<out>/<name>.png`` and record what went wrong."""
    browser.goto(url)
    shot = Shot(name, url, out / f"{name}.png")
    browser.wait_for(expect)
    browser.screenshot(shot.path)
    shot.text = browser.text()  # what the screenshot shows, read after it
    shot.errors += [f"shows {e!r}" for e in ERROR_TEXTS if e in shot.text]
    shot.errors += [f"never showed {t!r}" for t in expect if t not in shot.text]
    shot.errors += [f"JavaScript: {e.splitlines()[0]}" for e in browser.js_errors()]
    if not shot.text.strip():
        shot.errors.append("empty page")
    return shot


def login(browser: Browser, base_url: str, user: str, password: str, out: Path) -> Shot:
    """Sign in through the SimpleAuthManager login form, as a person would."""
    shot = capture(browser, "01-login", f"{base_url}/auth/login", ("Sign in",), out)
    browser.type_into("input[name=username]", user)
    browser.type_into("input[name=password]", password)
    browser.evaluate("document.querySelector('button[type=submit]').click()")
    deadline = time.monotonic() + 30
    while "/auth/login" in (browser.evaluate("location.pathname") or "/auth/login"):
        if time.monotonic() > deadline:
            shot.errors.append("the login form did not let us in")
            break
        time.sleep(0.25)
    return shot


def check_airflow(
    browser: Browser,
    base_url: str,
    user: str,
    password: str,
    dag_ids: list[str],
    out: Path,
    runs: dict[str, str] | None = None,
) -> list[Shot]:
    """Sign in, then the DAG list, each DAG's page and, for ``runs`` ({dag_id: run_id}), the run's page."""
    shots = [login(browser, base_url, user, password, out)]
    shots.append(capture(browser, "02-dag-list", f"{base_url}/dags", ("Dags", *dag_ids), out))
    for n, dag_id in enumerate(dag_ids, 3):
        shots.append(
            capture(browser, f"{n:02d}-dag-{dag_id}", f"{base_url}/dags/{dag_id}", (dag_id, "Latest Run"), out)
        )
        if dag_id in (runs or {}):
            run_id = runs[dag_id]
            page = f"{base_url}/dags/{dag_id}/runs/{urllib.parse.quote(run_id, safe='')}"
            shots.append(capture(browser, f"{n:02d}-run-{dag_id}", page, (run_id, "Success"), out))
    return shots


def check_data_docs(browser: Browser, index: Path, out: Path, expect: tuple[str, ...]) -> list[Shot]:
    shots = [capture(browser, "50-data-docs-index", index.resolve().as_uri(), expect, out)]
    link = browser.evaluate("(document.querySelector('a[href*=\"validations/\"]') || {}).href || null")
    if not link:
        shots[0].errors.append("the index links no validation result")
    else:
        shots.append(capture(browser, "51-data-docs-validation", link, ("Expectation",), out))
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--dag", action="append", default=[], help="a DAG whose page to open (repeatable)")
    parser.add_argument("--docs", type=Path, help="the Data Docs index.html")
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/browser"))
    args = parser.parse_args(argv)
    with Browser() as browser:
        shots = check_airflow(browser, args.url.rstrip("/"), args.user, args.password, args.dag, args.out)
        if args.docs:
            shots += check_data_docs(browser, args.docs, args.out, ("Validation",))
    for shot in shots:
        print(f"{'FAIL' if shot.errors else 'ok  '} {shot.path}  {'; '.join(shot.errors)}")
    return 1 if any(s.errors for s in shots) else 0


if __name__ == "__main__":
    sys.exit(main())
