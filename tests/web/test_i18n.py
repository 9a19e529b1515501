from __future__ import annotations

from augenmass.web import i18n


def test_language_choice() -> None:
    assert i18n.pick(None, None, "de-DE,de;q=0.9,en;q=0.8") == "de"
    assert i18n.pick(None, None, "fr-FR,en;q=0.5,de;q=0.7") == "de"
    assert i18n.pick(None, None, "fr, it") == "en"
    assert i18n.pick(None, "de", "en") == "de"
    assert i18n.pick("en", "de", "de") == "en"
    assert i18n.pick("xx", None, "de;q=abc") == "en"
    assert i18n.pick(None, None, ",".join(["x"] * 10_000) + ",de") == "en"  # bounded work


def test_german_catalog_has_no_empty_entries() -> None:
    t = i18n.translator("de")
    assert t("Problems") == "Probleme"
    assert t("something new") == "something new"
    assert all(v.strip() for v in i18n.GERMAN.values())
