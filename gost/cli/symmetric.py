"""Hash, cipher and MAC subcommands of ``oplot-gost``: dgst, enc, dec, mac.

Input is stdin (or files for dgst/mac), output stdout; long inputs are processed in chunks
of :data:`CHUNK` bytes so memory stays bounded, except ``-mode mgm`` (one RFC 9058 message:
the tag must verify before any plaintext is released). ``-mode stream`` is the chunked
Kuznyechik-MGM format of :mod:`gost.stream`. ECB/CBC pad with GOST R 34.13 procedure 2
unless ``-nopad``. Errors are reported by the dispatcher as one line, exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from gost import modes, stream
from gost.acpkm import CtrAcpkm
from gost.kdf import HmacKey
from gost.kuznyechik import Kuznyechik
from gost.magma import Magma
from gost.mgm import KuznyechikMGM, MagmaMGM
from gost.streebog import streebog256, streebog512

CHUNK = 1 << 20
CIPHERS = {"kuznyechik": Kuznyechik, "magma": Magma}
MODES = ("ecb", "ctr", "ctr-acpkm", "cbc", "ofb", "cfb", "mgm", "stream")


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{what} is not valid hex") from None


def _chunks(src: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """(chunk, is_last) pairs of CHUNK bytes; reads one chunk ahead to know the last."""
    current = src.read(CHUNK)
    while True:
        following = src.read(CHUNK)
        yield current, not following
        if not following:
            return
        current = following


def _out() -> BinaryIO:
    return sys.stdout.buffer


# -- dgst / mac --------------------------------------------------------------------------------


def _inputs(files: list[str]) -> Iterator[tuple[str, BinaryIO]]:
    if not files:
        yield "stdin", sys.stdin.buffer
        return
    for name in files:
        with Path(name).open("rb") as fh:
            yield name, fh


def _digest_factory(args: argparse.Namespace) -> Callable[[], object]:
    bits = 512 if args.alg == "streebog512" else 256
    if args.hmac is None:
        return streebog512 if bits == 512 else streebog256
    return HmacKey(_hex(args.hmac, "HMAC key"), bits // 8).new


def _dgst(args: argparse.Namespace) -> int:
    new = _digest_factory(args)
    for name, fh in _inputs(args.files):
        h = new()
        while block := fh.read(CHUNK):
            h.update(block)
        print(f"{h.hexdigest()} *{name}")
    return 0


def _mac(args: argparse.Namespace) -> int:
    cipher = _cipher(args)
    for name, fh in _inputs(args.files):
        mac = modes.Omac(cipher, args.size)
        while block := fh.read(CHUNK):
            mac.update(block)
        print(f"{mac.finalize().hex()} *{name}")
    return 0


# -- enc / dec ---------------------------------------------------------------------------------


def _cipher(args: argparse.Namespace):
    return CIPHERS[args.cipher](_hex(args.K, "key (-K)"))


def _need_iv(args: argparse.Namespace) -> bytes:
    if args.iv is None:
        raise ValueError(f"-mode {args.mode} needs -iv HEX")
    return _hex(args.iv, "IV (-iv)")


def _crypt(args: argparse.Namespace, encrypt: bool) -> int:
    src, dst = sys.stdin.buffer, _out()
    if args.mode == "stream":
        key = _hex(args.K, "key (-K)")
        if encrypt:
            stream.encrypt_stream(key, src, dst)
        else:
            stream.decrypt_stream(key, src, dst)
        return 0
    cipher = _cipher(args)
    n = cipher.block_size
    if args.mode == "mgm":
        aead = (KuznyechikMGM if n == 16 else MagmaMGM)(_hex(args.K, "key (-K)"), args.tag_size)
        nonce, ad = _need_iv(args), _hex(args.aad or "", "AAD (-aad)")
        data = src.read()
        dst.write(aead.encrypt(nonce, data, ad) if encrypt else aead.decrypt(nonce, data, ad))
        return 0
    iv = b"" if args.mode == "ecb" else _need_iv(args)
    step = _STEPS[args.mode](args, cipher, iv, encrypt)
    for chunk, last in _chunks(src):
        dst.write(step(chunk, last))
    return 0


def _ecb_step(args, cipher, iv, encrypt):
    n = cipher.block_size

    def step(chunk: bytes, last: bool) -> bytes:
        if encrypt:
            if last and not args.nopad:
                chunk = modes.pad2(chunk, n)
            return modes.ecb_encrypt(cipher, chunk)
        plain = modes.ecb_decrypt(cipher, chunk)
        return modes.unpad2(plain, n) if last and not args.nopad else plain

    return step


def _cbc_step(args, cipher, iv, encrypt):
    n, state = cipher.block_size, [iv]

    def step(chunk: bytes, last: bool) -> bytes:
        if encrypt:
            if last and not args.nopad:
                chunk = modes.pad2(chunk, n)
            out = modes.cbc_encrypt(cipher, state[0], chunk)
            state[0] = (state[0] + out)[-len(iv):]  # the register holds the last m bytes of C
            return out
        out = modes.cbc_decrypt(cipher, state[0], chunk)
        state[0] = (state[0] + chunk)[-len(iv):]
        return modes.unpad2(out, n) if last and not args.nopad else out

    return step


def _ctr_step(args, cipher, iv, encrypt):
    done = [0]

    def step(chunk: bytes, last: bool) -> bytes:
        out = modes.ctr(cipher, iv, chunk, first=done[0])
        done[0] += len(chunk) // cipher.block_size
        return out

    return step


def _acpkm_step(args, cipher, iv, encrypt):
    ctr = CtrAcpkm(CIPHERS[args.cipher], _hex(args.K, "key (-K)"), iv)
    return lambda chunk, last: ctr.update(chunk)


def _ofb_step(args, cipher, iv, encrypt):
    state = [iv]

    def step(chunk: bytes, last: bool) -> bytes:
        out = modes.ofb(cipher, state[0], chunk)
        # the register holds the last m bytes of gamma = C xor P
        state[0] = (state[0] + modes._xor(out, chunk))[-len(iv):]
        return out

    return step


def _cfb_step(args, cipher, iv, encrypt):
    state = [iv]

    def step(chunk: bytes, last: bool) -> bytes:
        out = (modes.cfb_encrypt if encrypt else modes.cfb_decrypt)(cipher, state[0], chunk)
        state[0] = (state[0] + (out if encrypt else chunk))[-len(iv):]
        return out

    return step


_STEPS = {
    "ecb": _ecb_step,
    "cbc": _cbc_step,
    "ctr": _ctr_step,
    "ctr-acpkm": _acpkm_step,
    "ofb": _ofb_step,
    "cfb": _cfb_step,
}


def _enc(args: argparse.Namespace) -> int:
    return _crypt(args, True)


def _dec(args: argparse.Namespace) -> int:
    return _crypt(args, False)


# -- registration ------------------------------------------------------------------------------


def _add_cipher_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-cipher", choices=sorted(CIPHERS), default="kuznyechik")
    p.add_argument("-K", required=True, metavar="HEX", help="32-byte key in hex")


def register(sub: argparse._SubParsersAction) -> None:
    """Add dgst, enc, dec and mac to ``sub``."""
    p = sub.add_parser("dgst", help="Streebog digest or HMAC of files or stdin")
    alg = p.add_mutually_exclusive_group()
    alg.add_argument("-streebog256", dest="alg", action="store_const", const="streebog256")
    alg.add_argument("-streebog512", dest="alg", action="store_const", const="streebog512")
    p.add_argument("-hmac", metavar="HEXKEY", help="HMAC-Streebog with this key")
    p.add_argument("files", nargs="*")
    p.set_defaults(func=_dgst, alg="streebog256")

    for name, func, text in (("enc", _enc, "encrypt"), ("dec", _dec, "decrypt")):
        p = sub.add_parser(name, help=f"{text} stdin to stdout")
        _add_cipher_args(p)
        p.add_argument("-mode", choices=MODES, default="ctr")
        p.add_argument("-iv", metavar="HEX", help="IV (CTR: n/2 bytes) or MGM nonce (n bytes)")
        p.add_argument("-aad", metavar="HEX", help="MGM associated data")
        p.add_argument("-tag-size", dest="tag_size", type=int, default=None,
                       help="MGM tag bytes (default: block size)")
        p.add_argument("-nopad", action="store_true", help="ECB/CBC: input is whole blocks")
        p.set_defaults(func=func)

    p = sub.add_parser("mac", help="GOST R 34.13 MAC (OMAC) of files or stdin")
    _add_cipher_args(p)
    p.add_argument("-size", type=int, default=None, help="MAC bytes (default: block size)")
    p.add_argument("files", nargs="*")
    p.set_defaults(func=_mac)
