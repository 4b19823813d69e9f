"""The browser helper (tests/browser.py) against a real headless Chromium: console errors, uncaught exceptions and
failed loads are reported, a drawn page is not blank and each of its colours is counted, and the browser is gone
afterwards. Without Chromium these tests are skipped locally and fail when REDRESS_REQUIRE_BROWSER is set (CI
installs it). The PNG decoder is also checked on its own, on every PNG filter, which Chromium's screenshots do not
all use."""

from __future__ import annotations

import random
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import browser
from tests.browser import BrowserResult, colour_counts, is_blank, pixels, render, require_chromium

RED, BLUE, GREEN = (200, 30, 40), (20, 120, 220), (0, 160, 0)


@pytest.fixture
def page(tmp_path: Path) -> Callable[..., BrowserResult]:
    """Render an HTML body (white, no margin) in a 640x480 viewport."""
    require_chromium()

    def render_body(body: str, **options) -> BrowserResult:
        html = tmp_path / "page.html"
        html.write_text("<!doctype html><html><head><meta charset='utf-8'><title>t</title></head>"
                        f"<body style='margin:0;background:#fff'>{body}</body></html>")
        return render(html, tmp_path / "page.png", width=640, height=480, **options)

    return render_body


def test_an_svg_chart_paints_both_colours_without_errors(page) -> None:
    result = page('<svg width="400" height="200"><rect x="10" y="10" width="100" height="50" fill="rgb(200,30,40)"/>'
                  '<rect x="150" y="10" width="100" height="50" fill="rgb(20,120,220)"/></svg>')
    assert result.console == []
    assert pixels(result.screenshot)[:2] == (640, 480)
    counts = colour_counts(result.screenshot, {"red": RED, "blue": BLUE, "green": GREEN})
    assert counts["red"] > 4500 and counts["blue"] > 4500  # 100 x 50 each
    assert counts["green"] == 0
    assert not is_blank(result.screenshot)
    assert "<rect" in result.dom


def test_console_error_is_reported_and_a_warning_kept_apart(page) -> None:
    result = page('<script>console.warn("careful"); console.error("boom")</script>')
    assert any("boom" in message for message in result.console), result.console
    assert not any("careful" in message for message in result.console)
    assert any("careful" in message for message in result.warnings)


def test_an_uncaught_exception_is_reported(page) -> None:
    result = page('<script>throw new Error("kaput")</script>')
    assert any("uncaught" in message and "kaput" in message for message in result.console), result.console


def test_a_missing_local_image_is_a_load_failure(page) -> None:
    result = page('<img src="missing.png" alt="">')
    assert any("missing.png" in message and "ERR_FILE_NOT_FOUND" in message for message in result.console), \
        result.console


def test_the_network_is_offline(page) -> None:
    result = page('<img src="https://cdn.example.invalid/chart.js" alt="">')
    assert any("cdn.example.invalid" in message and "ERR_INTERNET_DISCONNECTED" in message
               for message in result.console), result.console


def test_a_white_page_is_blank(page) -> None:
    result = page("<p></p>")
    assert result.console == []
    assert is_blank(result.screenshot)
    assert colour_counts(result.screenshot, {"white": (255, 255, 255)})["white"] == 640 * 480


def test_a_page_that_never_loads_times_out_and_leaves_no_browser(page, monkeypatch) -> None:
    folders: list[str] = []  # the browser's profile folder, whose path is on its processes' command lines
    real_mkdtemp = browser.tempfile.mkdtemp

    def mkdtemp(**options) -> str:
        folders.append(real_mkdtemp(**options))
        return folders[-1]

    monkeypatch.setattr(browser.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(TimeoutError):
        page("<script>while (true) {}</script>", timeout=3)
    assert not Path(folders[0]).exists()
    deadline = time.monotonic() + 5  # a killed process may take a moment to end; a live one would stay
    while (left := [p for p in Path("/proc").glob("[0-9]*/cmdline") if folders[0].encode() in _read(p)]):
        assert time.monotonic() < deadline, f"browser processes left: {left}"
        time.sleep(0.1)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def _png(width: int, height: int, rows: list[bytes], bpp: int, rng: random.Random) -> bytes:
    """An RGB or RGBA PNG with a random filter on each row (None, Sub, Up, Average or Paeth)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    stream, prior = b"", bytes(width * bpp)
    for row in rows:
        kind, filtered = rng.randrange(5), bytearray()
        for i, byte in enumerate(row):
            a, b, c = (row[i - bpp], prior[i], prior[i - bpp]) if i >= bpp else (0, prior[i], 0)
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
            filtered.append((byte - (0, a, b, (a + b) // 2, paeth)[kind]) & 0xFF)
        stream, prior = stream + bytes([kind]) + filtered, row
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if bpp == 3 else 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(stream)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("bpp", [3, 4])
def test_the_png_decoder_undoes_every_filter(tmp_path: Path, bpp: int) -> None:
    rng = random.Random(bpp)
    for _ in range(10):
        width, height = rng.randint(1, 30), rng.randint(1, 30)
        rows = [rng.randbytes(width * bpp) for _ in range(height)]
        (tmp_path / "t.png").write_bytes(_png(width, height, rows, bpp, rng))
        rgb = b"".join(bytes(b for i, b in enumerate(row) if i % bpp < 3) for row in rows)
        assert pixels(tmp_path / "t.png") == (width, height, rgb)
