"""Workflow pieces without the stack: the [workflow] config section, route steps, the CA,
the server-side approval check, the device key seal, what review takes from the scanner."""

from __future__ import annotations

import base64
import hashlib

import magic
import pytest
import tomli_w

from client_sdk import documents as client_documents
from gost import CertificateRequest, Name, PrivateKey, cms, get_curve, streebog256, streebog512
from workflow import ca, content, signing
from workflow.errors import WorkflowError
from workflow.routes import Step
from workflow.scanning.dlp import DlpScan
from workflow.scanning.filetype import FileTypeCheck, MimeOf
from workflow.scanning.pipeline import hash_only
from xmpp_server_plugins import config as config_mod


def _config(tmp_path, **workflow):
    doc = config_mod.default_document()
    if workflow:
        doc["workflow"] = workflow
    path = tmp_path / "oplot.toml"
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


def test_workflow_section_is_optional_and_validated(tmp_path):
    assert config_mod.load(_config(tmp_path)).workflow == config_mod.WorkflowSettings()
    cfg = config_mod.load(_config(tmp_path, sweep_seconds=2, deadline_seconds=60),
                          environ={"OPLOT_WORKFLOW_SWEEP_SECONDS": "3"})
    assert (cfg.workflow.sweep_seconds, cfg.workflow.deadline_seconds) == (3, 60)
    assert f"workflow.{cfg.domain}" in cfg.component_domains
    with pytest.raises(config_mod.ConfigError, match="workflow.reminder_seconds"):
        config_mod.load(_config(tmp_path, reminder_seconds=0))


def test_route_steps_parse_or_say_why():
    assert Step.parse("role:head:3600") == Step("role", "head", 3600)
    assert str(Step.parse(" unit:demo-it ")) == "unit:demo-it"
    for bad in ("boss:bob", "person:", "person:Bob", "unit:x:0", "role:head:soon", "a:b:c:d"):
        with pytest.raises(WorkflowError, match="route step"):
            Step.parse(bad)


def test_ca_certifies_requests_for_their_own_jid_only(tmp_path):
    key = PrivateKey.generate(get_curve("TCA"))
    request = CertificateRequest.create(Name.parse("CN=bob@example.org"), key).to_pem()
    cert = ca.issue(tmp_path, "example.org", request, "bob@example.org")
    authority = ca.authority(tmp_path, "example.org")
    cert.verify(authority.certificate)
    assert ca.common_name(cert) == "bob@example.org"
    assert oct((tmp_path / "workflow" / "ca.key").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ca.EnrollmentError, match="CN must be exactly"):
        ca.issue(tmp_path, "example.org", request, "alice@example.org")
    with pytest.raises(ca.EnrollmentError, match="not a valid"):
        ca.issue(tmp_path, "example.org", request.replace(b"M", b"N", 3), "bob@example.org")

    document = b"the document"
    digests = {"256": streebog256(document).hexdigest()}
    good = cms.sign(document, key, cert, detached=True)
    assert signing.check_approval(good, digests, authority.certificate,
                                  "bob@example.org") == cert
    with pytest.raises(signing.SignatureError, match="not over this document"):
        signing.check_approval(cms.sign(b"other", key, cert, detached=True), digests,
                               authority.certificate, "bob@example.org")
    with pytest.raises(signing.SignatureError, match="not 'alice@example.org'"):
        signing.check_approval(good, digests, authority.certificate, "alice@example.org")
    with pytest.raises(signing.SignatureError, match="1 to"):
        signing.check_approval(b"", digests, authority.certificate, "bob@example.org")


def test_device_key_is_sealed_with_the_account_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("OPLOT_CLIENT_HOME", str(tmp_path))
    key = client_documents._new_key("bob@example.org", "s3cret")
    sealed = (tmp_path / "signing" / "bob@example.org" / "key.sealed").read_bytes()
    assert key.to_bytes() not in sealed
    assert client_documents._unseal("s3cret", "bob@example.org", sealed).to_bytes() \
        == key.to_bytes()
    with pytest.raises(client_documents.DocumentError, match="does not open"):
        client_documents._unseal("wrong", "bob@example.org", sealed)


def test_a_cached_certificate_check_is_per_ca(tmp_path):
    """The approver's certificate is verified once per process, but only against the CA it
    verified with: another organisation's CA, or a certificate it did not issue, still fails."""
    key = PrivateKey.generate(get_curve("TCA"))
    request = CertificateRequest.create(Name.parse("CN=bob@example.org"), key).to_pem()
    cert = ca.issue(tmp_path / "a", "example.org", request, "bob@example.org")
    ours = ca.authority(tmp_path / "a", "example.org").certificate
    theirs = ca.authority(tmp_path / "b", "example.org").certificate
    document = b"the document"
    digests = {"256": streebog256(document).hexdigest()}
    good = cms.sign(document, key, cert, detached=True)
    for _ in range(2):  # the second time from the cache
        assert signing.check_approval(good, digests, ours, "bob@example.org") == cert
    with pytest.raises(signing.SignatureError, match="does not verify"):
        signing.check_approval(good, digests, theirs, "bob@example.org")
    forged = ca.issue(tmp_path / "b", "example.org", request, "bob@example.org")
    with pytest.raises(signing.SignatureError, match="does not verify"):
        signing.check_approval(cms.sign(document, key, forged, detached=True), digests, ours,
                               "bob@example.org")


def test_review_trusts_the_scanners_digests_only_for_the_shared_key_and_hash():
    material = bytes(range(32))
    shared = base64.b64encode(material).decode()
    detail = {"streebog256": "a" * 64, "streebog512": "b" * 128,
              "key_check": content.key_check(material)}
    assert content.scan_facts(detail, "c" * 64, "c" * 64, shared) == {"256": "a" * 64,
                                                                       "512": "b" * 128}
    assert content.key_check(material) != content.key_check(bytes(32))
    assert material.hex() not in content.key_check(material)
    other = base64.b64encode(bytes(32)).decode()
    for facts in ((detail, "c" * 64, "d" * 64, shared),  # scanned bytes are not the document
                  (detail, "c" * 64, "c" * 64, other),  # participants got another key
                  (detail, "c" * 64, "c" * 64, "not base64!"),
                  ({"streebog256": "a" * 64, "key_check": detail["key_check"]}, "c" * 64,
                   "c" * 64, shared),  # no 512-bit digest recorded
                  (None, None, "c" * 64, shared)):  # no verdict detail at all
        assert content.scan_facts(*facts) is None


def test_one_scan_asks_libmagic_once(monkeypatch):
    asked = []
    real = magic.from_buffer
    monkeypatch.setattr(magic, "from_buffer", lambda data, **kw: asked.append(1) or real(
        data, **kw))
    mime_of = MimeOf()
    kind = FileTypeCheck((), 1 << 20, mime_of)
    dlp = DlpScan(("SECRET",), mime_of)
    text = b"a plain text memo, marked SECRET\n" * 10
    kind.feed(text)
    dlp.feed(text)
    assert kind.result() is None and kind.mime().startswith("text/")
    assert dlp.result() == ["SECRET"] and len(asked) == 1
    kind.feed(b"\x00\x01 more bytes")  # the head changed: asked again, never a stale answer
    kind.mime()
    assert len(asked) == 2


def test_scan_digests_are_the_documents(monkeypatch):
    data = b"x" * 70000 + b"tail"
    digests = hash_only([data[:65536], data[65536:]], streebog=True)
    assert digests.sha256.hexdigest() == hashlib.sha256(data).hexdigest()
    assert digests.detail() == {"streebog256": streebog256(data).hexdigest(),
                                "streebog512": streebog512(data).hexdigest()}
    assert hash_only([data]).detail() == {}
