"""Every bad config gives one clear message naming the file and field, exit code 2, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.cli import main

from .conftest import CONFIGS

GOOD = """
[scenario]
name = "t"
start_date = 2026-12-01
horizon_days = 30
[population]
province = "Lai Châu"
[variants.resident]
r0 = 2.0
"""

CASES = {
    "unknown key": (
        GOOD + "[disease]\nlatent_dayz = 3\n",
        ["disease.latent_dayz", "unknown key", "latent_days"],
    ),
    "wrong type": (
        GOOD.replace("horizon_days = 30", 'horizon_days = "thirty"'),
        ["scenario.horizon_days", "expected a number", "thirty"],
    ),
    "negative count": (
        GOOD + "[variants.new]\nintroduction_date = 2026-12-05\nimported_per_day = -3\n",
        ["variants.new.imported_per_day", "greater than or equal to 0"],
    ),
    "fraction above 1": (
        GOOD + "[reporting]\nascertainment = 1.5\n",
        ["reporting.ascertainment", "less than or equal to 1"],
    ),
    "end before start": (
        GOOD + '[[interventions]]\nname = "5K"\nstart_date = 2027-01-10\nend_date = 2027-01-01\n',
        ["interventions.0", "end_date 2027-01-01 is before start_date 2027-01-10"],
    ),
    "age structure does not sum": (
        GOOD.replace(
            'province = "Lai Châu"',
            'province = "Lai Châu"\nage_shares = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]',
        ),
        ["population", "age_shares must sum to 1", "0.9"],
    ),
    "age structure wrong length": (
        GOOD.replace('province = "Lai Châu"', 'province = "Lai Châu"\nage_shares = [0.5, 0.5]'),
        ["population.age_shares", "at least 9"],
    ),
    "unknown province": (
        GOOD.replace("Lai Châu", "Kien Gang"),
        ["population", "unknown province 'Kien Gang'", "Hà Nội"],
    ),
    "both r0 and rt": (
        GOOD.replace("r0 = 2.0", "r0 = 2.0\nrt_start = 1.2"),
        ["variants.resident", "exactly one of"],
    ),
    "missing section": (
        "[scenario]\nname='t'\nstart_date=2026-01-01\nhorizon_days=3\n",
        ["population: required field is missing", "variants: required field is missing"],
    ),
    "malformed TOML": (GOOD + "[disease\n", ["malformed TOML", "line"]),
    "boolean as a fraction": (
        GOOD + "[variants.new]\nintroduction_date = 2026-12-05\nimmune_escape = true\n",
        ["variants.new.immune_escape", "expected a number, got the boolean true"],
    ),
    "boolean as a count": (
        GOOD.replace('province = "Lai Châu"', "total = true"),
        ["population.total", "expected a number, got the boolean true"],
    ),
    "boolean in a by-age list": (
        GOOD + "[immunity]\ncoverage_dose2_by_age = [0.5, true, 0, 0, 0, 0, 0, 0, 0]\n",
        ["immunity.coverage_dose2_by_age", "boolean"],
    ),
    "text as a number": (
        GOOD.replace("r0 = 2.0", 'r0 = 2.0\ninitial_infections = "10"'),
        ["variants.resident.initial_infections", "expected a number, got the text '10'"],
    ),
    "infinite importations": (
        GOOD + "[variants.new]\nintroduction_date = 2026-12-05\nimported_per_day = inf\n",
        ["variants.new.imported_per_day", "finite"],
    ),
    "huge importations": (
        GOOD + "[variants.new]\nintroduction_date = 2026-12-05\nimported_per_day = 1e308\n",
        ["variants.new.imported_per_day", "at most"],
    ),
    "importations above the population": (
        GOOD + "[variants.new]\nintroduction_date = 2026-12-05\nimported_per_day = 1e6\n",
        ["variants.new.imported_per_day", "exceeds the population"],
    ),
    "initial infections above the population": (
        GOOD.replace("r0 = 2.0", "r0 = 2.0\ninitial_infections = 1e8"),
        ["variants.resident.initial_infections", "exceeds the population"],
    ),
    "infinite duration": (GOOD + "[disease]\nlatent_days = inf\n", ["disease.latent_days", "finite"]),
    "infinite beds": (GOOD + "[capacity]\nbeds_icu = inf\n", ["capacity.beds_icu", "finite"]),
    "not a number": (GOOD + "[capacity]\nbeds_icu = nan\n", ["capacity.beds_icu", "finite"]),
    "ambiguous province Ha": (
        GOOD.replace("Lai Châu", "Tỉnh Hà"),
        ["population", "ambiguous", "Hà Nội", "Hà Tĩnh"],
    ),
    "ambiguous province Hoa": (
        GOOD.replace("Lai Châu", "Hoa"),
        ["population", "ambiguous", "Thanh Hóa", "Khánh Hòa"],
    ),
    "booster above two doses": (
        GOOD + "[immunity]\ncoverage_dose3_by_age = [0.5,0,0,0,0,0,0,0,0]\n",
        ["immunity", "coverage_dose3_by_age exceeds coverage_dose2_by_age"],
    ),
}


def _run_cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_config_gives_message_and_exit_2_and_writes_nothing(case, command, tmp_path, capsys):
    text, expected = CASES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    argv = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    code, err = _run_cli(argv, capsys)
    assert code == 2
    assert "Traceback" not in err
    assert str(path) in err
    for fragment in expected:
        assert fragment in err
    assert not out.exists()


def test_missing_file(tmp_path, capsys):
    code, err = _run_cli(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "nope.toml: file not found" in err
    assert not (tmp_path / "o").exists()


def test_missing_extends_target_names_the_extending_file(tmp_path, capsys):
    (tmp_path / "a.toml").write_text('extends = "missing.toml"\n' + GOOD, encoding="utf-8")
    code, err = _run_cli(["validate", str(tmp_path / "a.toml")], capsys)
    assert code == 2 and "missing.toml: file not found" in err and "a.toml: extends" in err


def test_cycle_in_extends(tmp_path, capsys):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n' + GOOD, encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")
    code, err = _run_cli(["validate", str(tmp_path / "a.toml")], capsys)
    assert code == 2 and "cycle in 'extends'" in err and "a.toml -> " in err


def test_error_names_the_base_file_that_set_the_bad_value(tmp_path, capsys):
    (tmp_path / "base.toml").write_text(GOOD + "[reporting]\nascertainment = 2\n", encoding="utf-8")
    (tmp_path / "whatif.toml").write_text('extends = "base.toml"\n[scenario]\nname = "w"\n', encoding="utf-8")
    code, err = _run_cli(["validate", str(tmp_path / "whatif.toml")], capsys)
    assert code == 2 and f"{tmp_path / 'base.toml'}: reporting.ascertainment" in err


def test_bad_set_override_is_named(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, err = _run_cli(["validate", str(path), "--set", "reporting.ascertainment=-1"], capsys)
    assert code == 2 and "--set: reporting.ascertainment" in err
    code, err = _run_cli(["validate", str(path), "--set", "no-equals-sign"], capsys)
    assert code == 2 and "expected KEY=VALUE" in err


@pytest.mark.parametrize("value", ["true", "false", "inf", "nan", "1e308", '"0.5"'])
def test_set_takes_plain_finite_numbers_only(value, tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD + "[variants.new]\nintroduction_date = 2026-12-05\n", encoding="utf-8")
    code, err = _run_cli(["validate", str(path), "--set", f"variants.new.immune_escape={value}"], capsys)
    assert code == 2 and "--set: variants.new.immune_escape" in err


@pytest.mark.parametrize(
    "name", ["Hà Tĩnh", "ha tinh", "Tỉnh Hà Tĩnh", "Thanh Hóa", "thanh hoa", "Thành phố Hà Nội", "Ha Noi city", "VN38"]
)
def test_full_province_names_resolve(name):
    from scenarios.config import find_province

    assert find_province(name) is not None


def test_failed_run_leaves_earlier_results_untouched(tmp_path, capsys):
    good = tmp_path / "ok.toml"
    good.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(good), "--out", str(out)]) == 0
    before = (out / "results.nc").read_bytes()
    assert main(["run", str(good), "--out", str(out), "--set", "scenario.horizon_days=0"]) == 2
    assert (out / "results.nc").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["actions.csv", "crossings.csv", "results.nc"]


def test_shipped_configs_are_all_valid(capsys):
    for path in sorted(Path(CONFIGS).glob("*.toml")):
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("immunity.waning_days=1e-4", "immunity.waning_days"),
        ("disease.latent_days=1e-9", "disease.latent_days"),
        ("disease.infectious_days=0.5", "disease.infectious_days"),
    ],
)
def test_durations_below_a_day_are_refused_with_the_reason(setting, field, tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, err = _run_cli(["validate", str(path), "--set", setting], capsys)
    assert code == 2 and f"--set: {field}: must be at least 1 day" in err and "one day at a time" in err


@pytest.mark.parametrize("date", ["1600-01-01", "9999-12-01"])
def test_dates_outside_the_calendar_are_refused(date, tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, err = _run_cli(["validate", str(path), "--set", f"scenario.start_date={date}"], capsys)
    assert code == 2 and "scenario.start_date: dates must lie between" in err


def test_unreachable_rt_is_refused_by_validate(tmp_path, capsys):
    path = tmp_path / "zero.toml"
    path.write_text(
        GOOD.replace("r0 = 2.0", "rt_start = 1.5")
        + '[[interventions]]\nname = "all"\nstart_date = 2026-12-01\nhome = 0\nschool = 0\nwork = 0\ncommunity = 0\n',
        encoding="utf-8",
    )
    for command in ("validate", "run"):
        code, err = _run_cli([command, str(path), "--out", str(tmp_path / "o")][: 2 + 2 * (command == "run")], capsys)
        assert code == 2 and "variants.resident.rt_start: cannot be reached" in err and "Traceback" not in err


POLICY = '[variants.new]\nintroduction_date = 2026-12-05\n[[policies]]\nname = "p"\ntrigger = "activation"\n'
POLICY += 'action = "contacts"\ncommunity = 0.5\ndelay_days = 2\n'


def test_a_check_on_a_table_blames_the_file_that_wrote_the_field(tmp_path, capsys):
    (tmp_path / "base.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "whatif.toml").write_text(
        'extends = "base.toml"\n[population]\nage_shares = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]\n',
        encoding="utf-8",
    )
    code, err = _run_cli(["validate", str(tmp_path / "whatif.toml")], capsys)
    assert code == 2 and f"{tmp_path / 'whatif.toml'}: population: age_shares must sum to 1" in err
    assert "base.toml" not in err


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("variants.new.immune_escape.x=1", "--set: variants.new.immune_escape:"),
        ("policies.0.delay_days=-3", "--set: policies.0.delay_days: Input should be greater than or equal to 1"),
        ("policies.4.delay_days=3", "--set: policies.4: no such item (policies has 1"),
    ],
)
def test_set_errors_blame_set(setting, expected, tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD + POLICY, encoding="utf-8")
    code, err = _run_cli(["validate", str(path), "--set", setting], capsys)
    assert code == 2 and expected in err
    assert str(path) not in err and "valid tuple" not in err


def test_set_edits_one_item_of_an_array_of_tables(tmp_path):
    from scenarios.config import load_config

    path = tmp_path / "ok.toml"
    path.write_text(GOOD + POLICY, encoding="utf-8")
    config = load_config(path, {"policies.0.delay_days": 3})
    assert config.policies[0].delay_days == 3 and config.policies[0].name == "p"


def test_one_bad_item_of_a_by_age_list_is_the_only_error(tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, err = _run_cli(
        ["validate", str(path), "--set", "immunity.coverage_dose2_by_age=[0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,2]"], capsys
    )
    assert code == 2 and "--set: immunity.coverage_dose2_by_age.8" in err
    assert "Tuple should have" not in err and len(err.strip().splitlines()) == 2


def test_a_utf8_bom_is_accepted(tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert _run_cli(["validate", str(path)], capsys)[0] == 0


def _hostile(tmp_path, kind):
    if kind == "nested tables":
        return GOOD + "[disease]\nx = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"
    if kind == "dotted parts":
        return GOOD + "[disease]\n" + ".".join(["a"] * 2000) + " = 1\n"
    if kind == "long extends chain":
        for i in range(1, 1200):
            (tmp_path / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n', encoding="utf-8")
        (tmp_path / "c1200.toml").write_text(GOOD, encoding="utf-8")
        return 'extends = "c1.toml"\n'
    if kind == "symlink loop":
        (tmp_path / "loop.toml").symlink_to(tmp_path / "loop.toml")
        return 'extends = "loop.toml"\n'
    if kind == "NUL byte":
        return 'extends = "a\\u0000b.toml"\n'
    if kind == "outside the tree":
        (tmp_path.parent / "elsewhere.toml").write_text(GOOD, encoding="utf-8")
        return 'extends = "../elsewhere.toml"\n'
    if kind == "absolute non-config":
        return 'extends = "/etc/passwd"\n'
    if kind == "threshold file outside":
        return GOOD + '[thresholds]\nset = "../../x.toml"\n'
    raise ValueError(kind)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("nested tables", "nested too deeply"),
        ("dotted parts", "nested more than"),
        ("long extends chain", "files in the 'extends' chain"),
        ("symlink loop", "loop.toml"),
        ("NUL byte", "extends"),
        ("outside the tree", "lies outside"),
        ("absolute non-config", "not a config file"),
        ("threshold file outside", "thresholds.set: '../../x.toml' lies outside"),
    ],
)
def test_hostile_configs_get_one_line_and_exit_2(kind, expected, tmp_path, capsys):
    folder = tmp_path / "cfg"
    folder.mkdir()
    path = folder / "hostile.toml"
    path.write_text(_hostile(folder, kind), encoding="utf-8")
    code, err = _run_cli(["validate", str(path)], capsys)
    assert code == 2 and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2  # "error: ..." and the problem


def test_allow_dir_lets_extends_read_another_folder(tmp_path, capsys):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "base.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "mine").mkdir()
    path = tmp_path / "mine" / "w.toml"
    path.write_text('extends = "../shared/base.toml"\n', encoding="utf-8")
    assert _run_cli(["validate", str(path)], capsys)[0] == 2
    assert _run_cli(["validate", str(path), "--allow-dir", str(tmp_path / "shared")], capsys)[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "CFG", "--seed", "-1"],
        ["run", "CFG", "--replicates", "1000000000"],
        ["run", "CFG", "--replicates", "2", "--vary", "variants.resident.r0=0:inf"],
        ["report", "DIR", "--dpi", "0"],
        ["report", "DIR", "--dpi", "-5"],
        ["report", "DIR", "--dpi", "100000"],
    ],
)
def test_command_line_values_are_range_checked(argv, tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    argv = [str(path) if a == "CFG" else str(tmp_path) if a == "DIR" else a for a in argv]
    try:
        code = main(argv + ["--out", str(tmp_path / "o")] if argv[0] == "run" else argv)
    except SystemExit as e:  # argparse's usage error
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_ctrl_c_exits_130_with_one_line(tmp_path, capsys, monkeypatch):
    from scenarios import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run", interrupted)
    path = tmp_path / "ok.toml"
    path.write_text(GOOD, encoding="utf-8")
    code, err = _run_cli(["run", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 130 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
