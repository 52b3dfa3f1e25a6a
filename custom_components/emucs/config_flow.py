"""Config flow: find the meter on a serial port or the network, then confirm it.

Every path (picked port, typed path or pyserial URL, host and port, USB discovery,
reconfigure) goes through ``_async_probe``: open the link and wait for one valid eMUCS
telegram. The telegram gives the unique ID (the meter's equipment identifier) and
what the confirm step shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import sys
from typing import TYPE_CHECKING, Any

from homeassistant.components import usb
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USB,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PORT,
    PERCENTAGE,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.service_info.usb import UsbServiceInfo
import serial.tools.list_ports

# HA 2026.9+ validates with probatio and aliases ``voluptuous`` to it at run time, so
# the plain import is right for every release; only the type checker must be told
# which one the checked HA types its flows with (probatio with the Python 3.14 test
# package, voluptuous with 2025.4's).
if TYPE_CHECKING and sys.version_info >= (3, 14):
    import probatio as vol
else:
    import voluptuous as vol

from .connection import (
    BadDataError,
    CannotOpenError,
    LinkTarget,
    NoDataError,
    NotEmucsError,
    async_probe,
    async_probe_s1,
)
from .const import (
    CONF_CAPACITY_RATE,
    CONF_PEAK_RISK,
    CONF_PEAK_TARGET,
    CONF_PUBLISH_INTERVAL,
    CONF_S1_PORT,
    CONF_S1_PUBLISH_INTERVAL,
    CONF_SERIAL_PORT,
    CONF_SILENCE_TIMEOUT,
    CONNECTION_NETWORK,
    CONNECTION_SERIAL,
    DEFAULT_CAPACITY_RATE,
    DEFAULT_PEAK_RISK,
    DEFAULT_PEAK_TARGET,
    DEFAULT_PUBLISH_INTERVAL,
    DEFAULT_S1_PUBLISH_INTERVAL,
    DEFAULT_SILENCE_TIMEOUT,
    DOMAIN,
    LOGGER,
    PROBE_TIMEOUT,
    S1_PROBE_TIMEOUT,
)
from .protocol import Telegram
from .protocol.meter import meter_model, meter_sw_version

if TYPE_CHECKING:
    from .coordinator import EmucsConfigEntry

MANUAL_PATH = "manual"
"""Choice in the port list that leads to the step where a path or URL is typed."""
DEFAULT_NETWORK_PORT = 23
LINK_KEYS = frozenset({CONF_SERIAL_PORT, CONF_HOST, CONF_PORT})
"""Entry data keys that say where the meter is; a new link replaces all of them."""

NETWORK_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_PORT, default=DEFAULT_NETWORK_PORT): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
        ),
    }
)
SERIAL_MANUAL_SCHEMA = vol.Schema({vol.Required(CONF_SERIAL_PORT): TextSelector()})
CONFIRM_SCHEMA = vol.Schema({vol.Optional(CONF_S1_PORT): TextSelector()})


@dataclass(frozen=True, slots=True)
class _Probe:
    """Outcome of a probe: the first telegram, or errors to show on the form."""

    telegram: Telegram | None = None
    errors: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)


def _list_serial_ports() -> dict[str, str]:
    """Return {stable path: label} for every serial port. Blocking: run in the executor."""
    ports = {}
    for port in serial.tools.list_ports.comports():
        ports[usb.get_serial_by_id(port.device)] = usb.human_readable_device_name(
            port.device,
            port.serial_number,
            port.manufacturer,
            port.description,
            None if port.vid is None else f"{port.vid:04X}",
            None if port.pid is None else f"{port.pid:04X}",
        )
    return dict(sorted(ports.items()))


def target_from_data(data: Mapping[str, Any]) -> LinkTarget:
    """Return the link target of entry data as this flow writes it."""
    if port := data.get(CONF_SERIAL_PORT):
        return LinkTarget(device=str(port))
    return LinkTarget(host=str(data[CONF_HOST]), port=int(data[CONF_PORT]))


def _with_link(data: Mapping[str, Any], link: Mapping[str, Any]) -> dict[str, Any]:
    """Return entry data pointing at ``link``, the previous link's keys removed."""
    kept = {key: value for key, value in data.items() if key not in LINK_KEYS}
    return kept | dict(link)


async def _async_check_s1(url: str) -> dict[str, str]:
    """Return form errors for the S1 port at ``url``; none when a frame arrives."""
    try:
        await async_probe_s1(LinkTarget.from_url(url), timeout=S1_PROBE_TIMEOUT)
    except CannotOpenError:
        return {CONF_S1_PORT: "s1_cannot_open"}
    except NoDataError:
        return {CONF_S1_PORT: "s1_no_data"}
    except BadDataError:
        return {CONF_S1_PORT: "s1_bad_data"}
    return {}


def _number(low: float, high: float, step: float, unit: str) -> NumberSelector:
    """Return a number box for an option."""
    return NumberSelector(
        NumberSelectorConfig(
            min=low,
            max=high,
            step=step,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


def _title(telegram: Telegram) -> str:
    """Entry title such as ``T211 1SAG3101021605``."""
    return f"{meter_model(telegram)} {telegram.equipment_id}"


class EmucsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Belgian digital meter read through its P1 port."""

    VERSION = 1

    _telegram: Telegram
    _link: dict[str, Any]
    _usb_path: str
    _usb_name: str

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EmucsOptionsFlow:
        """Return the options flow (update behaviour)."""
        return EmucsOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how the meter is connected."""
        return self.async_show_menu(
            step_id="user", menu_options=[CONNECTION_SERIAL, CONNECTION_NETWORK]
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the meter to another port: same choices as when adding it."""
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=[CONNECTION_SERIAL, CONNECTION_NETWORK],
            description_placeholders={"title": self._get_reconfigure_entry().title},
        )

    async def async_step_serial(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a serial port from the list, or choose to type its path."""
        probe = _Probe()
        if user_input is not None:
            if user_input[CONF_SERIAL_PORT] == MANUAL_PATH:
                return await self.async_step_serial_manual()
            link = {CONF_SERIAL_PORT: user_input[CONF_SERIAL_PORT]}
            probe = await self._async_probe(link, CONF_SERIAL_PORT)
            if probe.telegram is not None:
                return await self._async_meter_found(probe.telegram, link)

        ports = await self.hass.async_add_executor_job(_list_serial_ports)
        if not ports and user_input is None:
            return await self.async_step_serial_manual()
        options = [
            SelectOptionDict(value=path, label=label) for path, label in ports.items()
        ]
        # Label translated through the selector's translation key; this is the fallback.
        options.append(
            SelectOptionDict(value=MANUAL_PATH, label="Enter the path manually")
        )
        schema = vol.Schema(
            {
                vol.Required(CONF_SERIAL_PORT): SelectSelector(
                    SelectSelectorConfig(
                        options=options,
                        mode=SelectSelectorMode.LIST,
                        translation_key=CONF_SERIAL_PORT,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="serial",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or self._current_link()
            ),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_serial_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Type a serial port path or a pyserial URL (socket://, rfc2217://)."""
        probe = _Probe()
        if user_input is not None:
            link = {CONF_SERIAL_PORT: user_input[CONF_SERIAL_PORT].strip()}
            probe = await self._async_probe(link, CONF_SERIAL_PORT)
            if probe.telegram is not None:
                return await self._async_meter_found(probe.telegram, link)
        return self.async_show_form(
            step_id="serial_manual",
            data_schema=self.add_suggested_values_to_schema(
                SERIAL_MANUAL_SCHEMA, user_input or self._current_link()
            ),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Enter the host and TCP port of a P1 dongle or ser2net."""
        probe = _Probe()
        if user_input is not None:
            link = {
                CONF_HOST: user_input[CONF_HOST].strip(),
                CONF_PORT: int(user_input[CONF_PORT]),
            }
            probe = await self._async_probe(link, CONF_HOST)
            if probe.telegram is not None:
                return await self._async_meter_found(probe.telegram, link)
        return self.async_show_form(
            step_id="network",
            data_schema=self.add_suggested_values_to_schema(
                NETWORK_SCHEMA, user_input or self._current_link()
            ),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show which meter answered; add it (and its S1 port, if given) when agreed."""
        telegram = self._telegram
        errors: dict[str, str] = {}
        if user_input is not None:
            s1_port = user_input.get(CONF_S1_PORT, "").strip()
            if s1_port:
                errors = await _async_check_s1(s1_port)
            if not errors:
                return self.async_create_entry(
                    title=_title(telegram),
                    data=self._link,
                    options={CONF_S1_PORT: s1_port} if s1_port else {},
                )
        return self.async_show_form(
            step_id="confirm",
            data_schema=self.add_suggested_values_to_schema(
                CONFIRM_SCHEMA, user_input or {}
            ),
            errors=errors,
            description_placeholders={
                "equipment_id": str(telegram.equipment_id),
                "model": meter_model(telegram),
                "version": meter_sw_version(telegram) or str(telegram.version),
                "target": str(target_from_data(self._link)),
            },
        )

    async def async_step_usb(self, discovery_info: UsbServiceInfo) -> ConfigFlowResult:
        """Handle a USB cable that looks like a P1 cable."""
        path = await self.hass.async_add_executor_job(
            usb.get_serial_by_id, discovery_info.device
        )
        self._async_abort_entries_match({CONF_SERIAL_PORT: path})
        self._usb_path = path
        self._usb_name = usb.human_readable_device_name(
            path,
            discovery_info.serial_number,
            discovery_info.manufacturer,
            discovery_info.description,
            discovery_info.vid,
            discovery_info.pid,
        )
        self.context["title_placeholders"] = {"name": self._usb_name}
        return await self.async_step_usb_confirm()

    async def async_step_usb_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before listening on the discovered cable; add the meter that answers."""
        probe = _Probe()
        if user_input is not None:
            link = {CONF_SERIAL_PORT: self._usb_path}
            probe = await self._async_probe(link, "base")
            if probe.telegram is not None:
                return await self._async_meter_found(probe.telegram, link)
        return self.async_show_form(
            step_id="usb_confirm",
            description_placeholders={"name": self._usb_name, **probe.placeholders},
            errors=probe.errors,
        )

    async def _async_probe(self, link: dict[str, Any], field_name: str) -> _Probe:
        """Wait for a telegram on ``link``; map failures to translated errors.

        A port that cannot be opened is reported on ``field_name`` (the path or host
        field, or "base" on forms without fields); what arrives (or not) once the
        port is open is about the meter, so it is reported on the whole form.
        """
        if (telegram := self._running_telegram(link)) is not None:
            # A loaded entry holds this port (HA 2026.11 opens serial ports
            # exclusively): its last telegram answers for the meter.
            return _Probe(telegram=telegram)
        target = target_from_data(link)
        try:
            telegram = await async_probe(target, timeout=PROBE_TIMEOUT)
        except CannotOpenError as err:
            return _Probe(
                errors={field_name: "cannot_open"}, placeholders={"error": str(err)}
            )
        except NoDataError:
            return _Probe(
                errors={"base": "no_data"},
                placeholders={"seconds": f"{PROBE_TIMEOUT:g}"},
            )
        except BadDataError as err:
            LOGGER.debug("No valid telegram from %s: %s", target, err)
            return _Probe(errors={"base": "bad_data"})
        except NotEmucsError as err:
            return _Probe(errors={"base": "not_emucs"}, placeholders={"seen": err.seen})
        except Exception:  # noqa: BLE001
            LOGGER.exception("Unexpected error while probing %s", target)
            return _Probe(errors={"base": "unknown"})
        return _Probe(telegram=telegram)

    async def _async_meter_found(
        self, telegram: Telegram, link: dict[str, Any]
    ) -> ConfigFlowResult:
        """Add the meter that answered on ``link``, or update the entry it has."""
        reconfiguring = self.source == SOURCE_RECONFIGURE
        await self.async_set_unique_id(
            telegram.equipment_id, raise_on_progress=not reconfiguring
        )
        if reconfiguring:
            entry = self._get_reconfigure_entry()
            self._abort_if_unique_id_mismatch(
                reason="wrong_meter",
                description_placeholders={
                    "expected": str(entry.unique_id),
                    "found": str(telegram.equipment_id),
                },
            )
            # data, not data_updates: moving between serial and network must drop the
            # old link's keys, which a merge would keep.
            # The entry's update listener reloads it (HA 2026.6+ wants the listener,
            # not the flow, to schedule the reload).
            # Read before the update: the listener starts reloading at once.
            loaded = entry.state is ConfigEntryState.LOADED
            self.hass.config_entries.async_update_entry(
                entry, data=_with_link(entry.data, link)
            )
            if not loaded:
                # No listener while not loaded (e.g. setup failed on the old
                # port): set it up on the new one now.
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_abort(reason="reconfigure_successful")

        existing = self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, str(self.unique_id)
        )
        if existing is not None and (existing.data.keys() & LINK_KEYS) - link.keys():
            # The helper below merges the new link into the entry data; clear the
            # other kind of link's keys first so the merge leaves only the new one.
            self.hass.config_entries.async_update_entry(
                existing, data=_with_link(existing.data, {})
            )
        self._abort_if_unique_id_configured(updates=link, reload_on_update=False)

        self._telegram, self._link = telegram, link
        if self.source == SOURCE_USB:
            return self.async_create_entry(title=_title(telegram), data=link)
        return await self.async_step_confirm()

    def _running_telegram(self, link: Mapping[str, Any]) -> Telegram | None:
        """Return the last telegram of a loaded entry that reads ``link``."""
        entry: EmucsConfigEntry
        for entry in self.hass.config_entries.async_loaded_entries(DOMAIN):
            data = entry.runtime_data.p1.data
            if data is not None and {k: entry.data.get(k) for k in link} == dict(link):
                return data.telegram
        return None

    def _current_link(self) -> Mapping[str, Any]:
        """Entry data to prefill the forms with when reconfiguring, else nothing."""
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry().data
        return {}


class EmucsOptionsFlow(OptionsFlow):
    """Update behaviour (averaging, silence timeout, S1) and the capacity tariff."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and store the options."""
        options = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            s1_port = user_input.get(CONF_S1_PORT, "").strip()
            if s1_port and s1_port != options.get(CONF_S1_PORT):
                errors = await _async_check_s1(s1_port)
            if not errors:
                data = {
                    **options,
                    CONF_PUBLISH_INTERVAL: int(user_input[CONF_PUBLISH_INTERVAL]),
                    CONF_SILENCE_TIMEOUT: int(user_input[CONF_SILENCE_TIMEOUT]),
                    CONF_S1_PORT: s1_port,
                    CONF_S1_PUBLISH_INTERVAL: int(user_input[CONF_S1_PUBLISH_INTERVAL]),
                    CONF_PEAK_TARGET: float(user_input[CONF_PEAK_TARGET]),
                    CONF_PEAK_RISK: int(user_input[CONF_PEAK_RISK]),
                    CONF_CAPACITY_RATE: float(user_input[CONF_CAPACITY_RATE]),
                }
                if not s1_port:
                    del data[CONF_S1_PORT]
                return self.async_create_entry(data=data)

        def default(key: str, value: float) -> vol.Required:
            return vol.Required(key, default=options.get(key, value))

        seconds = UnitOfTime.SECONDS
        schema = vol.Schema(
            {
                default(CONF_PUBLISH_INTERVAL, DEFAULT_PUBLISH_INTERVAL): _number(
                    0, 300, 1, seconds
                ),
                default(CONF_SILENCE_TIMEOUT, DEFAULT_SILENCE_TIMEOUT): _number(
                    5, 120, 1, seconds
                ),
                vol.Optional(CONF_S1_PORT): TextSelector(),
                default(CONF_S1_PUBLISH_INTERVAL, DEFAULT_S1_PUBLISH_INTERVAL): _number(
                    1, 60, 1, seconds
                ),
                default(CONF_PEAK_TARGET, DEFAULT_PEAK_TARGET): _number(
                    0, 100, 0.1, UnitOfPower.KILO_WATT
                ),
                default(CONF_PEAK_RISK, DEFAULT_PEAK_RISK): _number(
                    50, 100, 1, PERCENTAGE
                ),
                default(CONF_CAPACITY_RATE, DEFAULT_CAPACITY_RATE): _number(
                    0, 1000, 0.01, "EUR/kW/year"
                ),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {CONF_S1_PORT: options.get(CONF_S1_PORT, "")}
            ),
            errors=errors,
        )
