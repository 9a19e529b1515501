"""Printer-MIB (RFC 3805) and HOST-RESOURCES-MIB printer facts, pure: rows in, supplies out.

Percent rule (RFC-strict, as the answer key in tests/fixtures/snmp/SOURCES.md): percent =
100 × level / max only when level ≥ 0 and max > 0. The special levels are states, never numbers:
-1 "no restriction", -2 "unknown", -3 "some remaining". For a receptacle (class 4, e.g. a waste
toner box) the level is the space left (RFC 3805, prtMarkerSuppliesLevel), so a low value still
means "act now" — one threshold ("warning: 20:") fits both kinds; people are shown how full it is.

Every supply also gets a kind (toner, ink, drum, waste, staples, other), which decides whether it
may raise a state: from prtMarkerSuppliesType, else from words of its description, because
trimmed recordings and some firmware leave the type out or say "other".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from augenmass.probes.snmp.client import SnmpValue
from augenmass.probes.snmp.text import clean, decode_text

SUPPLIES = "1.3.6.1.2.1.43.11.1.1"
COLORANT_VALUE = "1.3.6.1.2.1.43.12.1.1.4"
SUPPLY_COLUMNS = {
    "colorant": SUPPLIES + ".3",
    "class": SUPPLIES + ".4",
    "type": SUPPLIES + ".5",
    "description": SUPPLIES + ".6",
    "unit": SUPPLIES + ".7",
    "max": SUPPLIES + ".8",
    "level": SUPPLIES + ".9",
}
HR_DEVICE_DESCR = "1.3.6.1.2.1.25.3.2.1.3"
HR_DEVICE_STATUS = "1.3.6.1.2.1.25.3.2.1.5"
HR_PRINTER_STATUS = "1.3.6.1.2.1.25.3.5.1.1"
HR_PRINTER_ERRORS = "1.3.6.1.2.1.25.3.5.1.2"

RECEPTACLE = 4
LEVEL_NO_RESTRICTION, LEVEL_UNKNOWN, LEVEL_SOME = -1, -2, -3

KINDS = ("toner", "ink", "drum", "waste", "staples", "other")
# PrtMarkerSuppliesTypeTC (IANA-PRINTER-MIB) → kind; solid and ribbon wax: the ink of wax printers
TYPE_KINDS = {
    3: "toner",  # toner
    21: "toner",  # tonerCartridge
    5: "ink",  # ink
    6: "ink",  # inkCartridge
    7: "ink",  # inkRibbon
    12: "ink",  # solidWax
    13: "ink",  # ribbonWax
    9: "drum",  # opc (photoconductor: drum, imaging unit)
    4: "waste",  # wasteToner
    8: "waste",  # wasteInk
    14: "waste",  # wasteWax
    24: "waste",  # wasteWater
    29: "staples",  # stitchingWire
    32: "staples",  # staples
}
# types that say what they are, just not one of the kinds above (fuser, developer, transfer …)
OTHER_TYPES = frozenset({10, 11, 15, 16, 17, 18, 19, 20, 22, 23, 25, 26, 27, 28, 30, 31, 33, 34})
WASTE_MEDIA = {4: "toner", 8: "ink", 14: "wax", 24: "water"}

DEVICE_STATUS = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
PRINTER_STATUS = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
# hrPrinterDetectedErrorState: bit 0 is the most significant bit of the first byte
ERROR_BITS = (
    "low paper",
    "no paper",
    "low toner",
    "no toner",
    "door open",
    "jammed",
    "offline",
    "service requested",
    "input tray missing",
    "output tray missing",
    "marker supply missing",
    "output near full",
    "output full",
    "input tray empty",
    "overdue preventive maintenance",
)
# conditions that stop printing: CRITICAL; the others (low paper, low toner, …) WARNING
SEVERE_ERRORS = frozenset(
    {"no paper", "no toner", "door open", "jammed", "offline", "output full", "input tray missing"}
)
UNITS = {
    3: "1/10000 in",
    4: "µm",
    7: "impressions",
    8: "sheets",
    11: "hours",
    12: "1/1000 oz",
    13: "1/10 g",
    14: "1/100 fl oz",
    15: "1/10 ml",
    16: "feet",
    17: "meters",
    18: "items",
    19: "%",
}
COLOURS = ("black", "cyan", "magenta", "yellow")
_COLOUR_WORDS = {
    "black": ("black", "noir", "schwarz", "preto", "negro", "nero", "bk"),
    "cyan": ("cyan", "ciano", "cian"),
    "magenta": ("magenta",),
    "yellow": ("yellow", "jaune", "gelb", "amarelo", "amarillo", "giallo"),
}
# description words → kind, for a missing or vague type; checked in this order ("Waste Toner …"
# is waste, "Toner/Drum Cartridge" is used up like toner)
_KIND_WORDS = (
    ("waste", ("waste", "resttoner", "collection")),
    ("staples", ("staple", "staples", "stapler", "heftklammern")),
    ("toner", ("toner",)),
    ("ink", ("ink", "tinte", "encre", "tinta", "inchiostro")),
    ("drum", ("drum", "opc", "photoconductor", "imaging", "trommel", "tambour", "tamburo")),
)
_WORD = re.compile(r"[a-zà-ÿ]+")
_CUT = re.compile(r"\s+S/N:.*$")


@dataclass(frozen=True, slots=True)
class Supply:
    index: str  # "<hrDeviceIndex>.<supplyIndex>", e.g. "1.4"
    description: str
    supply_class: int | None = None
    supply_type: int | None = None
    unit: int | None = None
    max: int | None = None
    level: int | None = None
    colour: str | None = None
    colour_conflict: str | None = None  # the colorant table said this, the description not

    @property
    def kind(self) -> str:
        """toner, ink, drum, waste, staples or other (see KINDS)."""
        known = TYPE_KINDS.get(self.supply_type or 0)
        if known:
            return known
        if self.supply_type in OTHER_TYPES:
            return "other"
        words = set(_WORD.findall(self.description.lower()))
        for kind, keys in _KIND_WORDS:
            if words & set(keys):
                return kind
        # a receptacle of no stated type in a printer is where used toner or ink goes
        return "waste" if self.supply_class == RECEPTACLE else "other"

    @property
    def waste_of(self) -> str | None:
        """What a waste container collects (toner, ink …), when the type or description says."""
        if self.supply_type in WASTE_MEDIA:
            return WASTE_MEDIA[self.supply_type]
        words = set(_WORD.findall(self.description.lower()))
        return "toner" if "toner" in words else "ink" if "ink" in words else None

    @property
    def receptacle(self) -> bool:
        """Its level is the space left. A waste type counts even without the class column: by
        RFC 3805 a waste container is a receptacle, and trimmed recordings lack the class."""
        return self.supply_class == RECEPTACLE or self.kind == "waste"

    @property
    def empty(self) -> bool:
        """Level 0 of an unknown capacity: nothing left (or, for a receptacle, no space left).
        Staplers report this way: -3 while some remain, 0 when out."""
        return self.level == 0 and self.max == LEVEL_UNKNOWN

    @property
    def percent(self) -> float | None:
        """Percent left (supply) or space left (receptacle); None when not computable."""
        if self.level is None or self.max is None or self.level < 0 or self.max <= 0:
            return None
        return round(min(100.0, 100.0 * self.level / self.max), 1)

    @property
    def special(self) -> str | None:
        """The RFC's special level as words, or None for a real level."""
        if self.level == LEVEL_NO_RESTRICTION or self.max == LEVEL_NO_RESTRICTION:
            return "no restriction"
        if self.level == LEVEL_SOME:
            return "some space left" if self.receptacle else "some remaining"
        if self.level is None or self.level == LEVEL_UNKNOWN:
            return "level unknown"
        return None

    @property
    def name(self) -> str:
        return self.description or f"supply {self.index}"


def supplies(
    columns: Mapping[str, Mapping[str, SnmpValue]], colorants: Mapping[str, SnmpValue]
) -> list[Supply]:
    """Supplies from walked columns ({column OID: {index: value}}) and the colorant column."""
    by_name = {name: columns.get(oid, {}) for name, oid in SUPPLY_COLUMNS.items()}
    indices: set[str] = set()
    for name in ("description", "level", "max"):
        indices.update(by_name[name])
    found = []
    for index in sorted(indices, key=_index_key):
        description = _description(by_name["description"].get(index))
        colour, conflict = _colour(
            description, _colorant(index, by_name["colorant"].get(index), colorants)
        )
        found.append(
            Supply(
                index=index,
                description=description,
                supply_class=_int(by_name["class"].get(index)),
                supply_type=_int(by_name["type"].get(index)),
                unit=_int(by_name["unit"].get(index)),
                max=_int(by_name["max"].get(index)),
                level=_int(by_name["level"].get(index)),
                colour=colour,
                colour_conflict=conflict,
            )
        )
    return found


def colour_words(colour: str) -> tuple[str, ...]:
    """The words that name a colour in descriptions ("black" → black, noir, schwarz …)."""
    return _COLOUR_WORDS.get(colour, tuple(_WORD.findall(colour.lower())))


def error_conditions(raw: bytes) -> list[str]:
    """Names of the set bits of hrPrinterDetectedErrorState (MSB of byte 1 = bit 0)."""
    names = []
    for bit, name in enumerate(ERROR_BITS):
        byte = bit // 8
        if byte < len(raw) and raw[byte] & (0x80 >> (bit % 8)):
            names.append(name)
    return names


def _index_key(index: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in index.split("."))
    except ValueError:
        return (1 << 32,)


def _int(value: SnmpValue | None) -> int | None:
    return None if value is None else value.number


def _description(value: SnmpValue | None) -> str:
    if value is None or value.missing:
        return ""
    text = decode_text(value.octets)
    return clean(_CUT.sub("", text))  # Checkmk cuts serials after " S/N:" too


def _colorant(
    index: str, colorant_index: SnmpValue | None, colorants: Mapping[str, SnmpValue]
) -> str | None:
    number = _int(colorant_index)
    if not number or number <= 0:  # 0: not tied to one colorant
        return None
    device = index.split(".")[0]
    value = colorants.get(f"{device}.{number}")
    if value is None or value.missing:
        return None
    text = decode_text(value.octets).lower()
    return text if text and text not in ("unknown", "other") else None


def _colour(description: str, colorant: str | None) -> tuple[str | None, str | None]:
    """The supply's colour: the description's keyword wins over the colorant table, which real
    firmware gets wrong (a "Magenta" cartridge pointing at "yellow"); a clash is reported."""
    words = set(_WORD.findall(description.lower()))
    named = [c for c in COLOURS if words & set(_COLOUR_WORDS[c])]
    from_description = named[0] if len(named) == 1 else None
    if from_description and colorant and colorant != from_description:
        return from_description, colorant
    return from_description or colorant, None
