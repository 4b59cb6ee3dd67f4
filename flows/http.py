"""One httpx client factory and one retry policy for every live source.

- Explicit timeouts (connect 10 s, read 60 s by default: ``flows.config.Settings``).
- Retries with exponential backoff and jitter on 429, 5xx and transport errors (connect and read
  timeouts, resets), honouring ``Retry-After`` (seconds or an HTTP date). A ``Retry-After`` longer
  than ``max_retry_after_s`` gives up at once with a clear message rather than hanging a run.
- A minimum interval between requests per fetcher (Cboe: 1 s; SEC: 0.1 s).
- Errors come out as ``FetchError`` with one line naming the dataset, the method and the URL.

``sleep``/``clock``/``rng`` are injectable so tests exercise the policy without real waiting.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from flows.config import Settings, get_settings
from flows.errors import FetchError

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: float = 1.0
    max_wait_s: float = 60.0
    max_retry_after_s: float = 300.0


def make_client(
    settings: Settings | None = None,
    *,
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An httpx client with explicit timeouts, redirects followed and our default headers."""
    settings = settings or get_settings()
    timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": settings.user_agent, **(headers or {})},
        transport=transport,
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # asctime form (or "-0000"): HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """Retrying, rate-limited requests for one source."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        dataset: str,
        policy: RetryPolicy | None = None,
        min_interval_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.dataset = dataset
        self.policy = policy or RetryPolicy()
        self.min_interval_s = min_interval_s
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self._last: float | None = None
        self.waits: list[float] = []  # every backoff wait, for logs and tests

    def _pace(self) -> None:
        if self._last is not None and self.min_interval_s:
            gap = self.min_interval_s - (self.clock() - self._last)
            if gap > 0:
                self.sleep(gap)
        self._last = self.clock()

    def _backoff(self, attempt: int) -> float:
        cap = min(self.policy.max_wait_s, self.policy.base_s * 2 ** (attempt - 1))
        return cap * (0.5 + 0.5 * self.rng())  # "equal jitter": never less than half the step

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        passthrough: Iterable[int] = (),
    ) -> httpx.Response:
        """Send with retries. 2xx and ``passthrough`` statuses return; others raise ``FetchError``."""
        passthrough = frozenset(passthrough)
        what = f"{self.dataset}: {method} {url}"
        last_problem = ""
        for attempt in range(1, self.policy.attempts + 1):
            self._pace()
            try:
                resp = self.client.request(method, url, params=params, headers=headers, json=json)
            except httpx.TimeoutException as exc:
                kind = {
                    httpx.ConnectTimeout: "connect timeout",
                    httpx.ReadTimeout: "read timeout",
                    httpx.WriteTimeout: "write timeout",
                    httpx.PoolTimeout: "pool timeout",
                }.get(type(exc), "timeout")
                last_problem, wait = kind, self._backoff(attempt)
            except httpx.TransportError as exc:
                last_problem, wait = f"transport error ({type(exc).__name__}: {exc})", self._backoff(attempt)
            else:
                if resp.is_success or resp.status_code in passthrough:
                    return resp
                if resp.status_code not in RETRY_STATUS:
                    raise FetchError(f"{what}: HTTP {resp.status_code} {resp.reason_phrase}")
                last_problem = f"HTTP {resp.status_code}"
                asked = parse_retry_after(resp.headers.get("Retry-After"))
                if asked is not None and asked > self.policy.max_retry_after_s:
                    raise FetchError(
                        f"{what}: HTTP {resp.status_code}, server asks to wait {asked:.0f} s "
                        f"(Retry-After); giving up, try later"
                    )
                wait = asked if asked is not None else self._backoff(attempt)
            if attempt == self.policy.attempts:
                break
            log.warning("%s: %s; retry %d/%d in %.1f s", what, last_problem, attempt, self.policy.attempts - 1, wait)
            self.waits.append(wait)
            self.sleep(wait)
        raise FetchError(f"{what}: {last_problem} after {self.policy.attempts} attempts")
