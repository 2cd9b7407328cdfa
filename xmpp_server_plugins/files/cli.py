"""``oplot-files rotate-master-key``: new master key, every file key re-wrapped under it.

File data is never rewritten: each per-file key is unwrapped with its old master key and
wrapped again with the new one, row by row in small transactions, so the command can be
interrupted and run again. Old master keys are destroyed once no file refers to them.
"""

from __future__ import annotations

import argparse
import sys

import psycopg

from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.files.keys import MasterKeys

BATCH = 500


def rotate(cfg: config_mod.Config, keep_old: bool = False) -> dict[str, int]:
    masters = MasterKeys(cfg.state_dir)
    new_id = masters.add()
    moved = 0
    with psycopg.connect(cfg.app_dsn) as db:
        while True:
            with db.transaction():
                rows = db.execute(
                    "SELECT id, master_key_id, wrapped_key FROM oplot.files WHERE "
                    "master_key_id <> %s LIMIT %s FOR UPDATE SKIP LOCKED",
                    (new_id, BATCH)).fetchall()
                for file_id, old_id, wrapped in rows:
                    _, rewrapped = masters.wrap(masters.unwrap(old_id, bytes(wrapped)), new_id)
                    db.execute("UPDATE oplot.files SET master_key_id = %s, wrapped_key = %s "
                               "WHERE id = %s", (new_id, rewrapped, file_id))
            moved += len(rows)
            if not rows:
                break
        in_use = {r[0] for r in db.execute("SELECT DISTINCT master_key_id FROM oplot.files")}
    retired = 0
    if not keep_old:
        for key_id in masters.ids():
            if key_id != new_id and key_id not in in_use:
                masters.retire(key_id)
                retired += 1
    return {"master_key": new_id, "rewrapped": moved, "retired": retired}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oplot-files", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="path to oplot.toml")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("rotate-master-key", help="new master key; re-wrap every file key")
    p.add_argument("--keep-old", action="store_true", help="do not destroy old master keys")
    args = parser.parse_args(argv)
    try:
        cfg = config_mod.load(args.config or config_mod.locate())
        result = rotate(cfg, keep_old=args.keep_old)
    except (config_mod.ConfigError, psycopg.Error, OSError, KeyError) as exc:
        print(f"oplot-files: {exc}", file=sys.stderr)
        return 1
    print(f"master key {result['master_key']} is current; re-wrapped {result['rewrapped']} "
          f"file keys; destroyed {result['retired']} old master keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
