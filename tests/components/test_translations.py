"""Every translation matches en.json: same keys, placeholders and references.

en.json is the source. Each other ``translations/<lang>.json`` must have exactly
its key tree, in the same order, every string translated, with the same
``{placeholders}``. A key added to en.json makes these tests fail until every
language has it. All files, en.json included, also follow the value rules that
hassfest applies to translation strings (script/hassfest/translations.py in
home-assistant/core: ``validate_translation_value``), which Home Assistant
itself only checks on en.json for custom integrations.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
import string
from typing import Any

import pytest

TRANSLATIONS = (
    Path(__file__).parents[2] / "custom_components" / "emucs" / "translations"
)
SOURCE = "en"
LANGUAGES = sorted(
    path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != SOURCE
)
SHIPPED = {"nl", "fr", "de"}
"""Languages the integration promises (DESIGN.md §4): deleting one must fail."""

ALLOWED_SAME_AS_ENGLISH: dict[str, frozenset[str]] = {
    # Words spelled the same as in English. "Gas", "Water" and "Volume" are the
    # Dutch words; "Host" is what HA's own Dutch strings call a network host.
    "nl": frozenset({"Gas", "Water", "Volume", "Host"}),
    # "Volume" is the French word; "Port" is HA's own French for a network port.
    "fr": frozenset({"Volume", "Port"}),
    # "Gas" is the German word; "Host" and "Port" are HA's own German strings.
    "de": frozenset({"Gas", "Host", "Port"}),
}
"""Values that may equal English: the word is the same in that language."""

RE_REFERENCE = re.compile(r"^\[%key:[a-z0-9_:]+%\]$")
"""A whole value that points at another HA string, e.g. a common one."""

# The value rules of hassfest's validate_translation_value.
RE_HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)
RE_ENTITY_STATE = re.compile(r"^entity/[^/]+/[^/]+/state/[^/]+$")
"""Entity state values: hassfest forbids placeholders in them."""

RE_WORD = re.compile(r"[^\W\d_]{3,}")
"""A word of three letters or more: a value without one (``3x230 V``) is technical."""

TARIFF_LABELS: dict[str, re.Pattern[str]] = {
    # The meter's tariffs are numbers (DESIGN.md §2): never high/low, day/night.
    "en": re.compile(r"\b(high|low|peak|off-peak|day|night) tariff\b", re.IGNORECASE),
    "nl": re.compile(r"\b(hoog|laag|piek|dal|dag|nacht)[\s-]?tarief\b", re.IGNORECASE),
    "fr": re.compile(
        r"\b(heures? (pleines|creuses)|tarif (haut|bas|jour|nuit))\b", re.IGNORECASE
    ),
    "de": re.compile(r"\b(hoch|nieder|tag|nacht|HT|NT)[\s-]?tarif\b", re.IGNORECASE),
}


def _load(language: str) -> dict[str, Any]:
    return json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))


def _leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``("config/step/user/title", value)`` for every leaf, in file order."""
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, f"{path}/")
        else:
            yield path, value


def _strings(language: str) -> dict[str, str]:
    """Flat ``path -> string`` view of one translation file (ordered)."""
    return dict(_leaves(_load(language)))


def _placeholders(value: str) -> set[str]:
    """Names of the ``{placeholders}`` in a string (raises on unbalanced braces)."""
    return {
        field for _, field, _, _ in string.Formatter().parse(value) if field is not None
    }


def _is_technical(value: str) -> bool:
    """Tell whether a value has nothing to translate: placeholders, numbers, units."""
    return RE_WORD.search(re.sub(r"{\w*}", "", value)) is None


ENGLISH = _strings(SOURCE)


def test_shipped_languages_present() -> None:
    """The promised languages all exist; a missing file is not silently skipped."""
    assert set(LANGUAGES) >= SHIPPED
    assert set(ALLOWED_SAME_AS_ENGLISH) <= set(LANGUAGES)


@pytest.mark.parametrize("language", [SOURCE, *LANGUAGES])
def test_file_format(language: str) -> None:
    r"""UTF-8 JSON, 2-space indentation, no ``\u`` escapes, trailing newline."""
    text = (TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8")
    expected = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert text == expected


@pytest.mark.parametrize("language", [SOURCE, *LANGUAGES])
def test_hassfest_value_rules(language: str) -> None:
    """Every value is a non-empty string that hassfest would accept."""
    problems: list[str] = []
    for path, value in _leaves(_load(language)):
        if not isinstance(value, str):
            problems.append(f"{path}: not a string: {value!r}")
            continue
        if not value.strip():
            problems.append(f"{path}: empty")
        if value != value.strip():
            problems.append(f"{path}: leading or trailing whitespace")
        if RE_HTML.search(value):
            problems.append(f"{path}: HTML")
        if RE_COMBINED_REFERENCE.search(value):
            problems.append(f"{path}: reference combined with text")
        if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(value):
            problems.append(f"{path}: placeholder in single quotes")
        if RE_URL.search(value):
            problems.append(f"{path}: URL (use a description placeholder)")
        try:
            names = _placeholders(value)
        except ValueError as err:
            problems.append(f"{path}: bad braces: {err}")
            continue
        if bad := sorted(name for name in names if not name.isidentifier()):
            problems.append(f"{path}: placeholder names not identifiers: {bad}")
        if names and RE_ENTITY_STATE.match(path):
            problems.append(f"{path}: placeholders in an entity state")
        if (labels := TARIFF_LABELS.get(language)) and labels.search(value):
            problems.append(f"{path}: tariff labelled high/low or day/night")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_in_same_order(language: str) -> None:
    """Exactly en.json's key paths: none missing, none extra, same order."""
    translated = _strings(language)
    missing = [path for path in ENGLISH if path not in translated]
    extra = [path for path in translated if path not in ENGLISH]
    assert not missing, f"not translated into {language}: {missing}"
    assert not extra, f"not in en.json: {extra}"
    assert list(translated) == list(ENGLISH), "keys are not in en.json's order"


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_placeholders(language: str) -> None:
    """Each string has the placeholders of its English string, no more, no fewer."""
    translated = _strings(language)
    problems = [
        f"{path}: {sorted(_placeholders(translated[path]))} != {sorted(_placeholders(english))}"
        for path, english in ENGLISH.items()
        if path in translated
        and _placeholders(translated[path]) != _placeholders(english)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_references_kept(language: str) -> None:
    """``[%key:...%]`` references are copied, never translated or invented."""
    translated = _strings(language)
    problems = [
        f"{path}: {translated[path]!r} != {english!r}"
        for path, english in ENGLISH.items()
        if path in translated
        and (RE_REFERENCE.match(english) or RE_REFERENCE.match(translated[path]))
        and translated[path] != english
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_everything_translated(language: str) -> None:
    """No value is left in English, except references, technical values and loanwords."""
    translated = _strings(language)
    allowed = ALLOWED_SAME_AS_ENGLISH.get(language, frozenset())
    untranslated = [
        path
        for path, english in ENGLISH.items()
        if translated.get(path) == english
        and not RE_REFERENCE.match(english)
        and not _is_technical(english)
        and english not in allowed
    ]
    assert not untranslated, f"still English in {language}.json: {untranslated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_allowlist_is_used(language: str) -> None:
    """Every allowed loanword is an English value the language really keeps."""
    translated = _strings(language)
    kept = {
        english for path, english in ENGLISH.items() if translated.get(path) == english
    }
    assert ALLOWED_SAME_AS_ENGLISH.get(language, frozenset()) <= kept
