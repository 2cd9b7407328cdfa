"""A private OpenLDAP ``slapd`` for tests: its own config, data and loopback port, loaded
with ``slapadd`` before it starts. The Debian system instance is never used."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import ldap3

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "test-root-secret"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def available() -> bool:
    return shutil.which("slapd") is not None or Path("/usr/sbin/slapd").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Slapd:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
        conf = self.dir / "slapd.conf"
        conf.write_text(f"""{includes}
pidfile {self.dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {data}
""")
        return conf

    def start(self, ldif: str) -> None:
        conf = self._config()
        (self.dir / "seed.ldif").write_text(ldif)
        subprocess.run(["/usr/sbin/slapadd", "-f", str(conf), "-l", str(self.dir / "seed.ldif")],
                       check=True, capture_output=True)
        self.proc = subprocess.Popen(["/usr/sbin/slapd", "-d", "0", "-f", str(conf), "-h",
                                      f"ldap://127.0.0.1:{self.port}/"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with self.connect():
                    return
            except ldap3.core.exceptions.LDAPException:
                time.sleep(0.1)
        raise RuntimeError(f"slapd did not start: {self.proc.stderr.read1(2000)!r}")

    def connect(self) -> ldap3.Connection:
        return ldap3.Connection(self.url, ROOT_DN, ROOT_PW, auto_bind=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
