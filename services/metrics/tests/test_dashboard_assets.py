"""The dashboard's static files, without a browser: everything the page loads is served from
the package (nothing from another origin, so it works offline), both message tables of
``i18n.js`` hold the same keys, and every shipped indicator has a Chinese title."""

from __future__ import annotations

import re
from importlib import resources

from metrics.api.dashboard import ASSETS
from metrics.domain.catalogue import default_catalogue_dir, read_indicator_file


def static(name: str) -> str:
    return (resources.files("metrics") / "static" / name).read_text(encoding="utf-8")


def test_every_loaded_file_is_a_served_asset() -> None:
    html = static("dashboard.html")
    loaded = set(re.findall(r'(?:src|href)="/dashboard/assets/([^"]+)"', html))
    for script in [name for name in ASSETS if name.endswith(".js")]:
        loaded |= set(re.findall(r'from "\./([^"]+)"', static(script)))
    assert loaded
    assert loaded <= set(ASSETS), loaded - set(ASSETS)
    for name in ASSETS:
        static(name)  # shipped in the package


def test_nothing_is_fetched_from_another_origin() -> None:
    for name in ["dashboard.html", *ASSETS]:
        text = static(name)
        external = re.findall(r"(?:src|href|url\(|import)\s*=?\s*[\"']?(?:https?:)?//", text)
        assert external == [], f"{name} loads from another origin"


def _keys(table: str) -> set[str]:
    return set(re.findall(r"^    ([a-zA-Z_]+):", table, flags=re.MULTILINE))


def test_both_languages_have_every_message() -> None:
    source = static("i18n.js")
    chinese = source[source.index('"zh-CN": {') : source.index("\n  en: {")]
    english = source[source.index("\n  en: {") : source.index("\n};")]
    assert len(_keys(chinese)) > 50
    assert _keys(chinese) == _keys(english)
    assert re.search(r"[\u4e00-\u9fff]", chinese)


def test_every_shipped_indicator_has_a_chinese_title_and_unit() -> None:
    definitions = read_indicator_file(default_catalogue_dir() / "indicators.yaml")
    untitled = [d.id for d in definitions if not d.name_zh]
    assert untitled == [], "give these a name_zh (the dashboard opens in Chinese)"
    unitless = [d.id for d in definitions if d.unit not in {"", "percent"} and not d.unit_zh]
    assert unitless == [], "give these a unit_zh"
