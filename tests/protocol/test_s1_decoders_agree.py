"""The reference framer and the numpy batch decoder agree on any stream and any split.

Streams are built from valid frames (0x7E-rich data, any type byte), damaged frames,
partial frames, header fragments and noise, with shared or separate flags; each
decoder gets its own random split of the bytes.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st
import numpy as np

from custom_components.emucs.protocol.s1 import S1Frame, S1Framer, decode_frame
from custom_components.emucs.protocol.s1_batch import S1BatchDecoder
from custom_components.emucs.protocol.s1_sim import Faults, S1Simulator, SimConfig
from tests.protocol.helpers import split
from tests.s1_frames import fcs

SPECIAL = [0x7E, 0x2B, 0xFF, 0x03, 0x08, 0x80, 0x00]
BYTE = st.one_of(st.sampled_from(SPECIAL), st.integers(0, 255))


@st.composite
def valid_frame(draw: st.DrawFn, byte: st.SearchStrategy[int] = BYTE) -> bytes:
    """Draw a frame with a valid FCS, any type byte and data from ``byte``."""
    frame_type = draw(st.one_of(st.sampled_from([0x08, 0x80]), st.integers(0, 255)))
    data = bytes(draw(st.lists(byte, min_size=37, max_size=37)))
    body = bytes((frame_type, 0x2B, 0xFF, 0x03)) + data
    return b"\x7e" + body + fcs(body) + b"\x7e"


@st.composite
def piece(draw: st.DrawFn) -> tuple[str, bytes]:
    """Draw one piece of a stream, frame or otherwise."""
    kind = draw(
        st.sampled_from(
            [
                "frame",
                "frame",
                "frame",
                "nested",
                "damaged",
                "partial",
                "header",
                "noise",
            ]
        )
    )
    if kind == "frame":
        return kind, draw(valid_frame())
    if kind == "nested":
        # A fake header inside the data: a candidate only a scan that entered the
        # frame would see (its flag at +44 falls in whatever follows).
        raw = bytearray(draw(valid_frame()))
        at = draw(st.integers(5, 37))
        raw[at : at + 5] = b"\x7e" + bytes((draw(BYTE), 0x2B, 0xFF, 0x03))
        raw[42:44] = fcs(bytes(raw[1:42]))
        return kind, bytes(raw)
    if kind == "damaged":
        raw = bytearray(draw(valid_frame()))
        raw[draw(st.integers(0, 44))] ^= 1 << draw(st.integers(0, 7))
        return kind, bytes(raw)
    if kind == "partial":
        raw = draw(valid_frame())
        return kind, raw[: draw(st.integers(1, 44))]
    if kind == "header":
        tail = bytes(draw(st.lists(BYTE, max_size=50)))
        return kind, b"\x7e" + bytes((draw(BYTE), 0x2B, 0xFF, 0x03)) + tail
    return kind, bytes(draw(st.lists(BYTE, min_size=1, max_size=60)))


def join(pieces: list[tuple[str, bytes]], shares: list[bool]) -> bytes:
    """Concatenate; a frame may reuse the flag that ends the previous piece."""
    out = bytearray()
    for (_, raw), share in zip(pieces, shares, strict=True):
        if share and out and out[-1] == 0x7E and raw[:1] == b"\x7e":
            raw = raw[1:]
        out += raw
    return bytes(out)


def run_reference(chunks: list[bytes]) -> tuple[list[S1Frame], S1Framer]:
    """Feed the chunks to a new reference framer."""
    dec = S1Framer()
    frames: list[S1Frame] = []
    for chunk in chunks:
        frames += dec.feed(chunk)
        assert dec.buffered <= 44
    return frames, dec


def run_batch(chunks: list[bytes]) -> tuple[list[S1Frame], S1BatchDecoder]:
    """Feed the chunks to a new batch decoder."""
    dec = S1BatchDecoder()
    frames: list[S1Frame] = []
    for chunk in chunks:
        batch = dec.feed(chunk)
        frames += batch.to_frames()
        assert dec.buffered <= 44
        assert len(batch.sample_index) == len(batch)
    return frames, dec


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(piece(), max_size=30),
    data=st.data(),
)
def test_same_frames_and_counts_for_any_stream_and_split(
    pieces: list[tuple[str, bytes]], data: st.DataObject
) -> None:
    """Identical frames and counters, whatever the stream and however it is cut."""
    shares = data.draw(
        st.lists(st.booleans(), min_size=len(pieces), max_size=len(pieces))
    )
    stream = join(pieces, shares)
    cuts_a = data.draw(st.lists(st.integers(0, 10**6), max_size=20))
    cuts_b = data.draw(st.lists(st.integers(0, 10**6), max_size=20))
    ref_frames, ref = run_reference(split(stream, cuts_a))
    batch_frames, batch = run_batch(split(stream, cuts_b))
    assert batch_frames == ref_frames
    assert batch.stats == ref.stats
    assert batch.buffered == ref.buffered
    whole, _ = run_reference([stream])
    assert whole == ref_frames
    for frame in ref_frames:
        assert frame.frame_type in ref.stats.frame_types


NO_FLAG_OR_LENGTH = st.integers(0, 255).filter(lambda b: b not in (0x7E, 0x2B))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(
        st.tuples(
            valid_frame(byte=st.one_of(st.just(0x7E), NO_FLAG_OR_LENGTH)),
            st.sampled_from(["ok", "ok", "fcs", "drop"]),
            st.lists(NO_FLAG_OR_LENGTH, max_size=20),
            st.booleans(),
        ),
        max_size=25,
    ),
    cuts=st.lists(st.integers(0, 10**6), max_size=15),
)
def test_exact_frames_and_counts(
    plan: list[tuple[bytes, str, list[int], bool]], cuts: list[int]
) -> None:
    """Frames among noise: exactly the intact frames, FCS errors and sequence gaps.

    Data and noise avoid 0x2B (and noise 0x7E), so no byte outside a real header can
    complete a fake one; damage is a flipped FCS bit, so a damaged frame is exactly one
    FCS error.
    """
    out = bytearray()
    expected: list[S1Frame] = []
    fcs_errors = 0
    seq = 0
    for raw, fate, noise, share in plan:
        body = bytearray(raw)
        body[23] = seq  # sequence numbers run on, so gaps are known
        seq = (seq + 1) & 0xFF
        body[42:44] = fcs(bytes(body[1:42]))
        if fate == "drop":
            continue
        if fate == "fcs":
            body[42] ^= 0x20
            fcs_errors += 1
        else:
            expected.append(decode_frame(body))
        out += bytes(noise)
        if share and not noise and out:
            body = body[1:]
        out += body
    ref_frames, ref = run_reference(split(bytes(out), cuts))
    batch_frames, batch = run_batch(split(bytes(out), cuts[::-1]))
    assert ref_frames == batch_frames == expected
    missed = sum(
        (b.sequence - a.sequence - 1) & 0xFF for a, b in itertools.pairwise(expected)
    )
    assert ref.stats.fcs_errors == batch.stats.fcs_errors == fcs_errors
    assert ref.stats.missed_frames == batch.stats.missed_frames == missed


def test_simulated_stream_in_random_chunks() -> None:
    """A second of a faulty 4 kHz stream, cut at random: same frames, exact counts."""
    config = SimConfig.four_wire(
        shared_flags=0.5,
        frame_type=0x80,
        faults=Faults(
            fcs_error_rate=0.01,
            drop_rate=0.005,
            drop_burst=6,
            garbage_rate=0.02,
            invalid_rate=0.002,
        ),
    )
    sim = S1Simulator(config, seed=11)
    data = sim.generate(1.0)
    rng = np.random.default_rng(5)
    cuts = np.sort(rng.integers(0, len(data), 400)).tolist()
    ref_frames, ref = run_reference(split(data, cuts))
    batch_frames, batch = run_batch(split(data, cuts[::3]))
    assert batch_frames == ref_frames
    assert batch.stats == ref.stats
    truth = sim.truth
    assert ref.stats.as_dict() == {
        "frames": truth.frames,
        "fcs_errors": truth.fcs_errors,
        "missed_frames": truth.missed_frames,
        "discarded_bytes": truth.discarded_bytes,
        "invalid_sample_frames": truth.invalid_sample_frames,
        "frame_types": {"0x80": truth.frames},
    }
    assert truth.fcs_errors > 20
    assert truth.missed_frames > truth.fcs_errors
