"""A second process for the shared rate-limit test: N concurrent gateway calls, counted.

    python -m tests.gateway.limit_worker ASSISTANT_ID MODEL_KEY CALLS
prints {"ok": …, "limited": …}. Settings come from the environment (DATABASE_URL, REDIS_URL).
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main(assistant_id: int, model_key: str, calls: int) -> dict[str, int]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from core.models import Assistant
    from gateway.calls import CallScope, complete
    from gateway.errors import RateLimited

    assistant = Assistant.objects.get(pk=assistant_id)
    scope = CallScope("test", workspace_id=assistant.workspace_id, assistant_id=assistant.pk)
    counts = {"ok": 0, "limited": 0}
    lock = threading.Lock()
    start = threading.Barrier(calls)

    def call(n: int) -> None:
        start.wait()
        question = [{"role": "user", "content": f"Process {os.getpid()} question {n}"}]
        try:
            complete(question, scope=scope, model=model_key, cache="off")
            outcome = "ok"
        except RateLimited:
            outcome = "limited"
        with lock:
            counts[outcome] += 1

    threads = [threading.Thread(target=call, args=(n,)) for n in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))))
