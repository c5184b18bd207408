"""What mediasoup's test-Worker.js asserts, checked against our driver and the real worker.

Covered elsewhere: unknown log level / rtcMinPort > rtcMaxPort (test_worker.py
test_bad_settings_fail_start_with_exit_42), wrong workerBin (test_missing_binary_...),
worker.dump() contents and its rejection once closed (test_worker.py).
Not applicable: the ``newworker`` observer event (no global observer here) and
``appData`` type checks (typed in Python, not checked at run time).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import signal
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mediasoup_driver import (
    ChannelTypeError,
    RouterOptions,
    WebRtcTransportOptions,
    Worker,
    WorkerClosedError,
    WorkerResourceUsage,
    WorkerSettings,
    WorkerSettingsError,
    WorkerStartError,
    resolve_worker_bin,
)

from tests.conftest import WORKER_BIN
from tests.integration.parity_support import LOCALHOST, record


def _write_certificate(directory: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate and key (PEM); returns their paths and the certificate's
    SHA-256 fingerprint as DTLS writes it (upper-case hex pairs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parity-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "dtls-cert.pem"
    key_file = directory / "dtls-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    fingerprint = ":".join(f"{byte:02X}" for byte in cert.fingerprint(hashes.SHA256()))
    return cert_file, key_file, fingerprint


def test_worker_bin_comes_from_the_argument_then_the_environment_then_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEDIASOUP_WORKER_BIN", "/opt/mediasoup-worker")
    assert resolve_worker_bin() == "/opt/mediasoup-worker"
    assert resolve_worker_bin("/explicit/mediasoup-worker") == "/explicit/mediasoup-worker"
    monkeypatch.delenv("MEDIASOUP_WORKER_BIN")
    on_path = tmp_path / "mediasoup-worker"
    on_path.symlink_to(WORKER_BIN)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert resolve_worker_bin() == str(on_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(WorkerStartError, match="MEDIASOUP_WORKER_BIN"):
        resolve_worker_bin()


async def test_create_worker_with_defaults_then_close() -> None:
    worker = await Worker.start()
    closes = record(worker.on_close)
    assert isinstance(worker.pid, int) and worker.pid > 0
    assert not worker.closed and not worker.died.fired and not worker.exited.done()
    exit_info = await worker.close()
    assert worker.closed and worker.exited.done()
    assert exit_info.code == 0 and exit_info.signal is None
    assert not worker.died.fired
    assert closes == [None]
    await worker.close()
    assert closes == [None]  # close is reported once


async def test_create_worker_with_every_setting(tmp_path: Path) -> None:
    cert_file, key_file, fingerprint = _write_certificate(tmp_path)
    worker = await Worker.start(
        WorkerSettings(
            log_level="debug",
            log_tags=("info",),
            rtc_min_port=20000,
            rtc_max_port=20999,
            dtls_certificate_file=str(cert_file),
            dtls_private_key_file=str(key_file),
            libwebrtc_field_trials="WebRTC-Bwe-AlrLimitedBackoff/Disabled/",
            app_data={"foo": 456},
        )
    )
    try:
        assert not worker.closed and not worker.died.fired
        assert worker.app_data == {"foo": 456}
        router = await worker.create_router(RouterOptions())
        transport = await router.create_webrtc_transport(
            WebRtcTransportOptions(listen_infos=(LOCALHOST,))
        )
        # The worker serves the given certificate and binds within the given ports.
        sha256 = [
            f["value"]
            for f in transport.dtls_parameters["fingerprints"]
            if f["algorithm"] == "sha-256"
        ]
        assert sha256 == [fingerprint]
        assert 20000 <= transport.ice_candidates[0]["port"] <= 20999
    finally:
        exit_info = await worker.close()
    assert exit_info.code == 0 and worker.closed and not worker.died.fired


async def test_create_worker_with_wrong_settings_is_refused(tmp_path: Path) -> None:
    cert_file, key_file, _ = _write_certificate(tmp_path)
    wrong = [
        WorkerSettings(rtc_min_port=1000, rtc_max_port=999),
        WorkerSettings(rtc_min_port=1000, rtc_max_port=65536),  # ports are 0..65535
        WorkerSettings(dtls_certificate_file="/notfound/cert.pem"),
        WorkerSettings(dtls_private_key_file="/notfound/priv.pem"),
        # A readable certificate without its key (and vice versa) is refused too, not
        # silently replaced by a generated certificate.
        WorkerSettings(dtls_certificate_file=str(cert_file)),
        WorkerSettings(dtls_private_key_file=str(key_file)),
    ]
    for settings in wrong:
        with pytest.raises(WorkerSettingsError) as info:
            await Worker.start(settings)
        assert info.value.exit_code == 42, settings
        assert isinstance(info.value, ValueError)


async def test_update_settings(worker: Worker) -> None:
    assert await worker.update_settings(log_level="debug", log_tags=("ice",)) is None
    with pytest.raises(ChannelTypeError, match="logLevel") as info:
        await worker.update_settings(log_level="chicken")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert (await worker.dump()).pid == worker.pid  # the worker is still fine
    await worker.close()
    with pytest.raises(WorkerClosedError):
        await worker.update_settings(log_level="error")


async def test_get_resource_usage(worker: Worker) -> None:
    usage = await worker.get_resource_usage()
    values = dataclasses.asdict(usage)
    assert set(values) == {f.name for f in dataclasses.fields(WorkerResourceUsage)}
    assert all(isinstance(v, int) and v >= 0 for v in values.values())
    assert usage.ru_maxrss > 0
    await worker.close()
    with pytest.raises(WorkerClosedError):
        await worker.get_resource_usage()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=str)
async def test_worker_died_is_emitted_before_close(sig: signal.Signals) -> None:
    worker = await Worker.start(WorkerSettings(log_level="warn"))
    router = await worker.create_router()
    events: list[tuple[str, bool]] = []
    worker.died.add_listener(lambda _exit: events.append(("died", worker.closed)))
    worker.on_close.add_listener(lambda _exit: events.append(("close", worker.closed)))
    os.kill(worker.pid, sig)
    exit_info = await worker.died.wait()
    # "died" first, with the worker already marked closed, then "close"; each once.
    assert events == [("died", True), ("close", True)]
    assert worker.exited.done() and worker.exited.result() == exit_info
    if sig == signal.SIGKILL:
        assert exit_info.signal == signal.SIGKILL
    else:  # the worker handles SIGINT/SIGTERM by shutting down cleanly
        assert exit_info.code == 0
    assert router.closed
    assert await worker.close() == exit_info
    assert events == [("died", True), ("close", True)]


async def test_worker_ignores_pipe_hup_alrm_usr1_usr2() -> None:
    worker = await Worker.start(WorkerSettings(log_level="warn"))
    died = record(worker.died)
    for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2):
        os.kill(worker.pid, sig)
    # A round trip makes the worker run, so the signals have been delivered by then.
    assert (await worker.dump()).pid == worker.pid
    assert not worker.closed and not worker.exited.done() and died == []
    exit_info = await worker.close()
    assert exit_info.code == 0 and exit_info.signal is None
    assert died == []
