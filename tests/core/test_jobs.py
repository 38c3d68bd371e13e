"""Every kind of background job ends the same way: done, failed with a reason the creator can
read, or as a stop left it; never "running" after its worker finished."""

from __future__ import annotations

import pytest

from core.jobs import JobStopped, job_execute
from core.models import Assistant, TrainingRun, TrainingStatus
from nlu.progress import Progress


@pytest.fixture
def run(assistant: Assistant) -> TrainingRun:
    return TrainingRun.objects.create(assistant=assistant)


@pytest.mark.django_db
def test_work_that_returns_marks_the_run_done_with_what_it_saved(run: TrainingRun) -> None:
    def work(job: TrainingRun, progress: Progress) -> None:
        progress("halfway", 0.5)
        job.model_version = "v1"

    job_execute(TrainingRun, run.pk, work)

    run.refresh_from_db()
    assert (run.status, run.progress, run.model_version) == (TrainingStatus.DONE, 1.0, "v1")
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_refusal_fails_the_run_with_its_own_words(run: TrainingRun) -> None:
    def work(job: TrainingRun, progress: Progress) -> None:
        raise ValueError("Add utterances to at least two intents.")

    job_execute(TrainingRun, run.pk, work)

    run.refresh_from_db()
    assert run.status == TrainingStatus.FAILED
    assert run.error == "Add utterances to at least two intents."


@pytest.mark.django_db
def test_a_crash_fails_the_run_instead_of_leaving_it_running(run: TrainingRun) -> None:
    def work(job: TrainingRun, progress: Progress) -> None:
        raise RuntimeError("out of disk")

    with pytest.raises(RuntimeError):  # still raised, for the worker's log
        job_execute(TrainingRun, run.pk, work)

    run.refresh_from_db()
    assert run.status == TrainingStatus.FAILED
    assert run.error == "The run broke off: out of disk"


@pytest.mark.django_db
def test_a_run_another_worker_took_is_not_run_again(run: TrainingRun) -> None:
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingStatus.RUNNING)
    calls = []

    job_execute(TrainingRun, run.pk, lambda job, progress: calls.append(job))

    assert calls == []


@pytest.mark.django_db
def test_a_run_failed_by_the_watch_meanwhile_keeps_that_end(run: TrainingRun) -> None:
    def work(job: TrainingRun, progress: Progress) -> None:
        # The watch gave up on this worker while it was still busy.
        TrainingRun.objects.filter(pk=job.pk).update(status=TrainingStatus.FAILED, error="gone")
        job.model_version = "late"

    job_execute(TrainingRun, run.pk, work)

    run.refresh_from_db()
    assert (run.status, run.error, run.model_version) == (TrainingStatus.FAILED, "gone", "")


@pytest.mark.django_db
def test_a_stopped_run_keeps_what_the_stop_saved_and_says_where_it_stopped(
    run: TrainingRun,
) -> None:
    def work(job: TrainingRun, progress: Progress) -> None:
        TrainingRun.objects.filter(pk=job.pk).update(status=TrainingStatus.FAILED, error="stop")
        raise JobStopped("stopped after 3 of 9")

    job_execute(TrainingRun, run.pk, work)

    run.refresh_from_db()
    assert (run.status, run.error, run.stage) == (
        TrainingStatus.FAILED,
        "stop",
        "stopped after 3 of 9",
    )


@pytest.mark.django_db
def test_a_run_deleted_while_it_runs_ends_quietly(run: TrainingRun) -> None:
    def work(job: TrainingRun, progress: Progress) -> None:
        progress("halfway", 0.5)
        TrainingRun.objects.filter(pk=job.pk).delete()  # its assistant was deleted, say
        progress("nearly", 0.9)

    job_execute(TrainingRun, run.pk, work)  # raises nothing, and saves nothing back

    assert not TrainingRun.objects.filter(pk=run.pk).exists()
