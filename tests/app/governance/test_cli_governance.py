"""The operator's commands leave their audit entries with the actor `cli`, and list them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.cli_run import verity


def test_key_and_credit_commands_are_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    code, out = verity(monkeypatch, capsys, "keys", "create", "--tenant", "acme")
    key = next(line for line in out.splitlines() if line.startswith("vk-"))
    key_id = key.split("-")[1]
    assert code == 0
    assert verity(monkeypatch, capsys, "keys", "scopes", key_id, "--scope", "endpoint:answers")[0] == 0
    assert verity(monkeypatch, capsys, "keys", "scopes", "nosuchkey00")[0] == 1
    assert verity(monkeypatch, capsys, "credits", "grant", "--tenant", "acme", "--amount", "50")[0] == 0
    assert verity(monkeypatch, capsys, "keys", "revoke", key_id)[0] == 0
    code, out = verity(monkeypatch, capsys, "audit", "list", "--json", "--actor", "cli")
    entries = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in entries] == ["key.revoke", "credit.grant", "key.scopes", "key.create"]
    assert all(
        e["tenant"] == "acme" and key not in line for e, line in zip(entries, out.splitlines(), strict=True)
    )
    assert entries[1]["details"]["amount"] == 50 and entries[2]["details"]["after"] == "endpoint:answers"
    code, out = verity(monkeypatch, capsys, "audit", "list", "--action", "key.", "--limit", "1", "--json")
    assert [json.loads(line)["action"] for line in out.splitlines()] == ["key.revoke"]
    assert verity(monkeypatch, capsys, "audit", "verify") == (0, "the audit trail verifies\n")
    code, out = verity(monkeypatch, capsys, "abuse", "scan")
    assert code == 0 and "0 flags raised" in out
    code, out = verity(monkeypatch, capsys, "retention", "purge")
    assert code == 0 and "removed 0 items past their retention" in out
