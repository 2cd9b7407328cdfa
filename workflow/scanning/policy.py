"""The scanning policy: shipped defaults (``policy.toml`` here) overridden key by key by
``STATE_DIR/scan-policy.toml``. Its fingerprint, together with the rules and the ClamAV
signature version, keys the verdict cache, so a policy change means a fresh scan."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULTS = Path(__file__).with_name("policy.toml")
RULES_DIR = Path(__file__).with_name("rules")


class PolicyError(ValueError):
    """The policy file is unreadable or a value has the wrong type."""


@dataclass(frozen=True)
class Policy:
    clamd: str
    max_size: int
    blocked_types: tuple[str, ...]
    yara_rules: tuple[str, ...]
    dlp_patterns: tuple[str, ...]

    def rule_files(self) -> list[Path]:
        return sorted(RULES_DIR.glob("*.yar")) + [Path(p) for p in self.yara_rules]

    def fingerprint(self, engine_versions: str) -> str:
        doc = json.dumps(self.__dict__, sort_keys=True, default=list).encode()
        digest = hashlib.sha256(doc + engine_versions.encode())
        for path in self.rule_files():
            digest.update(path.read_bytes())
        return digest.hexdigest()[:32]


def load(state_dir: Path) -> Policy:
    doc = tomllib.loads(DEFAULTS.read_text())
    override = Path(state_dir) / "scan-policy.toml"
    if override.exists():
        try:
            extra = tomllib.loads(override.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{override}: not valid TOML ({exc})") from exc
        for key, value in extra.items():
            if key not in doc or type(value) is not type(doc[key]):
                raise PolicyError(f"{override}: {key}: unknown key or wrong type")
            doc[key] = value
    clamd = doc["clamd"] or str(Path(state_dir) / "clamd" / "clamd.sock")
    return Policy(clamd, doc["max_size"], tuple(doc["blocked_types"]),
                  tuple(doc["yara_rules"]), tuple(doc["dlp_patterns"]))
