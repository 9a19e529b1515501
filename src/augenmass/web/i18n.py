"""German and English for the web UI: chosen by ?lang=, then the `lang` cookie, then the
browser's Accept-Language; English when nothing matches.

Messages are keyed by their English text, so a missing German entry shows English rather than
a key. State names (OK, CRITICAL ...) stay untranslated: they are the plugins' vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "de")
DEFAULT = "en"
COOKIE = "lang"

Translate = Callable[[str], str]

GERMAN: dict[str, str] = {
    "Problems": "Probleme",
    "Check workers": "Prüf-Worker",
    "NATS cannot be reached: the server runs every check itself.": (
        "NATS ist nicht erreichbar: der Server führt alle Prüfungen selbst aus."
    ),
    "Zone": "Zone",
    "Workers": "Worker",
    "Busy": "Belegt",
    "Load": "Last",
    "Waiting": "Wartend",
    "Redelivered": "Erneut vergeben",
    "Expired": "Verfallen",
    "Not answered": "Unbeantwortet",
    "Run by the server": "Vom Server ausgeführt",
    "Data cannot be saved": "Daten können nicht gespeichert werden",
    "for": "seit",
    "Checks and notifications go on; waiting in memory:": (
        "Prüfungen und Benachrichtigungen laufen weiter; im Speicher wartet:"
    ),
    "Dropped so far:": "Bisher verworfen:",
    "Free disk space on the server (see docs/install.md, disk space).": (
        "Bitte Platz auf der Festplatte des Servers schaffen (docs/install.md, Speicherplatz)."
    ),
    "Search": "Suche",
    "Standby server": "Bereitschafts-Server",
    "shows the states as the active server committed them (read every few seconds);"
    " actions are passed on to it.": (
        "zeigt die Zustände, wie der aktive Server sie gespeichert hat (alle paar Sekunden"
        " gelesen); Aktionen werden an ihn weitergegeben."
    ),
    "Active server:": "Aktiver Server:",
    "none right now": "gerade keiner",
    "active": "aktiv",
    "Please log in": "Bitte anmelden",
    "This page needs a login.": "Diese Seite braucht eine Anmeldung.",
    "Not allowed": "Nicht erlaubt",
    "Your account may not do this.": "Ihr Konto darf das nicht.",
    "There is no such page, host or service here.": (
        "Diese Seite, diesen Host oder diesen Service gibt es hier nicht."
    ),
    "This address does not take that kind of request.": (
        "Diese Adresse nimmt diese Art von Anfrage nicht an."
    ),
    "Something went wrong": "Etwas ist schiefgegangen",
    "The request failed.": "Die Anfrage ist fehlgeschlagen.",
    "Back to the overview": "Zurück zur Übersicht",
    "Address": "Adresse",
    "Response time by phase": "Antwortzeit nach Phasen",
    "DNS": "DNS",
    "Connect": "Verbindung",
    "TLS": "TLS",
    "First byte": "Erstes Byte",
    "Next steps": "Nächste Schritte",
    "Nobody is told about problems yet: this configuration has no contacts.": (
        "Noch wird niemand über Probleme benachrichtigt: diese Konfiguration hat keine Kontakte."
    ),
    "Add a mail relay and contacts (notifications, contacts and contact_groups;"
    " see examples/config).": (
        "Einen Mail-Relay und Kontakte eintragen (notifications, contacts und contact_groups;"
        " siehe examples/config)."
    ),
    "Add your own hosts and services: web sites, mail, printers, the office router.": (
        "Eigene Hosts und Services eintragen: Websites, Mail, Drucker, den Router im Büro."
    ),
    "Give the team logins: augenmass user add NAME --role operator.": (
        "Dem Team Zugänge geben: augenmass user add NAME --role operator."
    ),
    "The configuration reference is docs/configuration.md; augenmass check-config checks a"
    " change, augenmass reload applies it.": (
        "Alle Schlüssel stehen in docs/configuration.md; augenmass check-config prüft eine"
        " Änderung, augenmass reload übernimmt sie."
    ),
    "Without data": "Ohne Daten",
    "No data for %(p)s of this period (before the first check):"
    " the percentage covers only the rest.": (
        "Keine Daten für %(p)s dieses Zeitraums (vor der ersten Prüfung): der Prozentwert"
        " gilt nur für den Rest."
    ),
    "until": "bis",
    "until it recovers": "bis zur Erholung",
    "How it is checked": "Wie geprüft wird",
    "Check": "Prüfung",
    "Timeout": "Zeitlimit",
    "none: assumed UP": "keine: als UP angenommen",
    "Interval": "Intervall",
    "retry": "Wiederholung",
    "max. attempts": "max. Versuche",
    "Next check": "Nächste Prüfung",
    "Expected every": "Erwartet alle",
    "Parents": "Übergeordnet",
    "Behind it": "Dahinter",
    "host/service": "Host/Service",
    "Notification": "Benachrichtigung",
    "Acknowledged": "Bestätigt",
    "Acknowledgement removed": "Bestätigung aufgehoben",
    "Downtime began": "Wartung begonnen",
    "Downtime ended": "Wartung beendet",
    "Downtime cancelled": "Wartung abgebrochen",
    "Flapping began": "Flattern begonnen",
    "Flapping stopped": "Flattern beendet",
    "Search hosts and services": "Hosts und Services suchen",
    "Availability": "Verfügbarkeit",
    "Status page": "Statusseite",
    "Log in": "Anmelden",
    "Log out": "Abmelden",
    "Name": "Name",
    "Password": "Passwort",
    "Wrong name or password.": "Falscher Name oder falsches Passwort.",
    "Too many attempts: try again in %(n)s s.": (
        "Zu viele Versuche: bitte in %(n)s s erneut versuchen."
    ),
    "The login form was sent from another page or has expired: please log in again.": (
        "Das Anmeldeformular kam von einer anderen Seite oder ist abgelaufen: "
        "bitte erneut anmelden."
    ),
    "No problems.": "Keine Probleme.",
    "Unhandled": "Unbehandelt",
    "Handled": "Behandelt",
    "All": "Alle",
    "State": "Zustand",
    "Tag": "Schlagwort",  # "Tag" is a day in German
    "Group": "Gruppe",
    "Host": "Host",
    "Service": "Service",
    "Since": "Seit",
    "Output": "Ausgabe",
    "Long output": "Ausführliche Ausgabe",
    "Filter": "Filtern",
    "acknowledged": "bestätigt",
    "in downtime": "in Wartung",
    "host problem": "Host-Problem",
    "flapping": "flattert",
    "Last check": "Letzte Prüfung",
    "Attempt": "Versuch",
    "Acknowledge": "Bestätigen",
    "Remove acknowledgement": "Bestätigung entfernen",
    "Comment": "Kommentar",
    "Sticky": "Dauerhaft",
    "Expires in (hours, empty = never)": "Läuft ab in (Stunden, leer = nie)",
    "Schedule downtime": "Wartung planen",
    "Remove downtime": "Wartung entfernen",
    "Start": "Beginn",
    "End": "Ende",
    "Duration": "Dauer",
    "Hours": "Stunden",
    "Flexible": "Flexibel",
    "Include child hosts": "Kind-Hosts einschließen",
    "Check now": "Jetzt prüfen",
    "Graphs": "Graphen",
    "No performance data.": "Keine Leistungsdaten.",
    "History": "Verlauf",
    "Notifications": "Benachrichtigungen",
    "No notifications sent.": "Keine Benachrichtigungen versendet.",
    "Services": "Services",
    "Downtimes": "Wartungen",
    "Percent OK": "Prozent OK",
    "Outages": "Ausfälle",
    "No outages.": "Keine Ausfälle.",
    "Period": "Zeitraum",
    "From": "Von",
    "To": "Bis",
    "Show": "Anzeigen",
    "Download CSV": "Als CSV herunterladen",
    "Time in downtime": "Zeit in Wartung",
    "No data": "Keine Daten",
    "Uptime (90 days)": "Verfügbarkeit (90 Tage)",
    "All systems operational": "Alle Systeme funktionieren",
    "Some systems have problems": "Bei einigen Systemen gibt es Probleme",
    "Operational": "In Betrieb",
    "Degraded": "Beeinträchtigt",
    "Outage": "Ausfall",
    "Operational again": "Wieder in Betrieb",
    "Incident feed (Atom)": "Störungsmeldungen (Atom-Feed)",
    "Maintenance": "Wartung",
    "Unknown": "Unbekannt",
    "Last updated": "Zuletzt aktualisiert",
    "Other": "Weitere",
    "Done.": "Erledigt.",
    "Not found": "Nicht gefunden",
    "Nothing found.": "Nichts gefunden.",
    "Zoom: drag across the graph; double-click to reset.": (
        "Zoomen: über den Graphen ziehen; Doppelklick setzt zurück."
    ),
    "warning": "Warnung",
    "critical": "kritisch",
    "off the graph": "außerhalb der Grafik",
    "Time": "Zeit",
    "Language": "Sprache",
    "counts": "Anzahl",
    "Agent": "Agent",
    "Connected": "Verbunden",
    "yes": "ja",
    "no": "nein",
    "Last data": "Letzte Daten",
    "none since the server started": "keine seit dem Start des Servers",
    "Clock skew": "Uhrzeitabweichung",
    "Buffered results": "Gepufferte Ergebnisse",
    "Dropped results": "Verworfene Ergebnisse",
    "Checks": "Prüfungen",
    "Check set": "Prüfungsstand",
    "ago": "her",
    "hours": "Stunden",
    "day": "Tag",
    "week": "Woche",
    "month": "Monat",
    "year": "Jahr",
    "Report for": "Bericht für",
    "Kind": "Art",
}

CATALOGS: dict[str, dict[str, str]] = {"en": {}, "de": GERMAN}


# Message ids asked for in another language than English and missing from its catalog: a page
# then shows English in the middle of German. Kept (bounded) so that a test can fail on them.
MISSING: set[str] = set()
_MISSING_MAX = 1000


def translator(lang: str) -> Translate:
    table = CATALOGS.get(lang)
    if table is None or lang == DEFAULT:
        return lambda text: text  # English is the message ids themselves

    def translate(text: str) -> str:
        found = table.get(text)
        if found is None:
            if len(MISSING) < _MISSING_MAX:
                MISSING.add(text)
            return text
        return found

    return translate


def pick(param: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language to use: explicit choice first, then the browser's preference."""
    for choice in (param, cookie):
        if choice in LANGUAGES:
            return choice
    return from_accept_language(accept_language or "")


def from_accept_language(header: str) -> str:
    """The best of our languages by the header's q-values (RFC 9110), first one on a tie."""
    best, best_q = DEFAULT, 0.0
    for part in header.split(",")[:20]:  # a hostile header cannot make this loop long
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best
