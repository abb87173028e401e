"""The hardening tools other tests rely on: tools/scan-secrets (self-test with planted secrets in files,
JSON, base64, a chunk boundary, a child's environment) and the fuzz scripts' argument checks."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_scan_secrets_self_test():
    r = subprocess.run([os.path.join(ROOT, "tools", "scan-secrets"), "--self-test"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test: ok" in r.stdout


def test_scan_secrets_refuses_to_scan_without_needles():
    r = subprocess.run([os.path.join(ROOT, "tools", "scan-secrets"), ROOT + "/docs"], capture_output=True, text=True)
    assert r.returncode == 2


def test_fuzz_run_rejects_unknown_target():
    r = subprocess.run([os.path.join(ROOT, "fuzz", "run.sh"), "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown target" in r.stderr
