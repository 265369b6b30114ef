"""The Streamlit page (``scenarios app`` runs it): area, capacity, new variant, run, dashboard, compare.

Streamlit re-runs this script on every change; runs and figures are kept in ``st.session_state``. Model
work goes through :mod:`scenarios.app.whatif` (``load_config``/``run``/``sweep``) and figures through
:mod:`scenarios.plots`, so the page shows the numbers ``scenarios run`` prints for the same config.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from scenarios import crossings, plots
from scenarios.app import fields, progress, whatif
from scenarios.app.texts import LANGS, TEXT
from scenarios.config import ConfigError, find_province
from scenarios.config.provinces import province_names
from scenarios.ensemble import summarise_crossings
from scenarios.report import crossings_table, key_numbers
from scenarios.summary import run_out_dates

SURGE_COLUMNS = (
    "name",
    "beds_oxygen",
    "beds_oxygen_per_100k",
    "beds_icu",
    "beds_icu_per_100k",
    "oxygen_m3_per_day",
    "lead_time_days",
    "activate_on",
)
UNITS_VI = {
    "patients": "bệnh nhân",
    "people": "người",
    "beds": "giường",
    "days": "ngày",
    "m3/day": "m³/ngày",
    "cylinders/day": "bình/ngày",
}
SHOWN_DPI = 110  # on screen; downloads keep the report's 300 dpi


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--config", type=Path, default=None)
    return p.parse_known_args(sys.argv[1:])[0]


def _plain(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _num(x: float, lang: str, decimals: int = 0) -> str:
    return plots.format_number(float(x), lang, decimals)


def _date(d: Any, lang: str, T: dict[str, str]) -> str:
    return T["never"] if d is None or pd.isna(d) else plots.format_date(d, lang)


def _caption(f: fields.PageField, T: dict[str, str], lang: str) -> str:
    key = f.key
    m = fields.meta(key)
    units = m["units"]
    if units == "1":
        units = "0–1 (= 0–100%)" if m.get("le") == 1 else "×"
    parts = [f"{T['units']}: {units}"] if units else []
    if fields.allowed(key):
        parts.append(f"{T['allowed']}: {fields.allowed(key)}")
    source = T["user_source"] if m["source"] == "user" else m["source"]
    parts.append(f"{T['source']}: {source}")
    return " · ".join(parts) + f"  \n{f.help(lang)}"


# ---- 1. area -------------------------------------------------------------------------------------


def _area(T: dict[str, str], lang: str, args: argparse.Namespace) -> tuple[Path | None, dict[str, Any], str, dict]:
    """Return the base file, the area's changes, a label, and the area's own widget keys."""
    st.subheader(T["step_area"])
    modes = ["province", "small_area", "shipped", "file"]
    mode = st.radio(
        T["start_from"],
        modes,
        index=2 if args.config else 0,
        format_func=lambda m: T[f"mode_{m}"],
        horizontal=True,
        key="mode",
    )
    names = province_names()
    if mode == "province":
        name = st.selectbox(
            T["province"],
            names,
            index=names.index("An Giang"),
            format_func=lambda n: n if _plain(n) == n else f"{n} ({_plain(n)})",
            key="province",
        )
        p = find_province(name)
        st.caption(f"{T['population']}: {_num(p.population, lang)} {T['people']} (WorldPop 2020)")
        changes = whatif.area_overrides(name)
        changes["scenario.name"] = f"{name} — {T['new_variant']}"
        return whatif.TEMPLATE, changes, name, {}
    if mode == "small_area":
        c1, c2, c3, c4 = st.columns(4)
        area = c1.text_input(T["area_name"], "Phong Thổ", key="area_name")
        total_text = c2.text_input(T["area_total"], "80000", key="area_total")
        in_province = c3.selectbox(T["area_province"], [T["none"], *names], key="area_province")
        ts = c4.selectbox(T["threshold_set"], ["small_area_phongtho", "provincial_3984"], key="threshold_set")
        total = fields.parse_value("population.total", total_text)
        if fields.looks_like_thousands(total_text):
            c2.warning(T["decimal_point"].format(text=total_text.strip(), value=total))
        changes = whatif.area_overrides(None if in_province == T["none"] else in_province, None, area, ts)
        changes["population.total"] = total
        changes["scenario.name"] = f"{area} — {T['new_variant']}"
        slot = c2.empty()
        return whatif.TEMPLATE, changes, area, {"population.total": slot}
    if mode == "shipped":
        found = whatif.shipped_configs(args.config.resolve() if args.config else None)
        files = list(found)
        default = args.config.name if args.config else "an_giang_new_variant.toml"
        chosen = st.selectbox(T["shipped"], files, index=files.index(default) if default in files else 0, key="shipped")
        return (found[chosen] if chosen else None), {}, Path(chosen or "").stem, {}
    upload = st.file_uploader(T["upload"], type=["toml"], key="upload")
    if upload is None:
        st.info(T["upload_first"])
        return None, {}, "", {}
    data = upload.getvalue()
    folder = Path(tempfile.gettempdir()) / "scenarios-app" / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(upload.name).name
    path.write_bytes(data)
    return path, {}, path.stem, {}


# ---- 2-3. capacity and new variant ---------------------------------------------------------------


def _field(key: str, base, T: dict[str, str], lang: str, prefix: str, changes: dict, slots: dict) -> None:
    f = fields.FIELDS[key]
    left = right = st.container()
    value = fields.config_value(base, key)
    shown = fields.value_text(value)
    text = left.text_input(f.label(lang), shown, key=f"{prefix}:{key}")
    slots[key] = left.empty()
    note = _caption(f, T, lang)
    per_100k = key.removeprefix("capacity.") + "_per_100k"
    if value is None and key.startswith("capacity.") and per_100k in type(base.capacity).model_fields:
        note += f"  \n{T['empty_means']} {_num(getattr(base.capacity, per_100k), lang, 1)} {T['per_100k']}"
    right.caption(note)
    if text.strip() != shown:
        changes[key] = fields.parse_value(key, text.strip())
        if fields.looks_like_thousands(text):
            left.warning(T["decimal_point"].format(text=text.strip(), value=changes[key]))


def _surge(base, T: dict[str, str], prefix: str, changes: dict, slots: dict) -> None:
    st.markdown(f"**{T['surge']}**")
    st.caption(T["surge_help"])
    steps = pd.DataFrame(
        [{c: fields.value_text(getattr(s, c)) or None for c in SURGE_COLUMNS} for s in base.capacity.surge],
        columns=list(SURGE_COLUMNS),
    )
    for c in SURGE_COLUMNS[1:-1]:
        steps[c] = pd.to_numeric(steps[c])
    config = {
        c: st.column_config.Column(c, help=f"{fields.meta('capacity.surge.' + c)['units']}")
        for c in SURGE_COLUMNS
        if c != "name"
    }
    edited = st.data_editor(steps, num_rows="dynamic", key=f"{prefix}:surge", column_config=config, hide_index=True)
    slots["capacity.surge"] = st.empty()
    if not edited.equals(steps):
        rows = []
        for _, r in edited.iterrows():
            row = {c: r[c] for c in SURGE_COLUMNS if not pd.isna(r[c]) and r[c] != ""}
            if "lead_time_days" in row:
                row["lead_time_days"] = int(row["lead_time_days"])
            if "activate_on" in row:
                row["activate_on"] = fields.parse_value("scenario.start_date", str(row["activate_on"]))
            rows.append(row)
        changes["capacity.surge"] = rows


# ---- 4. run --------------------------------------------------------------------------------------


def _execute(config, engine: str, replicates: int, seed: int, T: dict[str, str]):
    router = progress.install_router()
    sink = progress.Progress()
    out: dict[str, Any] = {}

    def work() -> None:
        router.sinks[threading.get_ident()] = sink
        try:
            out["ds"] = whatif.execute(config, engine, replicates, seed, progress=True)
        except Exception as e:  # shown on the page; the server keeps serving
            out["error"] = e
        finally:
            router.sinks.pop(threading.get_ident(), None)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    unit = T["runs"] if replicates > 1 else T["days"]
    bar = st.progress(0.0, text=T["running"])
    while worker.is_alive():
        worker.join(0.2)
        bar.progress(min(sink.fraction, 1.0), text=f"{T['running']}: {sink.done}/{sink.total or '…'} {unit}")
    bar.empty()
    if "error" in out:
        raise out["error"]
    return out["ds"]


def _figure(run: dict, name: str, lang: str) -> bytes:
    cache = run.setdefault("figures", {})
    if (name, lang) not in cache:
        fig = plots.FIGURES[name](run["ds"], lang=lang)
        cache[(name, lang)] = plots.to_bytes(fig, "png", dpi=SHOWN_DPI)
    return cache[(name, lang)]


def _escaped(df: pd.DataFrame) -> pd.DataFrame:
    """st.table reads cells as Markdown: keep a leading '>' (the plan's operator) from becoming a quote."""
    return df.map(lambda v: v.replace(">", "\\>") if isinstance(v, str) else v)


def _headline(table: pd.DataFrame, shown: pd.DataFrame, T: dict[str, str], lang: str) -> None:
    a = table.attrs
    first = table.index[(table["kind"] == "criterion") & (table["rank"] == 1)]
    first_names = ", ".join(shown.iloc[i, 0] for i in first) or "—"
    act = a.get("activation_date")
    iso = "" if act is None or pd.isna(act) else f"{act:%Y-%m-%d}"
    lead = a.get("lead_days")
    cells = [
        (T["activation"], _date(act, lang, T), "1.6rem"),
        (T["first_criterion"], first_names, "0.95rem"),
        (T["overflow"], _date(a.get("overflow_date"), lang, T), "1.6rem"),
        (T["lead"], "—" if lead is None or pd.isna(lead) else _num(int(lead), lang), "1.6rem"),
    ]
    for col, (label, value, size) in zip(st.columns(4), cells, strict=True):
        # Plain blocks rather than st.metric, which cuts a date short in a narrow column.
        col.markdown(
            f'<div style="font-size:0.85rem;color:#555">{label}</div>'
            f'<div style="font-size:{size};font-weight:600;line-height:1.25">{value}</div>',
            unsafe_allow_html=True,
        )
    # Machine-readable copy for tests and screen readers: the ISO date the CLI prints.
    st.markdown(
        f'<span id="activation-date" data-iso="{iso}" style="font-size:0.8em;color:#666">'
        f"{T['activation']}: {iso or T['never']}</span>",
        unsafe_allow_html=True,
    )


def _key_table(ds, table: pd.DataFrame, lang: str, T: dict[str, str]) -> pd.DataFrame:
    k = key_numbers(ds, table)
    rows = []
    for _, r in k.iterrows():
        if r["unit"] == "date":
            value = _date(r["date"], lang, T)
            when = ""
        else:
            unit = UNITS_VI.get(r["unit"], r["unit"]) if lang == "vi" else r["unit"]
            value = "—" if pd.isna(r["value"]) else f"{_num(r['value'], lang)} {unit}"
            when = "" if pd.isna(r["date"]) else plots.format_date(r["date"], lang)
        rows.append((r[f"label_{lang}"], value, when))
    head = {"vi": ("Chỉ số", "Giá trị", "Ngày"), "en": ("Number", "Value", "Date")}[lang]
    return pd.DataFrame(rows, columns=list(head))


def _run_out_table(ds, table: pd.DataFrame, T: dict[str, str], lang: str) -> pd.DataFrame:
    """Tabulate when each resource runs out (:func:`scenarios.summary.run_out_dates`) and days after activation."""
    act = table.attrs.get("activation_date")
    rows = []
    for name, date in run_out_dates(ds).items():
        after = "" if date is None or act is None or pd.isna(act) else _num((date - act).days, lang)
        rows.append((T[f"resource_{name}"], T["enough"] if date is None else _date(date, lang, T), after))
    return pd.DataFrame(rows, columns=[T["resource"], T["runs_out"], T["days_after_activation"]])


def _summary_table(ds, T: dict[str, str], lang: str) -> pd.DataFrame:
    """Tabulate the replicates' crossings (:func:`scenarios.ensemble.summarise_crossings`), in the page's language."""
    rows = []
    for _, r in summarise_crossings(ds).iterrows():
        if r["kind"] == "criterion":
            name = plots.INDICATOR_LABELS.get(r["indicator"], {}).get(lang, (r["criterion"],))[0]
            name += f" ({r['operator']} {_num(r['threshold'], lang, 1 if r['threshold'] % 1 else 0)})"
        else:
            name = T.get(f"row_{r['criterion']}", r["criterion"])
        dates = [_date(r[f"first_date_{q}"], lang, T) for q in ("q5", "q50", "q95")]
        lead = "" if pd.isna(r["lead_days_q50"]) else _num(r["lead_days_q50"], lang)
        rows.append((name, f"{r['crossed']}/{r['replicates']}", *dates, lead))
    return pd.DataFrame(rows, columns=[T["criterion"], T["crossed"], "5%", "50%", "95%", T["lead_median"]])


def _dashboard(run: dict, current, T: dict[str, str], lang: str) -> None:
    st.subheader(T["dashboard"] + f": {run['label']}")
    if current is not None and current.model_dump() != run["config"].model_dump():
        st.warning(T["stale"])
    ds = run["ds"]
    if "replicate" in ds.dims:
        st.markdown(f"**{T['summary']}**")
        st.table(_escaped(_summary_table(ds, T, lang)).set_index(T["criterion"]))
    else:
        table = crossings(ds)
        shown = crossings_table(table, lang)
        _headline(table, shown, T, lang)
        left = right = st.container()
        left.markdown(f"**{T['crossings']}**")
        left.table(_escaped(shown).set_index(shown.columns[0]))
        left.markdown(f"**{T['run_out']}**")
        left.table(_run_out_table(ds, table, T, lang).set_index(T["resource"]))
        right.markdown(f"**{T['key_numbers']}**")
        right.table(_key_table(ds, table, lang, T).set_index({"vi": "Chỉ số", "en": "Number"}[lang]))
        # One figure at a time (drawn on demand, then kept): drawing all six on every run is slow.
        names = list(plots.FIGURES)
        name = st.radio(T["figures"], names, format_func=lambda n: T[f"fig_{n}"], key="figure", horizontal=True)
        with st.spinner(T["drawing"]):
            st.image(_figure(run, name, lang), width=760 if name == "dashboard" else "stretch")
    _downloads(run, T, lang)


def _downloads(run: dict, T: dict[str, str], lang: str) -> None:
    st.markdown(f"**{T['downloads']}**")
    c1, c2, c3 = st.columns(3)
    stem = _plain(run["label"]).replace(" ", "_").replace("—", "-") or "whatif"
    c1.download_button(
        T["download_toml"], run["toml"], f"{stem}.toml", "application/toml", key="dl_toml", on_click="ignore"
    )
    c2.download_button(
        T["download_results"],
        lambda: whatif.results_zip(run["ds"]),
        f"{stem}_results.zip",
        "application/zip",
        key="dl_results",
        on_click="ignore",
    )
    if "replicate" in run["ds"].dims:
        c3.caption(T["report_one_run"])
    else:
        c3.download_button(
            T["download_report"],
            lambda: whatif.report_zip(run["ds"], lang),
            f"{stem}_report_{lang}.zip",
            "application/zip",
            key="dl_report",
            on_click="ignore",
        )


def _compare(T: dict[str, str], lang: str) -> None:
    saved: dict[str, Any] = st.session_state.setdefault("saved", {})
    run = st.session_state.get("last_run")
    st.divider()
    st.subheader(T["compare"])
    if run is not None and "replicate" not in run["ds"].dims:
        c1, c2, c3 = st.columns([3, 1, 1])
        label = c1.text_input(T["compare_label"], run["label"], key="compare_label")
        if c2.button(T["compare_add"], key="compare_add"):
            saved[label] = run["ds"]
        if c3.button(T["compare_clear"], key="compare_clear"):
            saved.clear()
    if len(saved) < 2:
        st.caption(T["compare_need"] + (f" ({', '.join(saved)})" if saved else ""))
        return
    cols = {}
    for label, ds in saved.items():
        table = crossings(ds)
        cols[label] = _key_table(ds, table, lang, T).set_index({"vi": "Chỉ số", "en": "Number"}[lang]).iloc[:, 0]
    st.table(pd.DataFrame(cols))
    variable = st.selectbox(
        T["compare_variable"],
        list(plots.INDICATOR_LABELS),
        format_func=lambda v: plots.INDICATOR_LABELS[v][lang][0],
        key="compare_variable",
    )
    st.image(plots.to_bytes(plots.compare(dict(saved), variable=variable, lang=lang), "png", dpi=SHOWN_DPI))


def main() -> None:
    """Draw the page: inputs on the left, the dashboard and the comparison on the right."""
    args = _args()
    st.set_page_config(page_title="scenarios", layout="wide")
    head, switch = st.columns([5, 1])
    lang = switch.radio("Ngôn ngữ / Language", list(LANGS), format_func=LANGS.get, key="lang", horizontal=True)
    T = TEXT[lang]
    head.title(T["title"])
    head.caption(T["intro"])
    inputs, results = st.columns([2, 3], gap="large")
    with inputs:
        config, what, label = _inputs(T, lang, args)
    with results:
        _run_controls(config, what, label, T)
        if "last_run" in st.session_state:
            _dashboard(st.session_state["last_run"], config, T, lang)
        _compare(T, lang)


def _inputs(T: dict[str, str], lang: str, args: argparse.Namespace):
    """Area, capacity and variant; returns the config on the page (``None`` when invalid), what-if, label."""
    base_path, changes, label, slots = _area(T, lang, args)
    if base_path is None:
        return None, None, label
    try:
        base = whatif.WhatIf(base_path).base_config()
    except ConfigError as e:
        st.error(T["base_invalid"] + "\n\n" + "\n".join(f"- `{line}`" for line in e.problems))
        if any(": extends" in line for line in e.problems):
            st.info(T["extends_hint"])
        return None, None, label
    prefix = hashlib.sha256(str(base_path).encode()).hexdigest()[:8]

    st.subheader(T["step_capacity"])
    for f in fields.SECTIONS["capacity"]:
        _field(f.key, base, T, lang, prefix, changes, slots)
    _surge(base, T, prefix, changes, slots)
    st.subheader(T["step_variant"])
    shown = [f for f in fields.SECTIONS["variant"] if base.variants.new is not None]
    for f in [*shown, *fields.SECTIONS["scenario"]]:
        _field(f.key, base, T, lang, prefix, changes, slots)

    what = whatif.WhatIf(base_path, changes)
    config, problems = None, []
    try:
        config = what.config()
    except ConfigError as e:
        problems = e.problems
    by_key, rest = whatif.errors_by_key(problems, list(slots))
    for key, lines in by_key.items():
        slots[key].error("\n\n".join(lines))
    if problems:
        st.session_state["problems"] = rest
    else:
        st.session_state.pop("problems", None)
    return config, what, label


def _run_controls(config, what, label: str, T: dict[str, str]) -> None:
    """Engine, replicates, seed and the Run button (disabled while any value is invalid)."""
    st.subheader(T["step_run"])
    engine = st.radio(
        T["engine"], ["seir", "abm"], format_func=lambda e: T[f"engine_{e}"], key="engine", horizontal=True
    )
    c1, c2, c3 = st.columns(3)
    replicates = int(c1.number_input(T["replicates"], 1, 100, 1, key="replicates"))
    seed = int(c2.number_input(T["seed"], 0, 2**31 - 1, 0, key="seed"))
    c3.space("small")
    pressed = c3.button(T["run"], type="primary", key="run", disabled=config is None, width="stretch")
    if "problems" in st.session_state:
        rest = st.session_state["problems"]
        st.error(T["fix_first"])
        if rest:
            st.error(T["other_problems"] + "\n\n" + "\n".join(f"- `{line}`" for line in rest))
    if pressed and config is not None:
        try:
            ds = _execute(config, engine, replicates, seed, T)
        except Exception as e:  # a model failure is shown, not a blank page
            st.error(f"{T['error']}: {e}")
        else:
            st.session_state["last_run"] = {
                "ds": ds,
                "config": config,
                "label": label,
                "toml": whatif.to_toml(config, what),
            }


if __name__ == "__main__":  # Streamlit runs this file as __main__; importing it draws nothing
    main()
