"""The screenshot matrix: every pane of the console, and every page of its tabs, on a real X screen (Xvfb)
at 1,366×768 (a laptop), 1,920×1,080 (an office monitor) and 3,840×2,160 at scale 2 (a 4K monitor; Qt's
QT_SCALE_FACTOR, which Xvfb honours: it has no desktop to set Xft.dpi), against one reference server on
the demo scenario.

For each screen a child process signs in as the demo admin, opens the main window as the app does, fills
the screen with it, shows each view and saves the window as PNG in this module's temporary directory (see
`tests/support/screen_matrix.py`). The tests read what it measured and the PNGs.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage

from nexus_console.launch_options import default_pane_types
from tests.support.refserver import RefServer
from tests.support.screen_matrix import Screen, run_on_screen

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(400)]

LAPTOP = Screen(1366, 768)
OFFICE = Screen(1920, 1080)
UHD_AT_2X = Screen(3840, 2160, scale=2)
SCREENS = (LAPTOP, OFFICE, UHD_AT_2X)
# Fewer colours than this in a pane's rectangle and it shows nothing: a blank page, or a frame at most.
MIN_COLOURS_IN_A_PANE = 16

Report = dict[str, Any]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Report]]:
    """One reference server on the demo scenario; the console run once on each screen against it."""
    base = tmp_path_factory.mktemp("screenshot-matrix")
    server = RefServer(base / "server", "--seed", "7", "--scenario", "demo", session_owned=True)
    server.start()
    try:
        # At once: the runs mostly wait (for the sources, for Qt to settle), and the first alert and the
        # demo incident come at 10 s and 20 s into the scenario for all of them alike.
        with ThreadPoolExecutor(max_workers=len(SCREENS)) as pool:
            runs = {
                screen.name: pool.submit(
                    run_on_screen, screen, server.base_url, server.data_dir, base / screen.name
                )
                for screen in SCREENS
            }
            reports = {name: run.result() for name, run in runs.items()}
        yield reports
    finally:
        server.stop()


def rect_inside(inner: list[int], outer: list[int]) -> bool:
    ix, iy, iw, ih = inner
    ox, oy, ow, oh = outer
    return ox <= ix and oy <= iy and ix + iw <= ox + ow and iy + ih <= oy + oh


def view_name(shot: Report) -> str:
    return shot["pane"] + (f" › {shot['tab']}" if shot["tab"] else "")


def problems_fitting(report: Report) -> list[str]:
    """Where the window or a pane does not fit the screen (in logical pixels): the window as it opens, its
    minimum size, each pane's minimum size against the room the window leaves it on this screen, and the
    window once every view was shown (a pane's minimum grows the window's)."""
    available = report["screen"]["available"]
    width, height = available[2], available[3]
    problems = []
    opened = report["opened"]
    if not rect_inside(opened["frame"], available):
        problems.append(f"the window opens at {opened['frame']}, outside the screen's {available}")
    for what, (w, h) in (
        ("minimumSize", opened["minimum_size"]),
        ("minimumSizeHint", opened["minimum_size_hint"]),
    ):
        if w > width or h > height:
            problems.append(f"the window's {what} {w}×{h} does not fit the screen's {width}×{height}")
    for shot in report["shots"]:
        _, _, window_w, window_h = shot["window_geometry"]
        room = (width - (window_w - shot["rect"][2]), height - (window_h - shot["rect"][3]))
        need = shot["minimum_size_hint"]
        if need[0] > room[0] or need[1] > room[1]:
            problems.append(
                f"{view_name(shot)}: the pane needs {need[0]}×{need[1]}; the window on this screen leaves "
                f"it {room[0]}×{room[1]}"
            )
    last = report["shots"][-1]
    w, h = last["window_minimum_size_hint"]
    if w > width or h > height:
        problems.append(
            f"once every pane was shown the window's minimumSizeHint is {w}×{h}, more than the screen's "
            f"{width}×{height}"
        )
    pushed = [shot for shot in report["shots"] if not rect_inside(shot["window_geometry"], available)]
    if pushed:
        problems.append(
            f"from {view_name(pushed[0])} on the window is {pushed[0]['window_geometry']}, past the "
            f"screen's {available}"
        )
    return problems


def test_every_pane_fits_a_1366_by_768_screen(matrix: dict[str, Report]) -> None:
    problems = problems_fitting(matrix[LAPTOP.name])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("screen", [OFFICE, UHD_AT_2X], ids=lambda s: s.name)
def test_every_pane_fits_the_larger_screens(matrix: dict[str, Report], screen: Screen) -> None:
    problems = problems_fitting(matrix[screen.name])
    assert not problems, "\n".join(problems)


def test_at_scale_2_a_4k_screen_is_a_1920_by_1080_desktop_drawn_at_twice_the_pixels(
    matrix: dict[str, Report],
) -> None:
    report = matrix[UHD_AT_2X.name]
    assert report["screen"]["device_pixel_ratio"] == 2.0
    assert report["screen"]["size"] == [1920, 1080]
    image = QImage(report["shots"][0]["png"])
    assert (image.width(), image.height()) == (3840, 2160)


def distinct_colours(image: QImage, rect: list[int], scale: float) -> int:
    """How many colours the PNG has inside `rect` (logical pixels of the window)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(rgb.constBits(), dtype=np.uint32, count=rgb.sizeInBytes() // 4)
    pixels = pixels.reshape(rgb.height(), rgb.bytesPerLine() // 4)[:, : rgb.width()]
    x, y, w, h = (round(v * scale) for v in rect)
    return len(np.unique(pixels[y : y + h, x : x + w]))


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
def test_every_pane_is_shown_and_drawn(matrix: dict[str, Report], screen: Screen) -> None:
    report = matrix[screen.name]
    titles = [pane_type.title for pane_type in default_pane_types()]
    assert report["panes"] == titles, "the demo admin sees every pane"
    assert report["sources_ok"], "every source answered before the shots"
    assert {shot["pane"] for shot in report["shots"]} == set(titles)
    scale = report["screen"]["device_pixel_ratio"]
    blank = []
    for shot in report["shots"]:
        assert shot["png"] and Path(shot["png"]).exists(), f"{view_name(shot)} was not saved"
        image = QImage(shot["png"])
        assert not image.isNull()
        assert image.width() == round(shot["window_geometry"][2] * scale)
        assert shot["visible"], f"{view_name(shot)} is not visible when chosen"
        colours = distinct_colours(image, shot["rect"], scale)
        if colours < MIN_COLOURS_IN_A_PANE:
            blank.append(f"{view_name(shot)}: {colours} colours in {Path(shot['png']).name}")
    assert not blank, "panes that draw nothing: " + "; ".join(blank)


def elided_titles(report: Report) -> list[str]:
    """Sections of each view's main table (its largest) narrower than the style's size for their title:
    the text, its padding and the sort indicator."""
    elided = []
    for shot in report["shots"]:
        for table in shot["tables"]:
            if not table.get("main") or not table["header_visible"]:
                continue
            for section in table["sections"]:
                if not section["hidden"] and section["text"] and section["size"] < section["hint"]:
                    elided.append(
                        f"{view_name(shot)} / {table['name']}: {section['text']!r} is {section['size']} px, "
                        f"its title needs {section['hint']}"
                    )
    return elided


def test_no_column_title_of_a_main_table_is_elided_at_1920_by_1080(matrix: dict[str, Report]) -> None:
    report = matrix[OFFICE.name]
    assert any(table.get("main") for shot in report["shots"] for table in shot["tables"])
    elided = elided_titles(report)
    assert not elided, "\n".join(elided)
