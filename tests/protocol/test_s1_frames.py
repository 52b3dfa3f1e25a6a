"""S1 frame fields and framing rules on hand-built frames, for both decoders.

Every framing test runs against the reference ``S1Framer`` and the numpy
``S1BatchDecoder`` through the same small adapter, so the rules are pinned once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.emucs.protocol.crc import crc16_x25, pure_crc16_x25
from custom_components.emucs.protocol.s1 import S1Frame, S1Framer, S1Stats, decode_frame
from custom_components.emucs.protocol.s1_batch import S1Batch, S1BatchDecoder
from tests.s1_frames import fcs, frame, frame_body, stream


class Adapter:
    """One interface over both decoders: feed bytes, get frames."""

    def __init__(self, kind: str) -> None:
        """Wrap a new decoder of ``kind`` (``reference`` or ``batch``)."""
        self.kind = kind
        self.decoder: S1Framer | S1BatchDecoder = (
            S1Framer() if kind == "reference" else S1BatchDecoder()
        )

    def feed(self, data: bytes) -> list[S1Frame]:
        """Feed bytes, return frames."""
        result = self.decoder.feed(data)
        return result.to_frames() if isinstance(result, S1Batch) else result

    @property
    def stats(self) -> S1Stats:
        """Return the decoder's counters."""
        return self.decoder.stats

    @property
    def buffered(self) -> int:
        """Return the bytes held back."""
        return self.decoder.buffered


@pytest.fixture(params=["reference", "batch"])
def decoder(request: pytest.FixtureRequest) -> Adapter:
    """Each test runs against both decoders."""
    return Adapter(request.param)


Feed = Callable[[bytes], list[S1Frame]]


def test_fcs_check_value() -> None:
    """CRC-16/X-25 (HDLC FCS-16) check value, fast and pure implementations."""
    assert crc16_x25(b"123456789") == 0x906E
    assert pure_crc16_x25(b"123456789") == 0x906E


def test_fields_of_a_hand_built_frame() -> None:
    """Every field at its spec position, scaled to SI units."""
    raw = frame(
        info=0b0001_1101,  # polyphase, per second, 4-wire, valid, neutral, version 0
        sampling=40,
        mhz=50_012,
        sequence=200,
        volts=(9200, -9200, 0x7E7E),  # 230 V, -230 V, 0x7E in both bytes
        amps=(1234, -1, 0x7E7E7E, -8_388_608),
    )
    assert raw[0] == raw[44] == 0x7E
    assert raw[1:5] == bytes((0x08, 0x2B, 0xFF, 0x03))
    f = decode_frame(raw)
    assert f == S1Frame(
        frame_type=0x08,
        meter_id="1SAG1100000292",
        info=0x1D,
        polyphase=True,
        per_period=False,
        four_wire=True,
        all_samples_valid=True,
        neutral_measured=True,
        format_version=0,
        sampling=40,
        frequency_hz=50.012,
        sequence=200,
        v1=230.0,
        i1=1.234,
        v2=-230.0,
        i2=-0.001,
        v3=0x7E7E * 0.025,
        i3=0x7E7E7E * 0.001,
        i_n=-8388.608,
    )
    assert f.sample_rate_hz == 4000.0


def test_info_bits_and_per_period_sampling() -> None:
    """Single-phase, per-period, invalid samples, format version in bits 5-7."""
    f = decode_frame(frame(info=0b1010_0010, sampling=64, mhz=49_950))
    assert (f.polyphase, f.per_period, f.four_wire) == (False, True, False)
    assert (f.all_samples_valid, f.neutral_measured, f.format_version) == (
        False,
        False,
        5,
    )
    assert f.sample_rate_hz == pytest.approx(64 * 49.95)


def test_extreme_values() -> None:
    """int16 and int24 limits, big-endian two's complement."""
    f = decode_frame(
        frame(volts=(32767, -32768, -1), amps=(8_388_607, -8_388_608, -1, 1))
    )
    assert (f.v1, f.v2, f.v3) == (32767 * 0.025, -32768 * 0.025, -0.025)
    assert (f.i1, f.i2, f.i3, f.i_n) == (8388.607, -8388.608, -0.001, 0.001)


def test_decoders_read_the_fields_alike(decoder: Adapter) -> None:
    """Both decoders give the reference field decoding, bit for bit."""
    raws = [
        frame(sequence=s, volts=(s * 97 - 9000, -s, 0x7E00), amps=(-s * 1001, s, 0, -7))
        for s in range(10)
    ]
    frames = decoder.feed(stream(raws, shared=False))
    assert frames == [decode_frame(r) for r in raws]


@pytest.mark.parametrize("shared", [False, True])
def test_shared_and_separate_flags(decoder: Adapter, shared: bool) -> None:
    """44-byte stride (shared flags) and 45-byte stride both decode every frame."""
    raws = [frame(sequence=s) for s in range(20)]
    frames = decoder.feed(stream(raws, shared=shared))
    assert [f.sequence for f in frames] == list(range(20))
    assert decoder.stats.discarded_bytes == 0
    assert decoder.stats.fcs_errors == decoder.stats.missed_frames == 0


def test_mixed_strides_byte_by_byte(decoder: Adapter) -> None:
    """Shared and separate flags mixed, fed one byte at a time."""
    raws = [frame(sequence=s, volts=(0x7E7E, 0x7E2B, -253)) for s in range(6)]
    data = raws[0] + raws[1][1:] + raws[2] + raws[3] + raws[4][1:] + raws[5][1:]
    frames: list[S1Frame] = []
    for byte in data:
        frames += decoder.feed(bytes([byte]))
        assert decoder.buffered <= 44
    assert [f.sequence for f in frames] == list(range(6))
    assert decoder.stats.discarded_bytes == 0


def test_flag_bytes_inside_data_never_split(decoder: Adapter) -> None:
    """0x7E and even a whole fake header inside the data do not cut a frame."""
    raw = frame(
        meter_id=b"\x7e\x08\x2b\xff\x03\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e",
        sequence=0x7E,
        mhz=0x7E7E,
        volts=(0x7E08, 0x2BFF, 0x037E),
        amps=(0x7E7E7E, 0x7E7E7E, 0x7E7E7E, 0x7E7E7E),
    )
    frames = decoder.feed(raw + frame(sequence=0x7F)[1:])
    assert [f.sequence for f in frames] == [0x7E, 0x7F]
    assert frames[0].meter_id.startswith("~\x08+")
    assert decoder.stats.fcs_errors == 0


def test_any_type_byte_is_accepted_and_reported(decoder: Adapter) -> None:
    """The ESP32 simulator's 0x80 (and any other type) passes when the rest verifies."""
    data = (
        frame(sequence=1)
        + frame(sequence=2, frame_type=0x80)
        + frame(sequence=3, frame_type=0x80)
    )
    frames = decoder.feed(data)
    assert [f.frame_type for f in frames] == [0x08, 0x80, 0x80]
    assert decoder.stats.frame_types == {0x08: 1, 0x80: 2}


def test_fcs_error_counts_and_resyncs(decoder: Adapter) -> None:
    """A damaged frame is one FCS error and one missed frame; the next one decodes."""
    bad = bytearray(frame(sequence=1))
    bad[30] ^= 0x10
    data = frame(sequence=0) + bytes(bad) + frame(sequence=2)
    frames = decoder.feed(data)
    assert [f.sequence for f in frames] == [0, 2]
    stats = decoder.stats
    assert (stats.fcs_errors, stats.missed_frames) == (1, 1)
    assert stats.discarded_bytes == 45


def test_fcs_error_between_shared_flags(decoder: Adapter) -> None:
    """With shared flags a damaged frame only loses its 43 inner bytes."""
    raws = [frame(sequence=s) for s in range(3)]
    bad = bytearray(raws[1])
    bad[42] ^= 0x01  # the FCS itself
    frames = decoder.feed(stream([raws[0], bytes(bad), raws[2]], shared=True))
    assert [f.sequence for f in frames] == [0, 2]
    assert decoder.stats.fcs_errors == 1
    assert decoder.stats.discarded_bytes == 43


@pytest.mark.parametrize(
    ("offset", "value"), [(2, 0x2C), (3, 0xFE), (4, 0x13), (44, 0x7F)]
)
def test_wrong_header_is_not_an_fcs_error(
    decoder: Adapter, offset: int, value: int
) -> None:
    """Length, address, control or closing flag wrong: no candidate, just noise."""
    bad = bytearray(frame(sequence=1))
    bad[offset] = value
    frames = decoder.feed(frame(sequence=0) + bytes(bad) + frame(sequence=2))
    assert [f.sequence for f in frames] == [0, 2]
    assert decoder.stats.fcs_errors == 0
    assert decoder.stats.missed_frames == 1


def test_garbage_is_discarded_and_counted(decoder: Adapter) -> None:
    """Noise before, between and inside (as a partial frame) is counted to the byte."""
    partial = frame(sequence=9)[:30]
    data = (
        b"\x00\x7e\x7e\x01"
        + frame(sequence=0)
        + partial
        + b"\x7e" * 5
        + frame(sequence=1)
    )
    frames = decoder.feed(data)
    assert [f.sequence for f in frames] == [0, 1]
    assert decoder.stats.discarded_bytes == 4 + 30 + 5
    assert decoder.buffered == 1  # the last closing flag waits: it may open a frame


def test_valid_frame_inside_an_accepted_frame_is_skipped(decoder: Adapter) -> None:
    """The scan jumps over an accepted frame, even if a valid frame starts inside it.

    Frame B starts at byte 10 of frame A: B's first 32 bytes are A's data, B's next
    two bytes are A's FCS and B's byte 34 is A's closing flag. Both verify; only A
    is taken. With A damaged, the scan walks into A and takes B instead.
    """
    b_head = b"\x7e" + frame_body(sequence=77)[:31]
    a_body = bytearray(frame_body())
    a_body[9:41] = b_head  # frame offsets 10..41
    a = b"\x7e" + bytes(a_body) + fcs(bytes(a_body)) + b"\x7e"
    b_body = a[11:44] + b"\x7e" + bytes(7)
    b = b"\x7e" + b_body + fcs(b_body) + b"\x7e"
    assert a[10:45] == b[:35]
    tail = b[35:]
    frames = decoder.feed(a + tail)
    assert frames == [decode_frame(a)]

    damaged = bytearray(a)
    damaged[5] ^= 0x01  # first meter-id byte: A fails, B is untouched
    other = Adapter(decoder.kind)
    frames = other.feed(bytes(damaged) + tail)
    assert len(frames) == 1
    assert frames[0] == decode_frame(b)
    assert other.stats.fcs_errors == 1


def test_fake_header_inside_an_accepted_frame_is_not_an_fcs_error(
    decoder: Adapter,
) -> None:
    """The inside of an accepted frame is never scanned.

    A fake candidate there (header in the data, a flag 44 bytes on in the next
    frame) counts for nothing.
    """
    nested = frame(meter_id=b"12\x7e\x08\x2b\xff\x03" + b"7" * 7)  # header at offset 7
    follower = frame(sequence=1, meter_id=b"1~SAG110000029")  # its byte 6 (+44) is 0x7E
    assert (nested + follower)[7 + 44] == 0x7E
    frames = decoder.feed(nested + follower)
    assert [f.sequence for f in frames] == [0, 1]
    assert decoder.stats.fcs_errors == 0
    assert decoder.stats.discarded_bytes == 0


def test_sequence_wrap_and_gaps(decoder: Adapter) -> None:
    """Gaps are counted modulo 256; 255 -> 0 is no gap."""
    seqs = [250, 251, 255, 0, 1, 5, 5]
    frames = decoder.feed(b"".join(frame(sequence=s) for s in seqs))
    assert [f.sequence for f in frames] == seqs
    # 251->255: 3, 1->5: 3, 5->5: a full turn of 255 (the counter cannot tell).
    assert decoder.stats.missed_frames == 3 + 3 + 255


def test_invalid_sample_flags_counted(decoder: Adapter) -> None:
    """Frames with "one or more samples corrupt" are decoded and counted."""
    data = frame(sequence=0) + frame(sequence=1, info=0b0001_0101) + frame(sequence=2)
    frames = decoder.feed(data)
    assert [f.all_samples_valid for f in frames] == [True, False, True]
    assert decoder.stats.invalid_sample_frames == 1


def test_endless_noise_is_bounded(decoder: Adapter) -> None:
    """Megabytes of flags and header fragments: no frame, no exception, small buffer."""
    noise = (b"\x7e\x08\x2b\xff\x03" + bytes(range(40))) * 2000 + b"\x7e" * 50_000
    total = 0
    for start in range(0, len(noise), 7777):
        assert decoder.feed(noise[start : start + 7777]) == []
        assert decoder.buffered <= 44
        total += len(noise[start : start + 7777])
    stats = decoder.stats
    assert stats.frames == 0
    assert stats.fcs_errors == 0  # byte 44 after each fragment is not a flag
    assert stats.discarded_bytes + decoder.buffered == total


def test_fake_candidates_count_as_fcs_errors(decoder: Adapter) -> None:
    """A header and a flag 44 bytes on, with a wrong FCS, is an FCS error."""
    fake = b"\x7e\x08\x2b\xff\x03" + bytes(39) + b"\x7e"
    frames = decoder.feed(fake + frame(sequence=3))
    assert [f.sequence for f in frames] == [3]
    assert decoder.stats.fcs_errors == 1
    assert decoder.stats.discarded_bytes == 45


def test_empty_and_tiny_input(decoder: Adapter) -> None:
    """Nothing and a lone flag are fine."""
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\x7e") == []
    assert decoder.buffered == 1
    assert decoder.stats.discarded_bytes == 0


def test_reset_drops_the_partial_frame_and_the_counter(decoder: Adapter) -> None:
    """After reset a half frame is forgotten and no gap is counted across it."""
    raw = frame(sequence=10)
    decoder.feed(frame(sequence=3) + raw[:20])
    decoder.decoder.reset()
    assert decoder.buffered == 0
    frames = decoder.feed(raw)
    assert [f.sequence for f in frames] == [10]
    assert decoder.stats.missed_frames == 0


def test_huge_chunk_in_slices() -> None:
    """A chunk larger than the slice size decodes the same in both decoders."""
    raws = [frame(sequence=s & 0xFF, volts=(s, -s, s)) for s in range(30_000)]
    data = stream(raws, shared=True)
    assert len(data) > 1 << 20
    ref = S1Framer()
    batch = S1BatchDecoder()
    got = batch.feed(data)
    assert len(got) == 30_000
    assert got.sample_index[-1] == 29_999
    assert got.to_frames() == ref.feed(data)
    assert batch.stats == ref.stats


def test_batch_columns() -> None:
    """Columns, sample index by sequence number and per-frame FCS attribution."""
    bad = bytearray(frame(sequence=2))
    bad[20] ^= 0x04
    data = (
        frame(sequence=0)
        + bytes(bad)
        + frame(sequence=3)
        + frame(sequence=4, info=0x15)
    )
    dec = S1BatchDecoder()
    batch = dec.feed(data[:100])
    assert len(batch) == 1
    assert batch.fcs_errors == 1  # found now, charged to the next frame
    batch = dec.feed(data[100:])
    assert batch.sample_index.tolist() == [3, 4]
    assert batch.gap.tolist() == [2, 0]
    assert batch.fcs_before.tolist() == [1, 0]
    assert batch.valid.tolist() == [True, False]
    assert batch.v.shape == batch.i.shape == (3, 2)
    assert batch.sample_rate_hz.tolist() == [4000.0, 4000.0]
    assert batch.meter_id_at(0) == "1SAG1100000292"
    joined = S1Batch.concat([S1Batch.from_frames(batch.to_frames(), next_index=3)])
    assert joined.to_frames() == batch.to_frames()
    assert joined.sample_index.tolist() == [3, 4]


def test_stats_as_dict() -> None:
    """Plain-dict counters with readable type bytes."""
    dec = S1Framer()
    dec.feed(frame(frame_type=0x80) + frame(sequence=1))
    assert dec.stats.as_dict() == {
        "frames": 2,
        "fcs_errors": 0,
        "missed_frames": 0,
        "discarded_bytes": 0,
        "invalid_sample_frames": 0,
        "frame_types": {"0x08": 1, "0x80": 1},
    }
