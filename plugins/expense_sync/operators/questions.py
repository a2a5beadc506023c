"""The one way a DAG asks people: Airflow's ``HITLOperator``, mapped over the questions a task words
(``subject``, ``body``, ``assigned_users``), one option to choose, *Defer* when nobody answers, and
the required reason of :func:`expense_sync.store.answers.question_params`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator

from expense_sync.store.answers import DEFER, question_params


def ask_people(task_id: str, options: list[str] | None, response_timeout: dt.timedelta) -> Any:
    """The partial HITL task; the DAG maps it with ``.expand_kwargs(<the questions task>)``.
    ``options=None``: each question carries its own (``options`` beside its subject and body); every
    set must offer *Defer*."""
    given = {} if options is None else {"options": options}
    return HITLOperator.partial(
        task_id=task_id,
        defaults=[DEFER],
        multiple=False,
        params=question_params(),
        response_timeout=response_timeout,
        **given,
    )
