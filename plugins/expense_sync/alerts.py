"""Failure and deadline alerts to a DingTalk group robot and by e-mail: configuration, not code.

Every channel is off until it is configured; nothing is read at DAG parse time:

* **DingTalk** — the connection ``alerts_dingtalk`` (type ``dingding``, the dingding provider's
  robot hook): password = the robot's ``access_token``; host = the API base URL (default
  ``https://oapi.dingtalk.com``); extra ``{"secret": "SEC…"}`` when the robot signs its calls (加签).
  A robot guarded by a keyword needs the keyword ``expense-sync``: every alert starts with it.
* **E-mail** — the connection ``alerts_smtp`` (type ``smtp``, the smtp provider's hook: host, port,
  login / password, extras ``from_email``, ``disable_ssl``, ``disable_tls``, ``timeout``,
  ``retry_limit``) together with the Variable ``expense_sync_alert_emails`` (comma-separated).

They are wired once for every DAG: :data:`expense_sync.dag_defaults.DEFAULT_ARGS` gives each task
``on_failure_callback=ExpenseSyncAlert()`` (it fires after the last retry, in the task's process),
and each DAG sets ``deadline=run_deadline(<interval>)`` (expense_sync.dag_defaults; Airflow's
DeadlineAlert, experimental since 3.1): when a run has not finished ``<interval>`` after it was
queued, the triggerer sends the alert.
Deadlines are on where ``EXPENSE_SYNC_DEADLINE_ALERTS`` is true (docker-compose and ``make airflow``
set it): Airflow 3.3.2's ``dag.test()`` and ``airflow dags test`` crash at the end of a run of any DAG
that has a deadline (apache/airflow#73428), and the demo and the tests run DAGs that way. Airflow also
keeps the deadline of a run that *failed* before it (#60927): such a run alerts twice.

A task whose process is killed (SIGKILL, the kernel's OOM killer, a worker stopped past its grace
period) runs no failure callback: its supervisor marks it failed and Airflow 3 calls nothing
(apache/airflow#60858). So :func:`watch_for_death` (``on_execute_callback`` in ``DEFAULT_ARGS``) starts,
on a task's last try, a small watcher process holding a pipe from the task process: a task that ends
in any ordinary way (success, failure, deferral) says so at its exit; a pipe that closes without
that word means the process was killed, and the watcher delivers the alert through the same
channels. Not under ``dag.test()``, where the task runs inside the caller's process.

A run whose tasks succeeded but whose business did not (a refused voucher, quarantined records,
conflicts waiting, a month not reconciled) alerts too, once, with the counts and the runbook anchor:
see :mod:`expense_sync.outcomes`; when that makes the summary task fail, its failure alert *is* the
business alert.

An alert names the DAG, the run, the failed task and its try, the error's type and first line and
the log's address. It carries nothing secret: the error text passes Airflow's secret masker and
the channels' own credentials are scrubbed from anything logged. A channel that cannot deliver logs
why and never raises: a broken robot must not hide the task's own error, nor stop the other channel.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import hashlib
import hmac
import html
import json
import logging
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier
from airflow.sdk.definitions.context import Context

from expense_sync.settings import ALERT_DINGTALK_CONN_ID, ALERT_SMTP_CONN_ID, VAR_ALERT_EMAILS

log = logging.getLogger(__name__)

KEYWORD = "expense-sync"
ERROR_CHARS = 300  # of the error's first line, in an alert
TIMEOUT = 10  # seconds per delivery attempt to the robot
RUNBOOK = "README.md → For operators"  # → the DAG's own section
BUSINESS = "Business outcomes"  # the README section of business alerts (expense_sync.outcomes)
DEADLINES_ENV = "EXPENSE_SYNC_DEADLINE_ALERTS"


@dataclass
class Alert:
    """What an alert says, channel-neutral."""

    title: str
    dag_id: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None
    anchor: str | None = None  # a business outcome's runbook section (expense_sync.outcomes)

    @property
    def runbook(self) -> str:
        if self.anchor:
            return f"{RUNBOOK} → {BUSINESS} → {self.anchor}"
        return f"{RUNBOOK} → {self.dag_id}"

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""] + [f"- **{k}:** {v}" for k, v in self.facts]
        if self.link:
            lines.append(f"- [Log]({self.link})")
        return "\n".join(lines + ["", f"Runbook: {self.runbook}"])

    def html(self) -> str:
        rows = "".join(
            f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self.facts
        )
        link = f"<p><a href='{html.escape(self.link)}'>Log</a></p>" if self.link else ""
        return (
            f"<h3>{html.escape(self.title)}</h3><table>{rows}</table>{link}<p>Runbook: {html.escape(self.runbook)}</p>"
        )


def _first_line(error: BaseException | str | None) -> str:
    from airflow.sdk.log import redact

    if error is None:
        return "(no error recorded)"
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    line = str(redact(text)).strip().splitlines()[0] if text.strip() else type(error).__name__
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


def task_failed(context: Mapping[str, Any]) -> Alert:
    """The alert for a task that failed after its last retry (a task callback's context)."""
    ti = context["ti"]
    dag_id = ti.dag_id
    facts = [
        ("DAG", dag_id),
        ("Run", str(context.get("run_id") or ti.run_id)),
        ("Task", f"{ti.task_id} (try {ti.try_number})"),
        ("Error", _first_line(context.get("exception"))),
    ]
    link = getattr(ti, "log_url", None)
    return Alert(f"{KEYWORD}: {dag_id} failed at {ti.task_id}", dag_id, facts, link)


def task_killed(context: dict[str, Any]) -> Alert:
    """The alert for a task whose process was killed before it could report anything."""
    return task_failed({**context, "exception": KILLED})


KILLED = "the task process was killed (SIGKILL: out of memory, kill -9, or its worker stopped)"


def deadline_missed(context: Mapping[str, Any]) -> Alert:
    """The alert for a run still unfinished at its deadline (the context the scheduler hands the triggerer)."""
    run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id = run.get("dag_id", "?")
    facts = [
        ("DAG", dag_id),
        ("Run", str(run.get("dag_run_id", "?"))),
        ("State", str(run.get("state", "?"))),
        ("Queued at", str(run.get("queued_at", "?"))),
        ("Deadline", str(deadline.get("deadline_time", "?"))),
    ]
    return Alert(f"{KEYWORD}: {dag_id} missed its deadline", dag_id, facts)


def _scrub(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _connection(conn_id: str):
    """The connection, or None when it is not configured (the channel is off)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _robot_hook():
    from airflow.providers.dingding.hooks.dingding import DingdingHook

    class RobotHook(DingdingHook):
        """The provider's robot hook with a timeout and the robot's optional signature (加签)."""

        def get_conn(self, headers=None, extra_options=None):
            session = super().get_conn(headers, extra_options)
            self.merged_extra = {"timeout": TIMEOUT}  # DingdingHook sends without one otherwise
            return session

        def run_and_check(self, session, prepped_request, extra_options):
            """The provider's send and check, less its warning on a failed connection: that warning
            prints the robot's URL, whose ``access_token`` is the robot's credential, and a masker is
            not in every process that alerts. The error goes on to :func:`send_dingtalk`, scrubbed."""
            settings = session.merge_environment_settings(
                prepped_request.url,
                proxies=session.proxies,
                stream=session.stream,
                verify=session.verify,
                cert=session.cert,
            )
            response = session.send(prepped_request, timeout=extra_options.get("timeout"), **settings)
            self.check_response(response)
            return response

        def _get_endpoint(self) -> str:
            endpoint = super()._get_endpoint()
            secret = (self.get_connection(self.http_conn_id).extra_dejson or {}).get("secret")
            if secret:
                stamp = str(round(time.time() * 1000))
                digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
                endpoint += f"&timestamp={stamp}&sign={urllib.parse.quote_plus(base64.b64encode(digest))}"
            return endpoint

    return RobotHook


def send_dingtalk(alert: Alert) -> bool:
    """Post the alert to the robot of ``alerts_dingtalk``; False when that channel is off or failed."""
    from airflow.sdk.log import mask_secret

    conn = _connection(ALERT_DINGTALK_CONN_ID)
    if conn is None:
        return False
    secret = (conn.extra_dejson or {}).get("secret")
    for value in (conn.password, secret):  # both travel in the robot's URL, which HttpHook may log
        if value:
            mask_secret(value)
    hook = _robot_hook()(
        dingding_conn_id=ALERT_DINGTALK_CONN_ID,
        message_type="markdown",
        message={"title": alert.title, "text": alert.markdown()},
    )
    try:
        hook.send()
    except Exception as err:  # noqa: BLE001 - one channel's failure must not stop the others
        log.error("alert not delivered to DingTalk: %s", _scrub(_first_line(err), conn.password, secret))
        return False
    log.info("alert sent to the DingTalk robot of %s", ALERT_DINGTALK_CONN_ID)
    return True


def send_email(alert: Alert) -> bool:
    """Mail the alert through ``alerts_smtp`` to ``expense_sync_alert_emails``; False when off or failed."""
    from airflow.sdk import Variable

    recipients = [a.strip() for a in str(Variable.get(VAR_ALERT_EMAILS, default="")).split(",") if a.strip()]
    conn = _connection(ALERT_SMTP_CONN_ID) if recipients else None
    if conn is None:
        return False
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    try:
        with SmtpHook(smtp_conn_id=ALERT_SMTP_CONN_ID) as hook:
            hook.send_email_smtp(
                to=recipients,
                subject=alert.title,
                html_content=alert.html(),
                from_email=hook.from_email or f"{KEYWORD}@localhost",
            )
    except Exception as err:  # noqa: BLE001 - one channel's failure must not stop the others
        log.error("alert not e-mailed: %s", _scrub(_first_line(err), conn.password))
        return False
    log.info("alert e-mailed to %d recipient(s)", len(recipients))
    return True


def deliver(alert: Alert) -> list[str]:
    """Send the alert to every configured channel; the names of those that took it."""
    sent = [name for name, send in (("dingtalk", send_dingtalk), ("email", send_email)) if send(alert)]
    if not sent:
        log.info("no alert channel delivered %r (configure %s or %s)", alert.title, *_CHANNELS)
    return sent


_CHANNELS = (ALERT_DINGTALK_CONN_ID, f"{ALERT_SMTP_CONN_ID} + Variable {VAR_ALERT_EMAILS}")


class ExpenseSyncAlert(BaseNotifier):
    """An Airflow notifier: a task failure (sync, in the task's process) or a missed deadline (async, in
    the triggerer) becomes an :class:`Alert` on every configured channel."""

    def __init__(self, event: str = "task_failed", context: Context | None = None) -> None:
        super().__init__(context=context)
        if event not in ("task_failed", "deadline_missed"):
            raise ValueError(f"unknown alert event {event!r}")
        self.event = event

    def _alert(self, context: Context) -> Alert:
        if self.event == "deadline_missed":
            return deadline_missed(context)
        business = getattr(context.get("exception"), "business_alert", None)  # outcomes.BusinessFailure
        return business if isinstance(business, Alert) else task_failed(context)

    def notify(self, context: Context) -> None:
        deliver(self._alert(context))

    async def async_notify(self, context: Context) -> None:
        await asyncio.to_thread(deliver, self._alert(context))


def deadlines_enabled() -> bool:
    return os.environ.get(DEADLINES_ENV, "").strip().lower() in ("1", "true", "yes", "on")


# -- a task killed outright: the watcher -------------------------------------------------------
BYE = "bye"
_TASK_PROCESS_ONLY = ("__AIRFLOW_SUPERVISOR", "_AIRFLOW_")  # the task runner's own channel: not the watcher's
_WATCHERS: list[subprocess.Popen] = []  # held so that their pipes stay open until the process exits
_WATCHER = """
import json, os, sys
payload = json.loads(sys.stdin.readline())
rest = sys.stdin.read()
if "BYE" not in rest:
    os.environ.update(payload["env"])
    from expense_sync.alerts import Alert, deliver
    deliver(Alert(**payload["alert"]))
""".replace("BYE", BYE)


def _last_try(ti) -> bool:
    return ti.try_number > (ti.max_tries or 0)


def _in_process() -> bool:
    """True under ``dag.test()``: the task runs in the caller's process, nothing to watch."""
    from airflow.sdk.execution_time import supervisor, task_runner

    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return comms is None or isinstance(comms, supervisor.InProcessSupervisorComms)


def _say_bye(watcher: subprocess.Popen[str]) -> None:
    if watcher.stdin is None:
        return
    try:
        watcher.stdin.write(BYE + "\n")
        watcher.stdin.close()
    except (OSError, ValueError):
        pass


def watch_for_death(context: dict[str, Any]) -> None:
    """``on_execute_callback``: on a task's last try, start the watcher that alerts if the task process
    is killed. Never raises: a watcher that cannot start must not stop the task."""
    try:
        ti = context["ti"]
        if not _last_try(ti) or _in_process():
            return
        from airflow.sdk import Variable

        env = {}
        for conn_id in (ALERT_DINGTALK_CONN_ID, ALERT_SMTP_CONN_ID):
            conn = _connection(conn_id)
            if conn is not None:
                fields = ("conn_type", "host", "login", "password", "schema", "port")
                as_json = {name: getattr(conn, name, None) for name in fields} | {"extra": conn.extra_dejson}
                env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(as_json)
        if not env:
            return
        env[f"AIRFLOW_VAR_{VAR_ALERT_EMAILS.upper()}"] = str(Variable.get(VAR_ALERT_EMAILS, default=""))
        watcher = start_watcher(env, task_killed(context))
        _WATCHERS.append(watcher)
        atexit.register(_say_bye, watcher)
    except Exception as err:  # noqa: BLE001 - the task matters more than its watcher
        log.warning("no watcher for a killed task: %s", _first_line(err))


def start_watcher(env: dict[str, str], alert: Alert) -> subprocess.Popen:
    """The watcher process: it reads the alert and the channels' settings (``env``: connections and
    Variables as environment variables) from its stdin, then waits; the end of its stdin without
    :data:`BYE` delivers the alert. Nothing secret is on its command line or in its environment."""

    own = {k: v for k, v in os.environ.items() if not k.startswith(_TASK_PROCESS_ONLY)}
    own["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # where this module was found
    # a task process may not reach the metadata database (its URL is blanked); the watcher needs none
    own |= {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite://", "AIRFLOW__CORE__SQL_ALCHEMY_CONN": "sqlite://"}
    watcher = subprocess.Popen(
        [sys.executable, "-c", _WATCHER],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        close_fds=True,
        env=own,
        start_new_session=True,  # outlives a kill of the task's process group
    )
    assert watcher.stdin is not None  # stdin=PIPE
    watcher.stdin.write(json.dumps({"env": env, "alert": asdict(alert)}) + "\n")
    watcher.stdin.flush()
    return watcher
