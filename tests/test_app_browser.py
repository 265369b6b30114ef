"""The web page in a real headless Chromium (Debian's), against ``scenarios app`` on a free loopback port.

Skips with an install hint where no Chromium is present. A screenshot of the dashboard is saved under
``test-artifacts/`` (git-ignored) for a person to look at.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason='the web page needs the "app" extra: pip install -e ".[test]"')
sync_api = pytest.importorskip(
    "playwright.sync_api", reason='Playwright is in the test extra: pip install -e ".[test]"'
)

import scenarios  # noqa: E402
from scenarios import plots  # noqa: E402
from scenarios.app import fields  # noqa: E402
from scenarios.app.whatif import TEMPLATE  # noqa: E402
from scenarios.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip(
        "no Chromium for the browser tests: install Debian's with 'apt-get install -y chromium' "
        "(or set CHROMIUM=/path/to/chromium); Playwright's own browser downloads are not used",
        allow_module_level=True,
    )

TIMEOUT_MS = 90_000  # a cold start on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    command = Path(sys.executable).with_name("scenarios")
    proc = subprocess.Popen(
        [str(command), "app", "--port", str(port), "--no-browser"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"'scenarios app' did not start (exit code {proc.poll()})") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1500, "height": 2000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.requested = []
    pg.on("request", lambda r: pg.requested.append(r.url))
    pg.goto(server)
    pg.get_by_role("button", name="Chạy", exact=True).wait_for()
    yield pg
    context.close()


def _settle(pg) -> None:
    """Wait until Streamlit has finished the current script run (it shows its status after a moment)."""
    pg.wait_for_timeout(500)
    pg.locator("[data-testid=stStatusWidget]").wait_for(state="hidden")


def _type_into(pg, label: str, text: str) -> None:
    box = pg.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    _settle(pg)


def test_province_capacity_run_download(page, server, tmp_path):
    pg = page
    # Pick Hà Nội by typing its name without diacritics.
    pg.locator("[data-testid=stSelectbox]").filter(has_text="Tỉnh/thành phố").click()
    pg.keyboard.type("ha noi")
    pg.keyboard.press("Enter")
    _settle(pg)
    pg.get_by_text("8.").filter(has_text="WorldPop").wait_for()  # the population line of Hà Nội (8.x million)
    _type_into(pg, "Giường hồi sức tích cực (ICU, tầng 3)", "800")
    pg.get_by_text(fields.FIELDS["capacity.beds_icu"].help_vi).wait_for()  # help in the page's language

    pg.get_by_role("button", name="Chạy", exact=True).click()
    shown = pg.locator("#activation-date")
    shown.wait_for()
    _settle(pg)
    pg.locator("[data-testid=stImage] img").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=ARTIFACTS / "app_dashboard.png")
    page_date = shown.get_attribute("data-iso")

    with pg.expect_download() as download:
        pg.get_by_role("button", name="Cấu hình (TOML)").click()
    path = tmp_path / "page.toml"
    download.value.save_as(path)
    config = scenarios.load_config(path)
    assert config.population.province == "Hà Nội"
    assert config.capacity.beds_icu == 800

    # The same config in Python gives the date on the page.
    table = scenarios.crossings(scenarios.run(config))
    expected = table.attrs["activation_date"]
    assert page_date == ("" if expected is None or str(expected) == "NaT" else f"{expected:%Y-%m-%d}")
    assert page_date  # this what-if does activate the plan

    # Two what-ifs side by side: this run, and the same with less immune escape.
    pg.get_by_role("button", name="Thêm vào so sánh").click()
    pg.get_by_text("(Hà Nội)", exact=False).wait_for()  # "add at least two runs ... (Hà Nội)"
    _type_into(pg, "Mức né miễn dịch chống nhiễm", "0.3")
    stale = pg.get_by_text("Các giá trị đã thay đổi từ lần chạy này")
    stale.wait_for()
    pg.get_by_role("button", name="Chạy", exact=True).click()
    stale.wait_for(state="hidden")
    _type_into(pg, "Tên kịch bản này khi so sánh", "né 0.3")
    pg.get_by_role("button", name="Thêm vào so sánh").click()
    compared = pg.locator("[data-testid=stTable]").filter(has_text="né 0.3")
    compared.wait_for()
    other = scenarios.load_config(path, {"variants.new.immune_escape": 0.3})
    other_date = scenarios.crossings(scenarios.run(other)).attrs["activation_date"]
    row = compared.locator("tr").filter(has_text="Ngày kích hoạt phương án")
    cells = row.locator("td").all_inner_texts()
    assert [c.strip() for c in cells[-2:]] == [plots.format_date(expected, "vi"), plots.format_date(other_date, "vi")]

    # Everything came from this machine: no CDN, no statistics.
    hosts = {u.split("/")[2] for u in pg.requested if u.startswith("http")}
    assert hosts == {server.removeprefix("http://")}


def test_invalid_value_shows_the_cli_message_and_nothing_runs(page, capsys):
    pg = page
    _type_into(pg, "Giường hồi sức tích cực (ICU, tầng 3)", "-5")
    assert main(["validate", str(TEMPLATE), "--set", "capacity.beds_icu=-5"]) == 2
    line = capsys.readouterr().err.splitlines()[1].strip()
    assert line.startswith("--set: capacity.beds_icu:")
    pg.get_by_text(line, exact=True).wait_for()
    # The Run button is drawn after the fields: wait for this script run to reach it.
    sync_api.expect(pg.get_by_role("button", name="Chạy", exact=True)).to_be_disabled()
    pg.get_by_text("Có giá trị không hợp lệ (đánh dấu đỏ): sửa trước khi chạy. Chưa chạy gì.").wait_for()
    assert pg.locator("#activation-date").count() == 0

    pg.get_by_text("English", exact=True).click()  # the English switch keeps the field and its message
    _settle(pg)
    pg.get_by_role("button", name="Run", exact=True).wait_for()
    pg.get_by_text(line, exact=True).wait_for()
