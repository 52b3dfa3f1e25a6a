"""Bytes from a file, stdin or a live port, in chunks, until the end of input."""

from __future__ import annotations

from collections.abc import Generator, Iterable
import io
import select
import sys
from typing import BinaryIO, Final

__all__ = ["InputError", "batches", "read_input"]

CHUNK_SIZE: Final = 64 * 1024
READ_TIMEOUT: Final = 0.5
"""Seconds a port read waits, so Ctrl-C is seen on every platform."""


class InputError(Exception):
    """The input could not be opened or read."""


def read_input(
    path: str | None, port: str | None, *, baudrate: int
) -> Generator[bytes]:
    """Yield chunks of bytes from a file, stdin (``-``) or a port URL until end of input.

    Raises InputError when the input cannot be opened, or a file cannot be read.
    A port whose peer goes away (TCP closed, PTY master closed, adapter unplugged)
    is the end of input.
    """
    if port is not None:
        yield from _read_port(port, baudrate)
    elif path == "-":
        if sys.stdin is None:
            raise InputError("stdin is closed")
        yield from _read_file(sys.stdin.buffer, "stdin")
    elif path is not None:
        try:
            file = open(path, "rb")
        except OSError as err:
            raise InputError(f"cannot open {path}: {err.strerror or err}") from err
        with file:
            yield from _read_file(file, path)


def batches(chunks: Iterable[bytes], size: int) -> Generator[bytes]:
    """Join small chunks until ``size`` bytes (or the end): one decode per batch."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        if len(pending) >= size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _read_file(file: BinaryIO, name: str) -> Generator[bytes]:
    # read1 returns what one system call gives, so a pipe is decoded as it arrives.
    read = file.read1 if isinstance(file, io.BufferedIOBase) else file.read
    while True:
        try:
            chunk = read(CHUNK_SIZE)
        except OSError as err:
            raise InputError(f"cannot read {name}: {err.strerror or err}") from err
        if not chunk:
            return
        yield chunk


def _read_port(url: str, baudrate: int) -> Generator[bytes]:
    try:
        import serial
    except ImportError as err:
        raise InputError("--port needs pyserial (pip install pyserial)") from err
    # pyserial's in_waiting of a socket:// port says only 0 or 1, so reading that
    # much would take one byte per call (far too slow for S1). There we wait with
    # select and read without a timeout: one recv per call, whatever it holds.
    tcp = url.startswith("socket://")
    try:
        port = serial.serial_for_url(
            url,
            baudrate=baudrate,
            bytesize=8,
            parity="N",
            stopbits=1,
            timeout=0 if tcp else READ_TIMEOUT,
        )
    except (OSError, ValueError) as err:
        raise InputError(f"cannot open {url}: {err}") from err
    with port:
        # Opening flushed what arrived before; from here on nothing is lost.
        print(
            f"reading {url} at {baudrate} 8N1 (Ctrl-C to stop)",
            file=sys.stderr,
            flush=True,
        )
        while True:
            try:
                if tcp:
                    if not select.select([port], [], [], READ_TIMEOUT)[0]:
                        continue
                    data: bytes = port.read(CHUNK_SIZE)
                else:
                    # Ask only for what is there (at least one byte, waiting up to
                    # the timeout): pyserial drops a partial read when the peer closes.
                    data = port.read(port.in_waiting or 1)
            except (OSError, ValueError) as err:
                print(f"port closed: {err}", file=sys.stderr)
                return
            if data:
                yield data
