"""The domain errors every feature's services raise."""

from __future__ import annotations


class ValidationFailed(Exception):
    """A domain rule refused the operation.

    :param errors: ``(field, message)`` pairs; ``field`` may be None for a form-wide error.
    """

    def __init__(self, errors: list[tuple[str | None, str]]):
        super().__init__(errors)
        self.errors = errors
