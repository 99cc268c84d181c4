"""Messages an app can show in its reader's language, although the engine has no catalogues.

An error or a note keeps its English text (``str(error)``: what the command line prints, what tests read)
and may carry, beside it, a catalogue ``key`` (such as ``"err_upload.zip_bomb"``) and the ``params`` that fill
the catalogue text's ``{placeholders}``. The app shows ``t(key, **params)`` when there is a key, the English
otherwise. Numbers in ``params`` are already formatted (``"2,000"``, ``"10"``), as in the English text, so that
every language shows the same figures. The English text under a key in ``locales/en.json`` is the message
itself (for a message that names a file first, the part after ``"<file>: "``).
"""

from __future__ import annotations

import re


class KeyedError(ValueError):
    """A ValueError with an English message and, optionally, a catalogue key and its parameters."""

    def __init__(self, message: str, key: str | None = None, **params: str):
        super().__init__(message)
        self.key = key
        self.params = dict(params)

    def __reduce__(self):  # keep the key through pickling (an error sent across processes)
        return _rebuild, (type(self), str(self), self.key, self.params)


def _rebuild(cls, message: str, key: str | None, params: dict) -> KeyedError:
    error = cls.__new__(cls)
    KeyedError.__init__(error, message, key, **params)
    return error


class Note(str):
    """An English note (a string like any other) with, optionally, a catalogue key and its parameters."""

    key: str | None
    params: dict[str, str]

    def __new__(cls, text: str, key: str | None = None, **params: str) -> Note:
        note = super().__new__(cls, text)
        note.key, note.params = key, dict(params)
        return note


# ---- messages kept with a run's status -------------------------------------------------------------------
# A run's message travels as text (the run store keeps it in a column, a snapshot carries it), so its key is
# found again from the text by :func:`recognise`, which matches these templates. Each template is the English
# text of its key in ``locales/en.json``.
_AFTER_LIMIT = ("The run is stopped and saved in the run store; its parameters stay here for the analysis pages. "
                "To train further, ask the operator to raise the limit, or continue the run from the command "
                "line (python -m metaviz train --resume RUN_ID).")
RUN_MESSAGES = {
    "msg_run.stopped_app": "stopped in the app",
    "msg_run.stopped_ctrl_c": "stopped by Ctrl-C",
    "msg_run.aborted": "aborted by a second Ctrl-C; resumes from the last checkpoint",
    "msg_run.interrupted": "the process that wrote it (pid {pid} on {host}) ended while the run was {status}, "
                           "after step {step}; resume it from its last checkpoint",
    "msg_run.diverged": "Training diverged at meta-iteration {step}: the meta-loss or its gradient became NaN or "
                        "infinite. The parameters from before that step are kept. Lower the meta learning rate "
                        "(now {meta_lr}), then press Reset.",
    "msg_run.diverged_inner": "Training diverged at meta-iteration {step}: the meta-loss or its gradient became NaN "
                              "or infinite. The parameters from before that step are kept. Lower the meta learning "
                              "rate (now {meta_lr}) or the inner learning rate (now {inner_lr}), then press Reset.",
    "msg_run.limit_steps": "Limit reached: this session may train {steps} meta-iterations in all (METAVIZ_MAX_STEPS, "
                           "set by the operator of this server). " + _AFTER_LIMIT,
    "msg_run.limit_seconds": "Limit reached: this session may train for {seconds} seconds in all "
                             "(METAVIZ_MAX_SECONDS, set by the operator of this server). " + _AFTER_LIMIT,
}


def run_message(key: str, **params: str) -> Note:
    """The message ``key`` of :data:`RUN_MESSAGES` filled with ``params`` (already formatted strings)."""
    return Note(RUN_MESSAGES[key].format(**params), key, **params)


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)  # text, name, text, name, ..., text
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)),
                      re.DOTALL)


# longest first: a shorter template could otherwise swallow a longer one's extra words into a parameter
_PATTERNS = {key: _pattern(RUN_MESSAGES[key]) for key in sorted(RUN_MESSAGES, key=lambda k: -len(RUN_MESSAGES[k]))}


def recognise(text: str) -> Note:
    """``text`` as a :class:`Note` with the key and parameters of the run message it is, if it is one."""
    if isinstance(text, Note) and text.key:
        return text
    for key, pattern in _PATTERNS.items():
        if match := pattern.fullmatch(text):
            return Note(text, key, **match.groupdict())
    return Note(text)
