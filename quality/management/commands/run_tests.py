from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import Assistant
from quality.models import SuiteRunStatus
from quality.services.conversation_tests import conversation_tests_now


class Command(BaseCommand):
    help = (
        "Play an assistant's conversation tests against its draft, write the report as JSON, "
        "and exit with 1 when a test fails (for CI). The run also shows on the Tests page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--assistant", type=int, required=True, help="The assistant's id.")
        parser.add_argument("--suite", default="", help="Only this suite (default: every suite).")
        parser.add_argument(
            "--output", type=Path, required=True, help="Where to write REPORT.json."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        assistant = Assistant.objects.filter(pk=options["assistant"]).first()
        if assistant is None:
            raise CommandError(f"No assistant with id {options['assistant']}.")
        try:
            run = conversation_tests_now(assistant=assistant, suite=options["suite"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if run.status != SuiteRunStatus.DONE:
            raise CommandError(f"The tests could not run: {run.error}")
        report = {"run": run.pk, "status": run.status, **(run.report or {})}
        output: Path = options["output"]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        for test in report["tests"]:
            mark = "PASS" if test["passed"] else "FAIL"
            self.stdout.write(f"{mark}  {test['suite']} / {test['name']}")
            for turn in test["turns"]:
                for check in turn["checks"]:
                    if not check["passed"]:
                        said = turn["user"] or "(greeting)"
                        self.stdout.write(f"      “{said}”: {check['label']} — {check['reason']}")
        self.stdout.write(
            f"{report['passed']} passed, {report['failed']} failed of {report['total']} "
            f"in {report['seconds']} s; report: {output}"
        )
        if report["failed"]:
            raise SystemExit(1)
