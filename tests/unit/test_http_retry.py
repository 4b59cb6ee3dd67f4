"""The retry policy of ``flows.http.Fetcher`` on mocked HTTP (respx), with no sleeping.

``sleep``, ``clock`` and ``rng`` are injected: waits are recorded, never slept, and the network
stays blocked (conftest) because respx answers every request.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from flows.errors import FetchError
from flows.http import Fetcher, RetryPolicy, parse_retry_after

URL = "https://publicreporting.cftc.gov/resource/gpe5-46if.json"
DATASET = "cftc_tff"


class FakeTime:
    """A monotonic clock that only moves when slept on (or advanced by the test)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as r:
        yield r


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0)) as c:
        yield c


def make_fetcher(client: httpx.Client, fake: FakeTime, *, rng: float = 0.5, **policy: float) -> Fetcher:
    return Fetcher(
        client,
        dataset=DATASET,
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=fake.sleep,
        clock=fake.clock,
        rng=lambda: rng,
    )


# --- retried statuses ---------------------------------------------------------------------------


def test_500_and_503_are_retried_then_the_200_is_returned(router, client, fake):
    route = router.get(URL).mock(
        side_effect=[httpx.Response(500), httpx.Response(503), httpx.Response(200, json=[{"a": "1"}])]
    )
    resp = make_fetcher(client, fake, rng=0.0).request("GET", URL)
    assert resp.status_code == 200
    assert resp.json() == [{"a": "1"}]
    assert route.call_count == 3
    # backoff 1 s then 2 s, at the bottom of the jitter band (rng=0 -> half the step)
    assert fake.sleeps == [0.5, 1.0]


def test_429_with_retry_after_seconds_waits_exactly_that_long(router, client, fake):
    route = router.get(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=[])]
    )
    fetcher = make_fetcher(client, fake, rng=0.0)  # backoff would say 0.5 s: Retry-After must win
    resp = fetcher.request("GET", URL)
    assert resp.status_code == 200
    assert route.call_count == 2
    assert fake.sleeps == [2.0]
    assert fetcher.waits == [2.0]


def test_retry_after_above_the_policy_limit_gives_up_at_once(router, client, fake):
    route = router.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "301"}))
    fetcher = make_fetcher(client, fake, max_retry_after_s=300.0)
    with pytest.raises(FetchError) as err:
        fetcher.request("GET", URL)
    msg = str(err.value)
    assert route.call_count == 1
    assert fake.sleeps == []
    assert msg.startswith(f"{DATASET}: GET {URL}: HTTP 429")
    assert "301 s" in msg and "Retry-After" in msg
    assert "\n" not in msg


def test_retry_after_at_the_policy_limit_is_honoured(router, client, fake):
    route = router.get(URL).mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": "300"}), httpx.Response(200, json=[])]
    )
    make_fetcher(client, fake, max_retry_after_s=300.0).request("GET", URL)
    assert route.call_count == 2
    assert fake.sleeps == [300.0]


def test_retry_after_http_date_in_the_past_retries_without_waiting(router, client, fake):
    route = router.get(URL).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 2015 00:00:00 GMT"}),
            httpx.Response(200, json=[]),
        ]
    )
    make_fetcher(client, fake, rng=0.0).request("GET", URL)
    assert route.call_count == 2
    assert fake.sleeps == [0.0]


def test_retry_after_http_date_in_the_future_is_waited_for(router, client, fake):
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=6), usegmt=True)
    route = router.get(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200, json=[])]
    )
    make_fetcher(client, fake, rng=0.0).request("GET", URL)
    assert route.call_count == 2
    assert len(fake.sleeps) == 1
    assert 4.0 < fake.sleeps[0] <= 6.0  # whole seconds in the header; the test takes well under 1 s


def test_retry_after_http_date_far_ahead_gives_up(router, client, fake):
    route = router.get(URL).mock(
        return_value=httpx.Response(503, headers={"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"})
    )
    with pytest.raises(FetchError, match=r"server asks to wait \d+ s \(Retry-After\)"):
        make_fetcher(client, fake).request("GET", URL)
    assert route.call_count == 1
    assert fake.sleeps == []


def test_retry_after_asctime_date_is_a_wait_not_a_crash(router, client, fake):
    # asctime has no zone; comparing it with an aware "now" raised TypeError out of request()
    route = router.get(URL).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "Sun Nov  6 08:49:37 1994"}),
            httpx.Response(200, json=[]),
        ]
    )
    make_fetcher(client, fake).request("GET", URL)
    assert route.call_count == 2
    assert fake.sleeps == [0.0]


# --- parse_retry_after --------------------------------------------------------------------------

NOW = datetime(2026, 8, 7, 19, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Fri, 07 Aug 2026 19:30:30 GMT", 30.0),  # IMF-fixdate
        ("Friday, 07-Aug-26 19:31:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Fri Aug  7 19:30:45 2026", 45.0),  # obsolete asctime form (no zone: GMT by definition)
        ("Fri, 07 Aug 2026 19:29:00 GMT", 0.0),  # in the past: no wait
        (None, None),
        ("", None),
        ("soon", None),
        ("1.5", None),  # not delta-seconds: fall back to backoff
        ("-3", None),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, now=NOW) == expected


# --- transport errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "words"),
    [(httpx.ConnectTimeout, "connect timeout"), (httpx.ReadTimeout, "read timeout")],
)
def test_timeouts_are_retried_then_fail_with_one_line(router, client, fake, exc, words):
    route = router.get(URL).mock(side_effect=exc)
    with pytest.raises(FetchError) as err:
        make_fetcher(client, fake, attempts=3).request("GET", URL)
    assert route.call_count == 3
    assert len(fake.sleeps) == 2  # no wait after the last attempt
    assert str(err.value) == f"{DATASET}: GET {URL}: {words} after 3 attempts"


def test_a_read_timeout_then_success_returns(router, client, fake):
    route = router.get(URL).mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.ConnectError("reset"), httpx.Response(200, json=[])]
    )
    resp = make_fetcher(client, fake).request("GET", URL)
    assert resp.status_code == 200
    assert route.call_count == 3


def test_connect_error_message_names_the_error(router, client, fake):
    router.get(URL).mock(side_effect=httpx.ConnectError("Name or service not known"))
    words = r"transport error \(ConnectError: Name or service not known\) after 2 attempts"
    with pytest.raises(FetchError, match=words):
        make_fetcher(client, fake, attempts=2).request("GET", URL)


# --- backoff ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rng", "expected"),
    [(0.0, [0.5, 1.0, 2.0, 4.0]), (0.5, [0.75, 1.5, 3.0, 6.0]), (1.0, [1.0, 2.0, 4.0, 8.0])],
)
def test_backoff_doubles_with_equal_jitter(router, client, fake, rng, expected):
    route = router.get(URL).mock(return_value=httpx.Response(503))
    fetcher = make_fetcher(client, fake, rng=rng, attempts=5, base_s=1.0, max_wait_s=60.0)
    with pytest.raises(FetchError, match=r"HTTP 503 after 5 attempts"):
        fetcher.request("GET", URL)
    assert route.call_count == 5
    assert fake.sleeps == expected
    assert fetcher.waits == expected


def test_backoff_is_capped_by_max_wait(router, client, fake):
    router.get(URL).mock(return_value=httpx.Response(502))
    fetcher = make_fetcher(client, fake, rng=1.0, attempts=5, base_s=10.0, max_wait_s=15.0)
    with pytest.raises(FetchError):
        fetcher.request("GET", URL)
    assert fake.sleeps == [10.0, 15.0, 15.0, 15.0]


def test_backoff_with_a_real_rng_stays_in_the_jitter_band(router, client, fake):
    router.get(URL).mock(return_value=httpx.Response(504))
    seeded = random.Random(20260807)
    fetcher = Fetcher(
        client,
        dataset=DATASET,
        policy=RetryPolicy(attempts=7, base_s=0.5, max_wait_s=8.0),
        sleep=fake.sleep,
        clock=fake.clock,
        rng=seeded.random,
    )
    with pytest.raises(FetchError):
        fetcher.request("GET", URL)
    steps = [min(8.0, 0.5 * 2**i) for i in range(6)]
    assert len(fake.sleeps) == 6
    for wait, step in zip(fake.sleeps, steps, strict=True):
        assert step / 2 <= wait <= step
    assert len(set(fake.sleeps)) == 6  # jittered, not constant


# --- statuses that are not retried --------------------------------------------------------------


def test_404_is_not_retried(router, client, fake):
    route = router.get(URL).mock(return_value=httpx.Response(404))
    with pytest.raises(FetchError) as err:
        make_fetcher(client, fake).request("GET", URL)
    assert route.call_count == 1
    assert fake.sleeps == []
    assert str(err.value) == f"{DATASET}: GET {URL}: HTTP 404 Not Found"


@pytest.mark.parametrize("status", [400, 401, 403, 410])
def test_other_client_errors_are_not_retried(router, client, fake, status):
    route = router.get(URL).mock(return_value=httpx.Response(status))
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        make_fetcher(client, fake).request("GET", URL)
    assert route.call_count == 1


@pytest.mark.parametrize("status", [403, 404])
def test_passthrough_statuses_are_returned(router, client, fake, status):
    route = router.get(URL).mock(return_value=httpx.Response(status, text="<Error/>"))
    resp = make_fetcher(client, fake).request("GET", URL, passthrough=(403, 404))
    assert resp.status_code == status
    assert route.call_count == 1
    assert fake.sleeps == []


def test_passthrough_does_not_stop_retries_of_5xx(router, client, fake):
    route = router.get(URL).mock(side_effect=[httpx.Response(503), httpx.Response(404)])
    resp = make_fetcher(client, fake).request("GET", URL, passthrough=(403, 404))
    assert resp.status_code == 404
    assert route.call_count == 2


# --- pacing -------------------------------------------------------------------------------------


def test_min_interval_sleeps_the_remaining_gap(router, client, fake):
    route = router.get(URL).mock(return_value=httpx.Response(200, json=[]))
    fetcher = Fetcher(client, dataset="cboe_putcall", min_interval_s=1.0, sleep=fake.sleep, clock=fake.clock)
    fetcher.request("GET", URL)
    assert fake.sleeps == []  # the first request does not wait
    fake.now += 0.25
    fetcher.request("GET", URL)
    assert fake.sleeps == [0.75]
    fetcher.request("GET", URL)  # straight after: a full interval
    assert fake.sleeps == [0.75, 1.0]
    fake.now += 2.0
    fetcher.request("GET", URL)  # long after: no wait
    assert fake.sleeps == [0.75, 1.0]
    assert route.call_count == 4
    assert fetcher.waits == []  # pacing is not backoff


def test_pacing_applies_between_retries_too(router, client, fake):
    router.get(URL).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])])
    fetcher = Fetcher(
        client,
        dataset="cboe_putcall",
        policy=RetryPolicy(base_s=0.2),
        min_interval_s=1.0,
        sleep=fake.sleep,
        clock=fake.clock,
        rng=lambda: 0.0,
    )
    fetcher.request("GET", URL)
    # backoff 0.1 s, then pacing tops the gap up to the 1 s interval
    assert fake.sleeps == pytest.approx([0.1, 0.9])


def test_no_pacing_without_min_interval(router, client, fake):
    router.get(URL).mock(return_value=httpx.Response(200, json=[]))
    fetcher = make_fetcher(client, fake)
    for _ in range(3):
        fetcher.request("GET", URL)
    assert fake.sleeps == []


# --- request details ----------------------------------------------------------------------------


def test_params_and_headers_are_sent_on_every_attempt(router, client, fake):
    route = router.get(URL).mock(side_effect=[httpx.Response(500), httpx.Response(200, json=[])])
    make_fetcher(client, fake).request("GET", URL, params={"$limit": "10"}, headers={"X-App-Token": "tok"})
    for call in route.calls:
        assert call.request.url.params["$limit"] == "10"
        assert call.request.headers["X-App-Token"] == "tok"
