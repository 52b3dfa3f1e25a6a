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
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .connection import LinkEvent, LinkTarget, MeterLink
from .const import (
    CONF_S1_PUBLISH_INTERVAL,
    CONF_SILENCE_TIMEOUT,
    DEFAULT_S1_PUBLISH_INTERVAL,
    DEFAULT_SILENCE_TIMEOUT,
    DOMAIN,
    ISSUE_S1_SILENT,
    LOGGER,
    SILENT_REPAIR_AFTER,
)
from .protocol.s1 import S1_BAUDRATE
from .protocol.s1_analytics import S1Summary, VoltageEvent
from .protocol.s1_pipeline import (
    S1Feed,
    S1Pipeline,
    S1Result,
    S1Values,
    Waveform,
    mean_values as mean_s1_values,
)

BATCH_INTERVAL = 0.2
"""Seconds between two hand-offs to the executor (DESIGN: 100-250 ms)."""
HEALTH_INTERVAL = timedelta(seconds=60)
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
        default_factory=lambda: {"dip": 0, "swell": 0, "interruption": 0}
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


def target_from_url(url: str) -> LinkTarget:
    """``socket://host:port`` as plain TCP (faster than pyserial's socket class)."""
    parts = urlsplit(url)
    if parts.scheme == "socket" and parts.hostname and parts.port:
        return LinkTarget(host=parts.hostname, port=parts.port)
    return LinkTarget(device=url)


class EmucsS1Coordinator(DataUpdateCoordinator[S1Data]):
    """Runs the S1 link and its executor pipeline; pushes one snapshot per interval."""

    config_entry: ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, url: str) -> None:
        """Create the coordinator; nothing runs until ``async_start``."""
        options = entry.options
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} S1", update_interval=None
        )
        self.feed = S1Feed()
        self.pipeline = S1Pipeline()
        self.link = MeterLink(
            target_from_url(url),
            on_data=self.feed.append,
            on_event=self._handle_link_event,
            silence_timeout=options.get(CONF_SILENCE_TIMEOUT, DEFAULT_SILENCE_TIMEOUT),
            baudrate=S1_BAUDRATE,
        )
        self.publish_interval = float(
            options.get(CONF_S1_PUBLISH_INTERVAL, DEFAULT_S1_PUBLISH_INTERVAL)
        )
        self.counters = S1Counters()
        self._pending: list[S1Summary] = []
        self._events: list[S1Event] = []
        self._waveform: Waveform | None = None
        self._rate: list[tuple[float, int]] = []
        self._started = time.monotonic()
        self._link_up = False

    @callback
    def async_start(self) -> None:
        """Start the link, the batch loop and the health check; all stop with the entry."""
        entry = self.config_entry
        entry.async_create_background_task(
            self.hass, self.link.run(), f"{DOMAIN} S1 link {self.link.target}"
        )
        entry.async_create_background_task(
            self.hass, self._batch_loop(), f"{DOMAIN} S1 decoder"
        )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass, self._async_check_health, HEALTH_INTERVAL
            )
        )
        entry.async_on_unload(self.link.close)

    async def _async_update_data(self) -> S1Data:
        """Never polled: data is pushed by the batch loop."""
        raise NotImplementedError

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
            if not self._link_up:
                self._link_up = True
                LOGGER.info("S1 frames from %s", self.link.target)
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
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
            return
        if self._link_up:
            LOGGER.warning("Lost the S1 stream at %s: %s", self.link.target, detail)
        self._link_up = False
        self._pending.clear()
        if self.last_update_success:
            self.last_update_success = False
            self.async_update_listeners()

    @property
    def _issue_id(self) -> str:
        return f"{ISSUE_S1_SILENT}_{self.config_entry.entry_id}"

    @callback
    def _async_check_health(self, _now: datetime) -> None:
        """Raise a repair issue when no S1 frame arrived for minutes."""
        last = self.link.stats.last_telegram or self._started
        if time.monotonic() - last > SILENT_REPAIR_AFTER:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_S1_SILENT,
                translation_placeholders={"target": str(self.link.target)},
            )
