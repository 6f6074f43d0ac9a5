"""A Dagster logger for people at a terminal: one line per stage step, check warnings, and failures."""

import logging
import sys
import time

import dagster as dg

SHOWN_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "RESOURCE_INIT_FAILURE", "ASSET_CHECK_EVALUATION"}


class _ProgressHandler(logging.Handler):
    def __init__(self, groups: dict[str, str], stream) -> None:
        super().__init__()
        self.groups = groups
        self.stream = stream
        self.started: dict[str, float] = {}

    def _label(self, step_key: str | None) -> str:
        return f"[{self.groups.get(step_key or '', 'run')}] {step_key}"

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            if record.levelno >= logging.INFO and meta.get("step_key"):
                self._print(f"    {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type_value
        if kind not in SHOWN_EVENTS:
            return
        step = event.step_key
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            self._print(f"{self._label(step)} ...")
        elif kind == "STEP_SUCCESS":
            seconds = time.monotonic() - self.started.get(step, time.monotonic())
            self._print(f"{self._label(step)} done in {seconds:.1f} s")
        elif kind == "STEP_FAILURE":
            self._print(f"{self._label(step)} FAILED: {root_cause(event.step_failure_data.error)}")
        elif kind == "STEP_UP_FOR_RETRY":
            retry = event.event_specific_data
            self._print(f"{self._label(step)} will run again in {retry.seconds_to_wait or 0:.0f} s: {root_cause(retry.error)}")
        elif kind == "RESOURCE_INIT_FAILURE":
            self._print(f"[run] could not start: {root_cause(event.event_specific_data.error)}")
        else:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                severity = evaluation.severity.value if evaluation.severity else "ERROR"
                self._print(f"    check {evaluation.check_name} did not pass ({severity})")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def root_cause(error) -> str:
    """The user's own error inside Dagster's wrappers, on one line: that is the message a person can act on."""
    if error is None:
        return "see the Dagster logs"
    while error.cause is not None:
        error = error.cause
    return " ".join(error.message.split())


def progress_logger(groups: dict[str, str]) -> dg.LoggerDefinition:
    """`groups` maps a step (asset) name to its stage, shown before it."""

    @dg.logger(description="Terse per-stage progress for the command line.")
    def progress(_init_context) -> logging.Logger:
        logger = logging.Logger("ce_compliance.progress", level=logging.DEBUG)
        logger.addHandler(_ProgressHandler(groups, sys.stdout))
        return logger

    return progress
