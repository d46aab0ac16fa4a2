"""The release gate: headline metrics of a run compared with a stored baseline.

`verity eval all` runs the evaluations a config file names, reduces each result to headline metrics
({value, ci95}) and compares them with the baseline's `headline.json`. A higher-is-better metric fails
when its value falls below the lower end of the baseline's 95% interval by more than its tolerance (no
interval: below the baseline value by more than the tolerance); a metric the baseline has and the run
lacks fails too. Config files are TOML (or JSON): one table per evaluation, and a `[gate]` table with
`tolerance` (default for every metric) and `[gate.tolerances]` ("name.metric" = tolerance).
"""

from __future__ import annotations

import json
import tomllib
import typing as t
from pathlib import Path

from eval.errors import GateConfigError

DEFAULT_TOLERANCE = 0.02
Headline = dict[str, dict[str, t.Any]]


def load_config(path: Path) -> dict[str, t.Any]:
    """A gate config from TOML (or JSON when the file ends in .json)."""
    try:
        text = path.read_text(encoding="utf-8")
        config = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise GateConfigError(f"{path}: not a readable gate config ({exc})") from exc
    if not any(k != "gate" for k in config):
        raise GateConfigError(f"{path}: names no evaluation (add a [retrieval], [qa], ... table)")
    return config


def load_headline(directory: Path) -> Headline:
    """The headline metrics stored in a run folder (`headline.json`)."""
    path = directory / "headline.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GateConfigError(f"{path}: no baseline headline metrics there ({exc})") from exc
    return t.cast(Headline, data.get("metrics", data))


def headline_entry(value: float | None, ci95: t.Sequence[float] | None = None) -> dict[str, t.Any]:
    """One headline metric."""
    return {"value": value, "ci95": list(ci95) if ci95 is not None else None}


def tolerance_of(config: dict[str, t.Any], metric: str) -> float:
    """The tolerance the config gives `metric` (its own, else the default)."""
    gate = config.get("gate", {})
    return float(gate.get("tolerances", {}).get(metric, gate.get("tolerance", DEFAULT_TOLERANCE)))


def compare(current: Headline, baseline: Headline, config: dict[str, t.Any]) -> dict[str, t.Any]:
    """Check every baseline metric against the run; `passed` is false when any fails."""
    checks = []
    for metric, base in sorted(baseline.items()):
        if base.get("value") is None:
            continue
        tolerance = tolerance_of(config, metric)
        floor = (base["ci95"][0] if base.get("ci95") else base["value"]) - tolerance
        now = current.get(metric, {}).get("value")
        status = "missing" if now is None else "pass" if now >= floor else "fail"
        checks.append(
            {
                "metric": metric,
                "baseline": base["value"],
                "baseline_ci95": base.get("ci95"),
                "current": now,
                "current_ci95": current.get(metric, {}).get("ci95"),
                "tolerance": tolerance,
                "floor": round(floor, 4),
                "status": status,
            }
        )
    return {"passed": all(c["status"] == "pass" for c in checks), "checks": checks}


def render_gate(result: dict[str, t.Any]) -> str:
    """The comparison as a Markdown table."""
    lines = [
        f"# Gate: {'PASSED' if result['passed'] else 'FAILED'}",
        "",
        "| metric | baseline [95% CI] | current | floor | status |",
        "|---|---|---|---|---|",
    ]
    for c in result["checks"]:
        ci = c["baseline_ci95"]
        base = f"{c['baseline']:.4f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")
        now = "-" if c["current"] is None else f"{c['current']:.4f}"
        lines.append(f"| {c['metric']} | {base} | {now} | {c['floor']:.4f} | {c['status']} |")
    return "\n".join(lines) + "\n"
