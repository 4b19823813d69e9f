"""A real browser for tests of HTML pages: headless Chromium (Debian's `chromium`) driven over the DevTools protocol.

Why: valid HTML can still fail where a reader sees it: a script that throws, a chart that never paints, an image
that does not load. `render` opens a self-contained HTML file in a fresh Chromium and returns a screenshot, the DOM
and every error the browser reported (console.error/assert, uncaught exceptions, error log entries, failed loads):
a test treats any of them as a failure. The network is emulated offline, so a page needing more than its own folder
fails too. PNGs are decoded with zlib alone (no Pillow): is the screenshot blank, did each chart's colour paint?
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from websockets.sync.client import connect

FLAGS = ["--headless=new", "--remote-debugging-port=0", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--mute-audio",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-color-profile=srgb"]  # srgb: colours drawn exactly


@dataclass
class BrowserResult:
    console: list[str]  # errors: console.error/assert, uncaught exceptions, error log entries, failed loads
    screenshot: Path  # PNG of the viewport, width x height CSS pixels at scale 1
    dom: str  # document.documentElement.outerHTML after load
    warnings: list[str]  # console.warn and warning log entries: to read, not failures


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary to run, or None when the machine has none."""
    # Debian's headless shell first: the same engine without the desktop, so CI installs a fraction of it.
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def require_chromium() -> None:
    """Skip the calling test where no Chromium is installed, unless CI asked for one (REDRESS_REQUIRE_BROWSER): then
    fail, so a missing browser can never pass as a skipped test."""
    import pytest

    if find_chromium() is not None:
        return
    if os.environ.get("REDRESS_REQUIRE_BROWSER"):
        pytest.fail("REDRESS_REQUIRE_BROWSER is set but no Chromium is installed")
    pytest.skip("no Chromium: install the Debian package chromium-headless-shell (or chromium)")


def render(html_path: Path, out_png: Path, *, width: int = 1280, height: int = 4000,
           timeout: float = 60) -> BrowserResult:
    """Open `html_path` in a fresh headless Chromium, wait for its load event and two painted frames, and save a
    screenshot of the viewport (`width` x `height`); errors raised later (by timers) are not waited for. Each call
    has its own browser and profile (no state shared between tests) and always kills it and removes the profile."""
    if (binary := find_chromium()) is None:
        raise RuntimeError("no Chromium on this machine (apt-get install chromium)")
    deadline = time.monotonic() + timeout
    work = Path(tempfile.mkdtemp(prefix="redress-chromium-"))
    log = work / "stderr.log"
    env = {**os.environ, "XDG_CONFIG_HOME": str(work), "XDG_CACHE_HOME": str(work)}  # crash reports go there too
    with log.open("wb") as err:
        proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={work / 'profile'}", "about:blank"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    try:
        with connect(_devtools_url(proc, log, deadline), max_size=None, proxy=None, compression=None,
                     open_timeout=max(1.0, deadline - time.monotonic())) as ws:
            return _Page(ws, deadline).render(Path(html_path).resolve(), Path(out_png), width, height)
    finally:  # the group, then its processes outside it (crash handlers start sessions of their own), by `work`
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with suppress(OSError):  # gone meanwhile
                if str(work).encode() in cmdline.read_bytes():
                    os.kill(int(cmdline.parent.name), signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


def _devtools_url(proc: subprocess.Popen, log: Path, deadline: float) -> str:
    """The browser's DevTools websocket, from the line Chromium prints on stderr once it listens."""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if found := re.search(r"DevTools listening on (ws://\S+)", text):
            return found.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"Chromium exited with {proc.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    raise TimeoutError(f"Chromium did not open DevTools in time:\n{log.read_text(errors='replace')[-2000:]}")


class _Page:
    """A new page on the browser's websocket (a flat CDP session); every event read is recorded."""

    def __init__(self, ws, deadline: float) -> None:
        self.ws, self.deadline, self.last_id, self.session = ws, deadline, 0, None
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.urls: dict[str, str] = {}  # requestId -> URL, to name a failed load
        self.lifecycle: set[tuple[str, str]] = set()  # (event, loaderId): ("load", id) once that document loaded

    def render(self, html: Path, out_png: Path, width: int, height: int) -> BrowserResult:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable")
        self.call("Page.setLifecycleEventsEnabled", enabled=True)
        self.call("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1,
                  uploadThroughput=-1)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        navigated = self.call("Page.navigate", url=html.as_uri())
        if navigated.get("errorText"):
            self.errors.append(f"navigation to {html}: {navigated['errorText']}")
        while "errorText" not in navigated and ("load", navigated["loaderId"]) not in self.lifecycle:
            self.receive()
        frames = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        self.call("Runtime.evaluate", expression=frames, awaitPromise=True)  # what it drew by load is painted
        dom = self.call("Runtime.evaluate", expression="document.documentElement.outerHTML", returnByValue=True)
        shot = self.call("Page.captureScreenshot", format="png", optimizeForSpeed=True)  # Up filter only: fast
        out_png.write_bytes(base64.b64decode(shot["data"]))
        return BrowserResult(self.errors, out_png, dom["result"].get("value", ""), self.warnings)

    def call(self, method: str, **params) -> dict:
        """Send one command and read messages (recording the events among them) until its reply."""
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while (reply := self.receive()).get("id") != self.last_id:
            pass
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def receive(self) -> dict:
        if (remaining := self.deadline - time.monotonic()) <= 0:
            raise TimeoutError("the page did not finish in time")
        message = json.loads(self.ws.recv(timeout=remaining))
        self.record(message.get("method"), message.get("params", {}))
        return message

    def record(self, method: str | None, params: dict) -> None:
        if method == "Page.lifecycleEvent":
            self.lifecycle.add((params["name"], params["loaderId"]))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert", "warning"):
            text = " ".join(str(a.get("value", a.get("description", a["type"]))) for a in params["args"])
            (self.warnings if params["type"] == "warning" else self.errors).append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.errors.append(f"uncaught: {text} ({details.get('url', '')}:{details.get('lineNumber', 0) + 1})")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            text = f"log {entry['source']}: {entry['text']} {entry.get('url', '')}".rstrip()
            (self.warnings if entry["level"] == "warning" else self.errors).append(text)
        elif method == "Network.requestWillBeSent":
            self.urls[params["requestId"]] = params["request"]["url"]
        elif method == "Network.loadingFailed":
            self.errors.append(f"load failed: {self.urls.get(params['requestId'], '?')} {params['errorText']}")


def pixels(png: Path) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes row by row from the top left, alpha dropped) of an 8-bit RGB or RGBA PNG, not
    interlaced, decoded with zlib alone: Pillow is not a dependency."""
    data = Path(png).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body, pos = data[pos + 8:pos + 8 + length], pos + 12 + length
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"{png}: only 8-bit RGB/RGBA, non-interlaced PNGs are decoded here")
    bpp = 3 if colour == 2 else 4
    stride, raw = width * bpp, zlib.decompress(b"".join(chunks))
    rows, prior = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        prior = _unfilter(raw[start], raw[start + 1:start + 1 + stride], prior, bpp)
        rows.append(prior)
    image = bytearray(b"".join(rows))
    if bpp == 4:
        del image[3::4]  # alpha
    return width, height, bytes(image)


def _unfilter(kind: int, line: bytes, prior: bytes, bpp: int) -> bytes:
    """One scanline with its PNG filter undone. Up, the only filter in `render`'s screenshots, runs as big-integer
    arithmetic, a byte a lane (a 1280x4000 screenshot decodes in 0.1 s); Sub, Average and Paeth go byte by byte."""
    if kind == 0:
        return line
    if kind == 2:  # bytewise (line + prior) mod 256: 7-bit sums that cannot carry, then the top bits by xor
        high = int.from_bytes(b"\x80" * len(line), "little")
        low, a, b = high - (high >> 7), int.from_bytes(line, "little"), int.from_bytes(prior, "little")
        return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(len(line), "little")
    if kind > 4:
        raise ValueError(f"unknown PNG filter {kind}")
    out = bytearray(len(line))
    for i, byte in enumerate(line):
        left, up, upleft = (out[i - bpp], prior[i], prior[i - bpp]) if i >= bpp else (0, prior[i], 0)
        if kind == 1:  # Sub
            out[i] = (byte + left) & 0xFF
        elif kind == 3:  # Average
            out[i] = (byte + (left + up) // 2) & 0xFF
        else:  # Paeth: whichever neighbour is nearest to left + up - upleft
            p = left + up - upleft
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
            out[i] = (byte + (left if pa <= pb and pa <= pc else up if pb <= pc else upleft)) & 0xFF
    return bytes(out)


def histogram(png: Path) -> Counter[tuple[int, int, int]]:
    """How many pixels of each (r, g, b) colour the PNG has (counted as 32-bit words: fast, in C)."""
    rgb = pixels(png)[2]
    packed = bytearray(len(rgb) // 3 * 4)
    for channel in range(3):
        packed[channel::4] = rgb[channel::3]
    words = Counter(memoryview(packed).cast("I"))
    return Counter({tuple(struct.pack("=I", word)[:3]): n for word, n in words.items()})


def colour_counts(png: Path, colours: dict[str, tuple[int, int, int]], tolerance: int = 8) -> dict[str, int]:
    """How many pixels are within `tolerance` of each named colour in every channel: has each chart painted?"""
    counts = histogram(png)
    return {name: sum(n for rgb, n in counts.items() if _near(rgb, want, tolerance)) for name, want in colours.items()}


def is_blank(png: Path, *, tolerance: int = 8, ink: int = 200) -> bool:
    """Almost every pixel one colour: fewer than `ink` pixels (a count, not a share, so one line of text on a tall
    screenshot is not blank) differ from the commonest colour by more than `tolerance`."""
    background = (counts := histogram(png)).most_common(1)[0][0]
    return sum(n for rgb, n in counts.items() if not _near(rgb, background, tolerance)) < ink


def _near(rgb: tuple[int, int, int], other: tuple[int, int, int], tolerance: int) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, other, strict=True))
