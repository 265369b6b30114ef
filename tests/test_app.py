"""The page's logic without a browser: schema metadata, the CLI's messages, TOML round trip, progress."""

import sys
import threading
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("tomli_w", reason='the web page needs the "app" extra: pip install -e ".[app]"')

import scenarios  # noqa: E402
from scenarios.app import fields, progress, streamlit_command, whatif  # noqa: E402
from scenarios.cli import main  # noqa: E402
from scenarios.config import ConfigError, load_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_template_keeps_the_shipped_immunity_and_reporting():
    template = tomllib.loads(whatif.TEMPLATE.read_text(encoding="utf-8"))
    base = tomllib.loads((ROOT / "configs/base/vietnam_immunity_2026.toml").read_text(encoding="utf-8"))
    assert template["immunity"] == base["immunity"]
    assert template["reporting"] == base["reporting"]


@pytest.mark.parametrize("key", list(fields.FIELDS))
def test_each_page_field_shows_units_and_source_from_the_schema(key):
    m = fields.meta(key)
    info = fields.field_info(key)
    assert m["units"] == info.json_schema_extra["units"] and m["units"]
    assert m["source"] == info.json_schema_extra["source"] and m["source"]
    assert m["description"] == info.description


@pytest.mark.parametrize("key", list(fields.FIELDS))
def test_each_page_field_explains_itself_in_both_languages(key):
    f = fields.FIELDS[key]
    assert f.help("en") == fields.meta(key)["description"]
    vietnamese = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý")
    assert f.help("vi") != f.help("en") and vietnamese & set(f.help("vi").lower())


def test_allowed_range_follows_the_field_constraints():
    assert fields.allowed("capacity.icu_staffed_share") == "0 ≤ x ≤ 1"
    assert fields.allowed("scenario.horizon_days") == "1 ≤ x ≤ 3650"
    assert fields.allowed("variants.new.introduction_date") == ""


def test_invalid_value_gives_the_cli_message(capsys):
    bad = whatif.WhatIf(whatif.TEMPLATE, {"capacity.beds_icu": fields.parse_value("capacity.beds_icu", "-5")})
    with pytest.raises(ConfigError) as e:
        bad.config()
    assert main(["validate", str(whatif.TEMPLATE), "--set", "capacity.beds_icu=-5"]) == 2
    cli_lines = [line.strip() for line in capsys.readouterr().err.splitlines()[1:]]
    assert e.value.problems == cli_lines
    by_key, rest = whatif.errors_by_key(e.value.problems, list(fields.FIELDS))
    assert list(by_key) == ["capacity.beds_icu"] and rest == []


def test_unknown_surge_step_is_caught_as_validate_does():
    # Renaming a step the plan's responses open must fail before anything runs (threshold_set_of checks it).
    w = whatif.WhatIf(whatif.TEMPLATE, {"capacity.surge": [{"name": "renamed", "beds_oxygen": 10}]})
    with pytest.raises(ConfigError, match="field hospitals"):
        w.config()


def test_province_by_name_without_diacritics():
    config = whatif.WhatIf(whatif.TEMPLATE, whatif.area_overrides("ha noi")).config()
    ds_area = scenarios.run(config).attrs["area_name"]
    assert ds_area == "Hà Nội"


@pytest.mark.parametrize(
    "source",
    [whatif.TEMPLATE, ROOT / "configs/phong_tho_new_variant.toml", ROOT / "configs/ha_noi_new_variant.toml"],
)
def test_downloaded_toml_loads_to_the_same_config(tmp_path, source):
    changes = {
        "capacity.beds_icu": 300,
        "variants.new.immune_escape": 0.7,
        "capacity.surge": [
            {"name": n, "beds_oxygen": 100.0, "lead_time_days": 5}
            for n in [s.name for s in load_config(source).capacity.surge]
        ],
    }
    w = whatif.WhatIf(source, changes)
    config = w.config()
    path = tmp_path / "page.toml"
    path.write_text(whatif.to_toml(config, w), encoding="utf-8")
    again = load_config(path)
    assert again.model_dump() == config.model_dump()
    assert again.capacity.beds_icu == 300


def test_small_area_overrides_population_and_thresholds():
    changes = whatif.area_overrides(None, 80000, "Xã X", "small_area_phongtho")
    config = whatif.WhatIf(whatif.TEMPLATE, changes).config()
    assert (config.population.province, config.population.total) == (None, 80000)
    assert config.thresholds.set == "small_area_phongtho"


def test_progress_reads_the_run_progress_bar_of_its_own_thread_only(monkeypatch):
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # put pytest's stream back afterwards
    router = progress.install_router()
    assert sys.stderr is router and progress.install_router() is router
    sink = progress.Progress()

    def work():
        router.sinks[threading.get_ident()] = sink
        try:
            scenarios.run(load_config(ROOT / "configs/homogeneous_r0_2.5.toml"), progress=True)
        finally:
            router.sinks.pop(threading.get_ident())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert sink.total > 0 and sink.done == sink.total and sink.fraction == 1.0


def test_server_listens_on_loopback_only_and_sends_no_statistics():
    cmd = streamlit_command(8600, open_browser=False, config=ROOT / "configs/an_giang.toml")
    assert "--server.address=127.0.0.1" in cmd
    assert "--browser.gatherUsageStats=false" in cmd
    assert "--server.headless=true" in cmd
    assert cmd[-2:] == ["--config", str(ROOT / "configs/an_giang.toml")]
