"""telegram_json writes exactly what json.dumps makes of Telegram.to_dict()."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.emucs.protocol import decode_telegram
from custom_components.emucs.protocol.p1_json import telegram_json
from tests.telegrams import build_telegram, load_template, template_names

# Every kind of object: unknown lines, invalid values, deactivated thresholds,
# text that JSON must escape, non-ASCII bytes, an empty history, no M-Bus reading.
ODD_LINES = (
    b'0-0:96.13.0(He said "hi" \\ \x01\x1f tab\there)\r\n'
    b"0-0:96.1.2(caf\xe9 \xb2\x7f)\r\n"
    b"1-0:1.8.1(abc*kWh)\r\n"
    b"1-0:2.8.1(" + b"9" * 400 + b"*kWh)\r\n"
    b"0-0:17.0.0(99.999*kW)\r\n"
    b"1-0:31.4.0(999.99*A)\r\n"
    b"0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)\r\n"
    b"1-0:99.99.9(x)(y)\r\n"
    b"not an object line\r\n"
    b"0-1:24.1.0(003)\r\n"
    b"0-1:24.2.3(632525252525W)(00000.000)\r\n"
    b"0-2:24.1.0(999)\r\n"
)


def _telegrams() -> list[bytes]:
    raws = [build_telegram(load_template(name)) for name in template_names("")]
    raws.append(build_telegram(b"/FLU5\\253769484_A\r\n\r\n" + ODD_LINES + b"!"))
    return raws


@pytest.mark.parametrize("raw", _telegrams())
def test_same_text_as_json_dumps(raw: bytes) -> None:
    """Same text, key order and separators as the dict through json.dumps, twice."""
    for _ in range(2):  # the second time from the decoder's and the writer's caches
        telegram = decode_telegram(raw)
        text = telegram_json(telegram)
        assert text == json.dumps(telegram.to_dict(), ensure_ascii=False)
        json.loads(text, parse_constant=pytest.fail)  # strict: no NaN or Infinity


def test_infinite_number_is_invalid() -> None:
    """309 digits overflow a float: the object is invalid, not Infinity."""
    raw = build_telegram(b"/FLU5\\253769484_A\r\n\r\n" + ODD_LINES + b"!")
    obj = decode_telegram(raw).objects["1-0:2.8.1"]
    assert obj.value is None
    assert obj.error is not None and obj.error.startswith("number out of range")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60).filter(lambda b: b"!" not in b))
def test_any_text_message(message: bytes) -> None:
    """Whatever bytes a text object holds, the JSON text matches json.dumps."""
    line = b"0-0:96.13.0(" + message.replace(b"(", b"").replace(b")", b"") + b")"
    raw = build_telegram(b"/FLU5\\253769484_A\r\n\r\n" + line + b"\r\n!")
    telegram = decode_telegram(raw)
    assert telegram_json(telegram) == json.dumps(telegram.to_dict(), ensure_ascii=False)
