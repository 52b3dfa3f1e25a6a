"""P1Framer and the CRCs: chunking, garbage, damaged telegrams, bounds and counters."""

from __future__ import annotations

from collections.abc import Iterable
import random
import sys
from types import FrameType

import pytest

from custom_components.emucs.protocol import (
    MAX_TELEGRAM_SIZE,
    P1Framer,
    P1Stream,
    RejectReason,
    p1_framer,
)
from custom_components.emucs.protocol.crc import (
    crc16_arc,
    crc16_x25,
    pure_crc16_arc,
    pure_crc16_x25,
)
from tests.telegrams import build_telegram, load_template

E21 = build_telegram(load_template("spec_e21_3phase.txt"))
V171 = build_telegram(load_template("spec_171_1phase.txt"))
HISTORY = build_telegram(load_template("quirk_history_13.txt"))
RELAYS = build_telegram(load_template("quirk_relays_e21.txt"))


def _tiny(n: int, pad: int = 0) -> bytes:
    """Build a small valid telegram, distinct per ``n``, ``pad`` extra bytes long."""
    message = "30" * (pad // 2) + "3" * (pad % 2)
    return build_telegram(
        f"/ABC5\\TINY{n}\n\n1-0:1.8.1({n:06d}.000*kWh)\n0-0:96.13.0({message})\n!"
    )


def _tiny_of_length(n: int, length: int) -> bytes:
    """Build a valid telegram of ``length`` bytes from '/' to the CRC digits."""
    return next(t for pad in range(length) if len(t := _tiny(n, pad)) - 2 == length)


def _feed(framer: P1Framer, data: bytes, size: int) -> list[bytes]:
    """Feed ``data`` in chunks of ``size`` bytes; return everything emitted."""
    out: list[bytes] = []
    for i in range(0, len(data), size):
        out += framer.feed(data[i : i + size])
    return out


def _frames(*telegrams: bytes) -> list[bytes]:
    """Return what the framer emits for built telegrams (without the CRLF)."""
    return [t[:-2] for t in telegrams]


# --- CRCs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crc", "check"),
    [
        (crc16_arc, 0xBB3D),
        (pure_crc16_arc, 0xBB3D),
        (crc16_x25, 0x906E),
        (pure_crc16_x25, 0x906E),
    ],
)
def test_crc_check_values(crc: object, check: int) -> None:
    """The catalogue check values over ASCII '123456789', for every input type."""
    assert callable(crc)
    data = b"123456789"
    assert crc(data) == check
    assert crc(bytearray(data)) == check
    assert crc(memoryview(data)) == check
    assert crc(memoryview(b"x" + data)[1:]) == check  # odd offset
    assert crc(b"") == 0


def test_fast_crc_is_in_use() -> None:
    """With fastcrc installed, the accelerated CRCs are the ones exported."""
    pytest.importorskip("fastcrc")
    assert crc16_arc is not pure_crc16_arc
    assert crc16_x25 is not pure_crc16_x25


def test_pure_crc_equals_fast_crc() -> None:
    """Pure Python and fastcrc agree on random data of every length 0..300."""
    rng = random.Random(0x8005)
    for length in range(301):
        for _ in range(3):
            data = rng.randbytes(length)
            assert pure_crc16_arc(data) == crc16_arc(data), length
            assert pure_crc16_x25(data) == crc16_x25(data), length
            view = memoryview(b"\x00" + data)[1:]
            assert pure_crc16_arc(view) == crc16_arc(data), length
            assert pure_crc16_x25(view) == crc16_x25(data), length
    for data in (b"\x00" * 300, b"\xff" * 301, E21, HISTORY):
        assert pure_crc16_arc(data) == crc16_arc(data)
        assert pure_crc16_x25(data) == crc16_x25(data)


def test_crc_of_a_telegram_covers_slash_to_bang() -> None:
    """The CRC field is the CRC-16/ARC of '/' ... '!' inclusive."""
    bang = E21.rindex(b"!")
    assert int(E21[bang + 1 : bang + 5], 16) == crc16_arc(E21[: bang + 1])
    assert crc16_arc(E21[: bang + 1]) != crc16_arc(E21[:bang])


# --- chunking -----------------------------------------------------------------------


def test_every_chunk_size() -> None:
    """Chunks of every size from 1 byte to the whole stream give the same telegrams."""
    data = b"\r\n\x00!" + E21 + b"junk\xff" + HISTORY + V171[:40]
    expected = _frames(E21, HISTORY)
    for size in range(1, len(data) + 2):
        framer = P1Framer()
        assert _feed(framer, data, size) == expected, size
        assert framer.stats.telegrams == 2
        assert framer.stats.crc_errors == framer.stats.malformed == 0
        assert framer.buffered == 40


def test_random_chunks_and_input_types() -> None:
    """bytes, bytearray and memoryview chunks of random sizes."""
    rng = random.Random(1)
    data = E21 + V171 + HISTORY + RELAYS
    framer = P1Framer()
    out: list[bytes] = []
    pos = 0
    kinds = (bytes, bytearray, memoryview)
    while pos < len(data):
        size = rng.randint(0, 300)
        chunk = data[pos : pos + size]
        out += framer.feed(kinds[pos % 3](chunk))
        pos += size
    assert out == _frames(E21, V171, HISTORY, RELAYS)


def test_emitted_as_soon_as_the_last_crc_digit_arrives() -> None:
    """The CRLF after the CRC is not waited for."""
    framer = P1Framer()
    assert framer.feed(E21[:-3]) == []
    assert framer.feed(E21[-3:-2]) == [E21[:-2]]
    assert framer.buffered == 0
    assert framer.feed(b"\r\n") == []
    assert framer.stats.discarded_bytes == 2


def test_huge_chunk_with_many_telegrams() -> None:
    """One chunk larger than max_size is taken in slices; nothing is lost."""
    telegrams = [E21, V171, HISTORY, RELAYS] * 8
    data = b"".join(telegrams)
    assert len(data) > 2 * MAX_TELEGRAM_SIZE
    framer = P1Framer()
    assert framer.feed(data) == _frames(*telegrams)
    assert framer.stats.telegrams == 32
    assert framer.buffered == 0


# --- garbage and damage ---------------------------------------------------------------


def test_garbage_before_and_between() -> None:
    """Bytes outside telegrams are dropped and counted; the telegrams survive."""
    data = b"\x00\xffgarbage\r\n" + E21 + b"noise!!!1234" + V171
    for size in (1, 2, 13, len(data)):
        framer = P1Framer()
        assert _feed(framer, data, size) == _frames(E21, V171)
        assert framer.stats.discarded_bytes == 11 + 2 + 12 + 2
        assert framer.stats.malformed == framer.stats.crc_errors == 0


def test_truncated_telegram_then_valid() -> None:
    """A '/' before the '!' restarts there: the cut telegram costs nothing else."""
    data = E21[:500] + V171
    framer = P1Framer()
    assert _feed(framer, data, 7) == _frames(V171)
    (rejection,) = framer.pop_rejections()
    assert rejection.reason is RejectReason.TRUNCATED
    assert rejection.head == E21[:64]
    assert framer.stats.malformed == 1
    assert framer.stats.rejections == {"truncated": 1}
    assert framer.stats.discarded_bytes == 2


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_cut_inside_the_crc_digits(cut: int) -> None:
    """'!' then fewer than 4 digits then the next telegram: a bad CRC field."""
    data = E21[: -2 - cut] + V171
    framer = P1Framer()
    assert _feed(framer, data, 1) == _frames(V171)
    (rejection,) = framer.pop_rejections()
    assert rejection.reason is RejectReason.BAD_CRC_FIELD
    assert framer.stats.malformed == 1
    # Only the digits that did arrive are discarded; the next '/' starts anew.
    assert framer.stats.discarded_bytes == 4 - cut + 2


def test_bad_crc_counted_and_next_kept() -> None:
    """A CRC mismatch is counted, the following valid telegram is kept."""
    computed = pure_crc16_arc(E21[: E21.rindex(b"!") + 1])
    wrong = build_telegram(load_template("spec_e21_3phase.txt"), crc=computed ^ 0x0100)
    data = wrong + E21
    framer = P1Framer()
    assert _feed(framer, data, 64) == _frames(E21)
    assert framer.stats.crc_errors == 1
    assert framer.stats.malformed == 0
    assert framer.stats.telegrams == 1
    (rejection,) = framer.pop_rejections()
    assert rejection.reason is RejectReason.CRC_MISMATCH
    assert (
        rejection.detail == f"CRC {computed ^ 0x0100:04X} sent, {computed:04X} computed"
    )
    assert rejection.head == wrong[:64]


@pytest.mark.parametrize("field", ["12G4", "", "12 4", "!123", "\xff123"])
def test_bang_followed_by_non_hex(field: str) -> None:
    """'!' not followed by 4 hex digits is rejected; the next telegram is kept."""
    bad = build_telegram(load_template("spec_171_1phase.txt"), crc=field)
    framer = P1Framer()
    assert _feed(framer, bad + V171, 5) == _frames(V171)
    reasons = [r.reason for r in framer.pop_rejections()]
    assert reasons == [RejectReason.BAD_CRC_FIELD]
    assert framer.stats.malformed == 1
    assert framer.stats.crc_errors == 0


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_lowercase_crc_accepted(size: int) -> None:
    """Lower-case CRC hex digits are accepted and emitted as sent."""
    lower = build_telegram(load_template("quirk_lowercase_crc.txt"), lowercase_crc=True)
    assert lower.endswith(b"!50fd\r\n")
    framer = P1Framer()
    assert _feed(framer, lower + E21, size) == _frames(lower, E21)
    assert framer.stats.crc_errors == 0


def test_non_ascii_bytes() -> None:
    """Non-ASCII bytes inside a telegram and in the garbage around it are fine."""
    template = load_template("quirk_thresholds_set.txt").encode("ascii")
    odd = build_telegram(template.replace(b"(228.4*V)", b"(\xe9\x80\xff\x00*V)"))
    data = bytes(range(256)).replace(b"/", b"") + odd + b"\xfe\xff" + V171
    for size in (1, 100, len(data)):
        framer = P1Framer()
        assert _feed(framer, data, size) == _frames(odd, V171)
    # '!' is 0x21 and in the garbage: the leading garbage has no '/' so it is noise.
    assert framer.stats.malformed == 0
    assert framer.stats.discarded_bytes == 255 + 2 + 2 + 2


# --- bounds -------------------------------------------------------------------------


def test_oversize_candidate_dropped_and_buffer_bounded() -> None:
    """A '/' with no '!' for ever: dropped at max_size, buffer never above it."""
    data = b"/" + b"A" * 5000
    for size in (1, 100, 255, 256, 257, 4000):
        framer = P1Framer(max_size=256)
        for i in range(0, len(data), size):
            framer.feed(data[i : i + size])
            assert framer.buffered <= 256
        assert framer.stats.malformed == 1
        assert framer.stats.rejections == {"oversize": 1}
        tiny = _tiny(1)
        assert framer.feed(tiny) == _frames(tiny)
    (rejection,) = framer.pop_rejections()
    assert rejection.reason is RejectReason.OVERSIZE
    assert rejection.head == data[:64]


def test_default_max_size() -> None:
    """The default bound is 16 KiB and holds for a 40 KB candidate."""
    framer = P1Framer()
    assert framer.max_size == MAX_TELEGRAM_SIZE == 16 * 1024
    for _ in range(40):
        framer.feed(b"/" + b"x" * 999)
        assert framer.buffered <= MAX_TELEGRAM_SIZE
    # Each '/' truncated the previous candidate: none grew beyond 1000 bytes.
    assert framer.stats.rejections == {"truncated": 39}
    framer.feed(b"y" * 20000)
    assert framer.buffered <= MAX_TELEGRAM_SIZE
    assert framer.stats.rejections == {"truncated": 39, "oversize": 1}
    assert framer.feed(E21) == _frames(E21)


def test_telegram_size_limit_is_exact() -> None:
    """A telegram of max_size bytes passes; one byte more is rejected however fed."""
    exact = _tiny_of_length(7, 200)
    longer = _tiny_of_length(8, 201)
    for size in (1, 2, 5, 150, 199, 200, 201, 202, 1000):
        framer = P1Framer(max_size=200)
        assert _feed(framer, exact + longer + exact, size) == _frames(exact, exact)
        assert framer.stats.rejections == {"oversize": 1}, size
        assert framer.stats.telegrams == 2


def test_bang_late_in_a_big_chunk_keeps_the_bound() -> None:
    """A '!' beyond max_size: rejected at once, not buffered while digits are awaited.

    Regression: the size was only checked while no '!' had arrived, so a chunk that
    brought the '!' past max_size left more than max_size bytes buffered and a
    telegram longer than max_size could be emitted.
    """
    big = _tiny_of_length(9, 300)
    framer = P1Framer(max_size=256)
    assert framer.feed(big[:250]) == []
    assert framer.buffered == 250
    assert framer.feed(big[250:-4]) == []  # up to '!' and two CRC digits
    assert framer.buffered <= 256
    assert framer.feed(big[-4:]) == []
    assert framer.stats.rejections == {"oversize": 1}
    # In one chunk (taken in max_size slices) the same.
    framer = P1Framer(max_size=256)
    assert framer.feed(big + _tiny(1)) == _frames(_tiny(1))
    assert framer.buffered == 0
    assert framer.stats.rejections == {"oversize": 1}
    (rejection,) = framer.pop_rejections()
    assert rejection.detail == "telegram longer than 256 bytes"


def test_reset() -> None:
    """reset() drops a partial telegram; the rest of it is then noise."""
    framer = P1Framer()
    assert framer.feed(E21[:700]) == []
    assert framer.buffered == 700
    framer.reset()
    assert framer.buffered == 0
    assert framer.feed(E21[700:]) == []
    assert framer.feed(V171) == _frames(V171)
    assert framer.stats.telegrams == 1
    assert framer.stats.malformed == framer.stats.crc_errors == 0
    assert framer.stats.discarded_bytes == len(E21) - 700 + 2


# --- counters and rejections -------------------------------------------------------------


def _mixed() -> tuple[bytes, list[bytes]]:
    """Return a stream with one of each kind of damage, and its valid telegrams."""
    t3_bad = build_telegram(load_template("quirk_grid_3x230.txt"), crc=0x0000)
    t4_field = build_telegram(load_template("quirk_water_channel1.txt"), crc="12G4")
    data = b"junk" + E21 + HISTORY[:100] + t3_bad + b"xx" + t4_field + V171
    return data, _frames(E21, V171)


@pytest.mark.parametrize("size", [1, 2, 7, 64, 4096])
def test_stats_exact(size: int) -> None:
    """Every counter is exact and does not depend on how the bytes were chunked."""
    data, expected = _mixed()
    framer = P1Framer()
    assert _feed(framer, data, size) == expected
    assert framer.stats.as_dict() == {
        "telegrams": 2,
        "crc_errors": 1,
        "malformed": 2,
        # "junk", CRLF after E21, CRLF + "xx" after the bad CRC, "12G4" + CRLF after
        # the bad field, CRLF after V171.
        "discarded_bytes": 4 + 2 + 4 + 6 + 2,
        "rejections": {"truncated": 1, "crc_mismatch": 1, "bad_crc_field": 1},
    }


def test_pop_rejections_reasons() -> None:
    """Reasons in order of occurrence with the head of each candidate; popping forgets."""
    data, _ = _mixed()
    framer = P1Framer()
    framer.feed(data)
    assert len(framer.recent_rejections) == 3
    rejections = framer.pop_rejections()
    assert [r.reason for r in rejections] == [
        RejectReason.TRUNCATED,
        RejectReason.CRC_MISMATCH,
        RejectReason.BAD_CRC_FIELD,
    ]
    assert [r.head[:17] for r in rejections] == [b"/FLU5\\253769484_A"] * 2 + [
        b"/FLU5\\253770234_A"
    ]
    assert all(len(r.head) == 64 for r in rejections)
    assert rejections[1].detail.startswith("CRC 0000 sent, ")
    assert rejections[2].detail == "'!' followed by b'12G4'"
    assert framer.pop_rejections() == []
    assert framer.recent_rejections == ()


def test_rejections_keep_the_newest_32() -> None:
    """Only the newest 32 rejections are kept; the counters keep counting."""
    framer = P1Framer()
    for n in range(40):
        framer.feed(b"/%d\n!zzzz" % n)
    rejections = framer.pop_rejections()
    assert len(rejections) == 32
    assert rejections[0].head == b"/8\n!"
    assert rejections[-1].head == b"/39\n!"
    assert framer.stats.rejections == {"bad_crc_field": 40}


def test_stream_counts_undecodable() -> None:
    """A CRC-valid candidate that is not a telegram is counted as undecodable."""
    junk = build_telegram("/\n!")
    stream = P1Stream()
    telegrams = stream.feed(junk + V171 + junk)
    assert [t.raw for t in telegrams] == _frames(V171)
    assert stream.stats.telegrams == 1
    assert stream.stats.malformed == 2
    assert stream.stats.rejections == {"undecodable": 2}
    reasons = [r.reason for r in stream.pop_rejections()]
    assert reasons == [RejectReason.UNDECODABLE] * 2
    stream.feed(E21[:300])
    stream.reset()
    assert stream.framer.buffered == 0


def _all_emitted(chunks: Iterable[bytes]) -> list[bytes]:
    framer = P1Framer()
    return [t for chunk in chunks for t in framer.feed(chunk)]


def test_telegram_split_at_every_position() -> None:
    """Two chunks, split at every byte of a telegram."""
    data = V171 + E21
    for cut in range(len(data) + 1):
        assert _all_emitted([data[:cut], data[cut:]]) == _frames(V171, E21), cut


MEGABYTE = 1 << 20
CHUNK = 4096


def _framer_lines(data: bytes) -> tuple[int, P1Framer]:
    """Feed 1 MB in 4 KiB reads; return the Python lines the framer executed.

    Lines, not seconds: the work is counted, so the bound holds on any machine. Every
    find/rfind/count in the framer starts where the previous scan stopped, so what C
    scans is linear too; a quadratic rescan would show up as lines per chunk.
    """
    framer = P1Framer()
    executed = 0
    framer_file = p1_framer.__file__

    def count(frame: FrameType, event: str, arg: object) -> object:
        nonlocal executed
        executed += event == "line"
        return count

    def enter(frame: FrameType, event: str, arg: object) -> object:
        return count if frame.f_code.co_filename == framer_file else None

    sys.settrace(enter)
    try:
        for offset in range(0, len(data), CHUNK):
            framer.feed(data[offset : offset + CHUNK])
    finally:
        sys.settrace(None)
    return executed, framer


@pytest.mark.parametrize(
    "pattern",
    [b"/", b"!", b"\n", b"/!", b"/!0000", b"/\r\n", b"x"],
    ids=[
        "slash",
        "bang",
        "newline",
        "slash_bang",
        "slash_bang_digits",
        "slash_crlf",
        "x",
    ],
)
def test_flood_costs_a_few_lines_per_read(pattern: bytes) -> None:
    """1 MB of garbage that holds no candidate with a header line: bulk work only.

    A '/' flood used to build one rejection per byte and rescan the buffer for '!'
    each time (1.5 s of event loop per MB); a '!' in the identification line ends
    nothing, so '/!' floods are dropped the same way.
    """
    data = pattern * (MEGABYTE // len(pattern))
    executed, framer = _framer_lines(data)
    assert executed <= 64 * (MEGABYTE // CHUNK)
    assert framer.buffered <= framer.max_size
    assert framer.stats.telegrams == 0
    # Every '/' was a candidate and is counted, although one rejection is recorded
    # per run.
    assert framer.stats.malformed == data.count(b"/") - (1 if framer.buffered else 0)
    assert framer.feed(E21) == [E21[:-2]]


@pytest.mark.parametrize(
    "pattern",
    [b"/\n!0000", b"/\n!", b"/\r\n\r\n!12", E21[:-4] + b"0000\r\n", E21[:600]],
    ids=["crc_mismatch", "bad_crc_field", "short_crc", "bad_crc_telegrams", "cut"],
)
def test_dead_candidates_cost_constant_work_per_byte(pattern: bytes) -> None:
    """Candidates that each need their own verdict: O(1) Python lines per byte."""
    data = pattern * (MEGABYTE // len(pattern))
    executed, framer = _framer_lines(data)
    assert executed <= 16 * len(data)
    assert framer.buffered <= framer.max_size
    assert framer.stats.telegrams == 0
    assert framer.feed(E21) == [E21[:-2]]
