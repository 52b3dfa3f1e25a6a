"""S1 coordinator: raw samples in, power-quality values out, decoded off the loop.

The event loop only appends received bytes to a bounded ``S1Feed``. A background
task takes the batch every ``BATCH_INTERVAL`` and runs ``S1Pipeline.process`` in
the executor, one batch at a time; a backlog beyond the feed's bound is dropped
whole and counted. Values are published once per publish interval (meter time:
the sum of the analysed windows) as the mean over the interval.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import time

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .connection import LinkEvent, MeterLink
from .const import (
    CONF_S1_PUBLISH_INTERVAL,
    DEFAULT_S1_PUBLISH_INTERVAL,
    DOMAIN,
    ISSUE_S1_SILENT,
    LOGGER,
)
from .coordinator import EmucsConfigEntry, EmucsPushCoordinator
from .protocol.s1_analytics import S1Summary, VoltageEvent
from .protocol.s1_pipeline import (
    S1Feed,
    S1Pipeline,
    S1Result,
    S1Values,
    Waveform,
    mean_values as mean_s1_values,
)

EVENT_KINDS = ("dip", "swell", "interruption")
BATCH_INTERVAL = 0.2
"""Seconds between two hand-offs to the executor (DESIGN: 100-250 ms)."""
FRAMES_WINDOW = 10.0
"""Seconds over which the received frame rate is measured."""


@dataclass(frozen=True, slots=True, kw_only=True)
class S1Event:
    """A voltage event with wall-clock times, for the event entity."""

    kind: str
    phase: str
    start: datetime
    duration_s: float
    depth_percent: float
    extreme_voltage: float


@dataclass(slots=True, kw_only=True)
class S1Counters:
    """Stream health since setup."""

    frames: int = 0
    fcs_errors: int = 0
    missed_frames: int = 0
    invalid_sample_frames: int = 0
    discarded_bytes: int = 0
    dropped_batches: int = 0
    events: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(EVENT_KINDS, 0)
    )


@dataclass(slots=True, kw_only=True)
class S1Data:
    """What the S1 entities read."""

    values: S1Values | None
    waveform: Waveform | None
    events: tuple[S1Event, ...]
    """Events that ended since the previous publish."""
    counters: S1Counters
    frames_per_second: float
    received: datetime


class EmucsS1Coordinator(EmucsPushCoordinator[S1Data]):
    """Runs the S1 link and its executor pipeline; pushes one snapshot per interval."""

    silent_issue = ISSUE_S1_SILENT
    lost_translation_key = "s1_lost"

    def __init__(
        self, hass: HomeAssistant, entry: EmucsConfigEntry, link: MeterLink
    ) -> None:
        """Create the coordinator of ``link``; nothing runs until ``async_start``."""
        super().__init__(hass, entry, link, f"{DOMAIN} S1")
        self.feed = S1Feed()
        link.on_data = self.feed.append
        self.pipeline = S1Pipeline()
        self.publish_interval = float(
            entry.options.get(CONF_S1_PUBLISH_INTERVAL, DEFAULT_S1_PUBLISH_INTERVAL)
        )
        self.counters = S1Counters()
        self._pending: list[S1Summary] = []
        self._events: list[S1Event] = []
        self._waveform: Waveform | None = None
        self._rate: list[tuple[float, int]] = []
        # A port that never delivers (or never opens) is silent from the start.
        self._silent_since = time.monotonic()

    @callback
    def async_start(self) -> None:
        """Start the link, the batch loop and the health check; all stop with the entry."""
        super().async_start()
        self.config_entry.async_create_background_task(
            self.hass, self._batch_loop(), f"{DOMAIN} S1 decoder"
        )

    async def _batch_loop(self) -> None:
        while True:
            await asyncio.sleep(BATCH_INTERVAL)
            data, restart = self.feed.take()
            if not data:
                continue
            try:
                result = await self.hass.async_add_executor_job(
                    self._process, data, restart
                )
            except Exception:  # noqa: BLE001 - logged; the stream must go on
                # A decoder bug must not end the stream: log, drop this batch, and
                # start the next one afresh.
                LOGGER.exception("Error decoding an S1 batch")
                self.feed.restart()
                continue
            self._handle_result(result)

    def _process(self, data: bytes, restart: bool) -> S1Result:
        """Run in the executor: the pipeline is only ever used by one job at a time."""
        return self.pipeline.process(data, restart=restart)

    @callback
    def _handle_result(self, result: S1Result) -> None:
        counters = self.counters
        counters.dropped_batches = self.feed.dropped_batches
        now = time.monotonic()
        if result.frames:
            self.link.mark_alive()
            counters.frames += result.frames
            if self._data_arrived():
                LOGGER.info("S1 frames from %s", self.link.target)
        self._rate.append((now, result.frames))
        while self._rate and self._rate[0][0] < now - FRAMES_WINDOW:
            del self._rate[0]
        if result.waveform is not None:
            self._waveform = result.waveform
        wall = dt_util.utcnow()
        for summary in result.summaries:
            counters.fcs_errors += summary.crc_errors
            counters.missed_frames += summary.missed_frames
            counters.invalid_sample_frames += summary.invalid_sample_frames
            counters.discarded_bytes += summary.discarded_bytes
            end_s = summary.start_s + summary.duration_s
            for event in summary.events:
                counters.events[event.kind] += 1
                self._events.append(self._wall_event(event, wall, end_s))
            self._pending.append(summary)
        meter_seconds = sum(s.duration_s for s in self._pending)
        if self._pending and meter_seconds >= self.publish_interval - 0.05:
            self._publish(wall, now)

    @staticmethod
    def _wall_event(event: VoltageEvent, wall: datetime, end_s: float) -> S1Event:
        # The window that reports the event ended about now (one batch ago at most).
        return S1Event(
            kind=event.kind,
            phase=event.phase,
            start=wall - timedelta(seconds=end_s - event.start_s),
            duration_s=round(event.duration_s, 3),
            depth_percent=round(event.depth_percent, 1),
            extreme_voltage=round(event.extreme_voltage, 1),
        )

    def _publish(self, wall: datetime, now: float) -> None:
        span = now - self._rate[0][0] if len(self._rate) > 1 else 0.0
        frames = sum(count for _, count in self._rate[1:])
        self.async_set_updated_data(
            S1Data(
                values=mean_s1_values(self._pending),
                waveform=self._waveform,
                events=tuple(self._events),
                counters=self.counters,
                frames_per_second=round(frames / span, 1) if span > 0 else 0.0,
                received=wall,
            )
        )
        self._pending.clear()
        self._events.clear()

    @callback
    def _handle_link_event(self, event: LinkEvent, detail: str | None) -> None:
        if event is LinkEvent.OPENED:
            self.feed.restart()
        else:
            self._pending.clear()
        super()._handle_link_event(event, detail)
