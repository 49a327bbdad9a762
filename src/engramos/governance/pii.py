"""PII found in message text and what is stored instead (``config.pii``).

Detectors: e-mail addresses; phone numbers (libphonenumber's matcher, numbers valid for
their region or given with a country code); payment card numbers (13-19 digits that
pass the Luhn check); national ids (US SSNs, UK National Insurance numbers, Chinese
resident ids with their check digit); IBANs (mod-97 check); and, when asked, person
names (spaCy's English entities).

Modes: ``mask`` stores ``[EMAIL]``, ``[PHONE]``...; ``vault`` stores ``[EMAIL:3fa9c1d2e0b4]``,
a token derived from the value by HMAC with the vault key (the same value, the same
token, so adding a message twice still finds it already stored), and keeps the value
encrypted (Fernet: AES-128-CBC with HMAC-SHA256) in the vault table, read back only
through an admin key.  Either way the raw value reaches no table, index or vector."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import PIIConfig, PIIDetector
from ..errors import ConfigError

LABELS: dict[PIIDetector, str] = {"email": "EMAIL", "phone": "PHONE", "card": "CARD", "national_id": "NATIONAL_ID",
                                  "iban": "IBAN", "name": "NAME"}
TOKEN_RE = re.compile(r"\[(EMAIL|PHONE|CARD|NATIONAL_ID|IBAN|NAME):([0-9a-f]{12})\]")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_NINO = re.compile(r"\b(?![DFIQUV])[A-CEGHJ-PR-TW-Z](?![DFIOQUV])[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_CN_ID = re.compile(r"(?<!\d)[1-9]\d{16}[\dXx](?![\dXx])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


@dataclass(frozen=True)
class Finding:
    kind: PIIDetector
    start: int
    end: int
    value: str


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def cn_id_ok(text: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(text[:17], weights, strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


class Detector:
    """Finds the configured kinds of PII in a text (non-overlapping, in order)."""

    def __init__(self, config: PIIConfig) -> None:
        self.kinds = set(config.detectors)
        self.region = config.phone_region
        self._nlp: Any = None

    def find(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        rules: list[tuple[PIIDetector, re.Pattern[str], Any]] = [
            ("email", _EMAIL, None),
            ("iban", _IBAN, iban_ok),
            ("card", _CARD, lambda v: luhn(re.sub(r"\D", "", v))),
            ("national_id", _SSN, None),
            ("national_id", _NINO, None),
            ("national_id", _CN_ID, cn_id_ok),
        ]
        for kind, pattern, check in rules:
            if kind in self.kinds:
                found += [Finding(kind, m.start(), m.end(), m.group()) for m in pattern.finditer(text)
                          if check is None or check(m.group())]
        if "phone" in self.kinds:
            found += self._phones(text)
        if "name" in self.kinds:
            found += self._names(text)
        return _disjoint(found)

    def _phones(self, text: str) -> list[Finding]:
        import phonenumbers

        return [Finding("phone", m.start, m.end, m.raw_string)
                for m in phonenumbers.PhoneNumberMatcher(text, self.region, leniency=phonenumbers.Leniency.VALID)]

    def _names(self, text: str) -> list[Finding]:
        if self._nlp is None:
            from ..ingest.parse_en import nlp

            self._nlp = nlp()
        return [Finding("name", e.start_char, e.end_char, e.text) for e in self._nlp(text).ents
                if e.label_ == "PERSON"]


def _disjoint(found: list[Finding]) -> list[Finding]:
    """The earliest, then longest, of overlapping findings."""
    out: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if not out or f.start >= out[-1].end:
            out.append(f)
    return out


@dataclass(frozen=True)
class Sealed:
    """A value to keep in the vault: its token, kind and ciphertext."""

    token: str
    kind: str
    ciphertext: bytes


class Redactor:
    """Replaces PII in texts as the space's mode says; in vault mode also returns what
    to seal."""

    def __init__(self, config: PIIConfig) -> None:
        self.config = config
        self.detector = Detector(config)
        self._fernet: Any = None
        self._mac_key = b""
        if any(m == "vault" for m in (config.mode, *config.spaces.values())):
            self._fernet, self._mac_key = _vault_keys(config.vault_key)

    def mode(self, space: str) -> str:
        return self.config.mode_for(space)

    def redact(self, space: str, text: str) -> tuple[str, list[Sealed]]:
        mode = self.mode(space)
        if mode == "off":
            return text, []
        findings = self.detector.find(text)
        if not findings:
            return text, []
        out, sealed, last = [], [], 0
        for f in findings:
            out.append(text[last:f.start])
            label = LABELS[f.kind]
            if mode == "mask":
                out.append(f"[{label}]")
            else:
                token = hmac.new(self._mac_key, f"{f.kind}\x1f{f.value}".encode(), hashlib.sha256).hexdigest()[:12]
                out.append(f"[{label}:{token}]")
                sealed.append(Sealed(token, f.kind, self._fernet.encrypt(f.value.encode())))
            last = f.end
        out.append(text[last:])
        return "".join(out), sealed

    def reveal(self, text: str, kept: dict[str, tuple[str, bytes]]) -> tuple[str, list[dict[str, str]]]:
        """The text with its vault tokens replaced by the originals, and the values."""
        if self._fernet is None:
            raise ConfigError("revealing vaulted PII needs pii.vault_key (ENGRAM_PII_VAULT_KEY)")
        values: list[dict[str, str]] = []

        def swap(m: re.Match[str]) -> str:
            item = kept.get(m.group(2))
            if item is None:
                return m.group(0)
            value = self._fernet.decrypt(item[1]).decode()
            values.append({"token": m.group(2), "kind": item[0], "value": value})
            return value

        return TOKEN_RE.sub(swap, text), values


def tokens_in(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(m.group(2) for t in texts for m in TOKEN_RE.finditer(t)))


def _vault_keys(key: str | None) -> tuple[Any, bytes]:
    if not key:
        raise ConfigError("pii mode 'vault' needs pii.vault_key (ENGRAM_PII_VAULT_KEY): a Fernet key, made by "
                          "`engram pii new-key`")
    from cryptography.fernet import Fernet

    try:
        fernet = Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"pii.vault_key is not a Fernet key (32 url-safe base64 bytes): {exc}") from exc
    # tokens are keyed by a key derived from the vault key, not the encryption key itself
    mac = hmac.new(base64.urlsafe_b64decode(key.encode()), b"engramos pii token", hashlib.sha256).digest()
    return fernet, mac


def new_vault_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
