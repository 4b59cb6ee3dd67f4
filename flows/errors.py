"""Named errors of the ingestion contract.

Every error carries a one-line message that names the dataset and the file or URL, so the CLI and
the daily summary can print it as it is.
"""

from __future__ import annotations


class FlowscopeError(Exception):
    """Base class: a problem we explain to the user in one line (no traceback)."""


class ConfigError(FlowscopeError):
    """The configuration (universe, calendars, settings) is missing or malformed."""


class PayloadError(FlowscopeError):
    """A payload cannot be read as the dataset's format (truncated, HTML page, not a zip...)."""


class SchemaDriftError(PayloadError):
    """Required columns are missing or renamed: the publisher changed the format."""


class EmptyDataError(PayloadError):
    """A payload that should hold rows holds none."""


class ValidationError(PayloadError):
    """Rows are readable but wrong: duplicate keys with different values, out-of-range values,
    dates after the load date."""


class QualityGateError(ValidationError):
    """An expectation suite refused the batch; ``report`` holds the validation result."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class FetchError(FlowscopeError):
    """A live fetch failed after its retries (timeouts, 429/5xx, transport errors)."""


class NotPublishedError(FetchError):
    """The publisher has no file for that day (Cboe 403/404, weekends, holidays)."""


class WarehouseBusyError(FlowscopeError):
    """Another process holds the warehouse for writing."""
