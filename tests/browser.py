"""Open a page in a real headless Chromium over the DevTools protocol and report what happened.

Used by the report-page test: Debian's ``chromium`` (installed by ``./run test`` when missing, see
the README) is started headless with the background-networking features off, a fresh profile and a
DevTools port on loopback; the page is loaded, the console, uncaught exceptions, log entries and
every network request are recorded, and a full-page PNG screenshot is taken. The screenshot is then
decoded by the same browser in a separate blank tab (a canvas, no Pillow needed) into pixel
statistics, so a test can say it is not blank.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    for name in (os.environ.get("FLOWSCOPE_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


@dataclass
class PageReport:
    url: str
    console: list[dict[str, Any]] = field(default_factory=list)  # type, text
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)  # level, source, text, url
    requests: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""
    screenshot_stats: dict[str, float] = field(default_factory=dict)  # width, height, ink_frac, colors
    probe: Any = None

    @property
    def errors(self) -> list[str]:
        out = [f"console.{c['type']}: {c['text']}" for c in self.console if c["type"] in ("error", "assert")]
        out += [f"exception: {e}" for e in self.exceptions]
        out += [
            f"log {e['level']} ({e['source']}): {e['text']} {e.get('url', '')}"
            for e in self.log_entries
            if e["level"] == "error"
        ]
        return out


class _Session:
    def __init__(self, ws: Any) -> None:
        self.ws, self.next_id, self.events = ws, 0, []

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                return


def open_page(
    path: Path,
    *,
    probe_js: str = "true",
    ready_js: str = "document.readyState === 'complete'",
    timeout: float = 60.0,
    width: int = 1400,
    height: int = 1000,
    full_page: bool = True,
) -> PageReport:
    """Load ``path`` (a local file) and wait until ``ready_js`` is true (or ``timeout``), then
    evaluate ``probe_js`` (its value is returned in ``probe``) and take a full-page screenshot."""
    from websockets.sync.client import connect

    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found (Debian package `chromium`)")
    url = path.resolve().as_uri()
    profile = Path(tempfile.mkdtemp(prefix="flowscope-chromium-"))
    proc = subprocess.Popen(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    report = PageReport(url)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit {proc.poll()})")
            time.sleep(0.1)
        port, ws_path = port_file.read_text().splitlines()[:2]
        with connect(f"ws://127.0.0.1:{port}{ws_path}", max_size=None, open_timeout=20) as ws:
            s = _Session(ws)
            target = s.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            sid = s.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                s.call(f"{domain}.enable", session=sid)
            s.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=sid,
            )
            s.call("Page.navigate", {"url": url}, session=sid)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done = s.call("Runtime.evaluate", {"expression": ready_js, "returnByValue": True}, session=sid)
                if done.get("result", {}).get("value") is True:
                    break
                s.pump(0.25)
            s.pump(0.5)
            probe = s.call("Runtime.evaluate", {"expression": probe_js, "returnByValue": True}, session=sid)
            report.probe = probe.get("result", {}).get("value")
            shot = s.call(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full_page}, session=sid, timeout=60
            )
            report.screenshot_png = base64.b64decode(shot["data"])
            _collect(report, s.events)
            report.screenshot_stats = _image_stats(s, shot["data"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return report


def _collect(report: PageReport, events: list[dict[str, Any]]) -> None:
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            report.console.append({"type": p.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            report.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
        elif method == "Log.entryAdded":
            report.log_entries.append(p.get("entry", {}))
        elif method == "Network.requestWillBeSent":
            report.requests.append(p.get("request", {}).get("url", ""))


STATS_JS = """(async () => {
  const img = new Image(); img.src = 'data:image/png;base64,%s'; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let ink = 0; const colors = new Set();
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) ink++;
    if ((i / 4) %% 7 === 0) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  return {width: c.width, height: c.height, ink_frac: ink / (c.width * c.height), colors: colors.size};
})()"""


def _image_stats(s: _Session, png_b64: str) -> dict[str, float]:
    """Pixel statistics of the screenshot, computed in a fresh blank tab: size, the fraction of
    pixels that are not near-white (``ink_frac``) and the number of distinct colours (sampled)."""
    target = s.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = s.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    out = s.call(
        "Runtime.evaluate",
        {"expression": STATS_JS % png_b64, "awaitPromise": True, "returnByValue": True},
        session=sid,
        timeout=60,
    )
    if "exceptionDetails" in out:
        raise RuntimeError(f"could not decode the screenshot: {out['exceptionDetails']}")
    return dict(out["result"]["value"])
