"""The ledger written behind the callers' backs: nothing lost, nothing written twice."""

from __future__ import annotations

import threading

import pytest

from benchmarks.fake_provider import error, reply
from gateway.calls import CallScope, complete
from gateway.ledger import ledger_flush
from gateway.models import Attempt, Call

pytestmark = pytest.mark.django_db(transaction=True)


def test_written_behind_every_call_and_attempt_arrives_after_a_flush(
    fake, primary, assistant, settings
):
    settings.LLM_LEDGER_WRITE_BEHIND = True
    fake.script("primary", error(500), *[reply("fine")] * 40)
    scope = CallScope("test", workspace_id=assistant.workspace_id, assistant_id=assistant.pk)

    def ask(n: int) -> None:
        complete([{"role": "user", "content": f"question {n}"}], scope=scope, model=primary)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger_flush()

    assert Call.objects.count() == 20
    assert Attempt.objects.count() == 21  # one call retried after the 500
    assert Attempt.objects.filter(error_kind="server_error").count() == 1
