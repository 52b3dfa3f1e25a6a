"""Image entity: the S1 waveform (last two cycles of V and I per phase)."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import EmucsConfigEntry
from .entity import EmucsEntity, EntityCandidates, async_add_entities_with_data
from .protocol.s1_pipeline import Waveform
from .s1_coordinator import EmucsS1Coordinator, S1Data
from .waveform import render_svg

PARALLEL_UPDATES = 0

WAVEFORM_REFRESH = timedelta(seconds=5)
WAVEFORM = ImageEntityDescription(key="s1_waveform", translation_key="s1_waveform")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EmucsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the waveform image when an S1 port is configured and streaming."""
    if (s1 := entry.runtime_data.s1) is None:
        return

    def candidates(data: S1Data) -> EntityCandidates:
        if data.values is not None:
            yield WAVEFORM.key, lambda: EmucsS1Waveform(hass, s1)

    async_add_entities_with_data(s1, async_add_entities, candidates)


class EmucsS1Waveform(EmucsEntity[EmucsS1Coordinator], ImageEntity):
    """The last two cycles of voltage and current per phase, as an SVG."""

    _attr_content_type = "image/svg+xml"

    def __init__(self, hass: HomeAssistant, coordinator: EmucsS1Coordinator) -> None:
        """Create the image entity."""
        EmucsEntity.__init__(self, coordinator, WAVEFORM)
        ImageEntity.__init__(self, hass)
        self._waveform: Waveform | None = None
        self._svg: tuple[Waveform, bytes] | None = None

    @callback
    def _handle_coordinator_update(self) -> None:
        waveform = self.coordinator.data.waveform
        now = dt_util.utcnow()
        last = self._attr_image_last_updated
        if waveform is not None and (last is None or now - last >= WAVEFORM_REFRESH):
            self._waveform = waveform
            self._attr_image_last_updated = now
        super()._handle_coordinator_update()

    async def async_image(self) -> bytes | None:
        """Return the SVG of the last refresh, drawn in the executor when asked for."""
        waveform = self._waveform
        if waveform is None:
            return None
        if self._svg is None or self._svg[0] is not waveform:
            svg = await self.hass.async_add_executor_job(render_svg, waveform)
            self._svg = (waveform, svg)
        return self._svg[1]
