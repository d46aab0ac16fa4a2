"""The gateway's CLI contract: the key and the balance alone on the last line; serve refuses a public
address with no key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.gateway.keys import verify_key
from app.gateway.store import SqliteGatewayStore


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    return tmp_path


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_keys_and_credits_print_what_scripts_read_on_their_last_line(env: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--scope", "endpoint:answers"])
    assert made.exit_code == 0, made.output
    key = last_line(made.stdout)
    caller = verify_key(SqliteGatewayStore(env / "gateway.sqlite3"), key)
    assert caller.tenant == "acme" and caller.scopes.endpoints == frozenset({"answers"})
    assert runner.invoke(app, ["keys", "create", "--tenant", "acme", "--scope", "bogus"]).exit_code != 0
    args = ["credits", "grant", "--tenant", "acme", "--amount", "40", "--idempotency-key", "order-7"]
    assert last_line(runner.invoke(app, args).stdout) == "40"
    assert last_line(runner.invoke(app, args).stdout) == "40"  # the same order granted once
    past = ["credits", "grant", "--tenant", "acme", "--amount", "5", "--expires", "2001-01-01T00:00:00"]
    assert runner.invoke(app, past).exit_code == 0
    assert last_line(runner.invoke(app, ["credits", "balance", "--tenant", "acme"]).stdout) == "40"
    assert "order-7" in runner.invoke(app, ["credits", "history", "--tenant", "acme"]).stdout
    assert caller.key_id in runner.invoke(app, ["keys", "list"]).stdout
    assert runner.invoke(app, ["keys", "revoke", caller.key_id or ""]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code == 1
    reconciled = runner.invoke(app, ["usage", "reconcile"])
    assert reconciled.exit_code == 0 and "0 of 1 tenants drift" in reconciled.stdout


def test_serve_refuses_a_public_address_without_a_key(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "VERITY_AUTH=off" in refused.output
