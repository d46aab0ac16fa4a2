"""Two `verity eval qa` runs over the same questions, compared figure by figure.

Each figure is a ratio of hits to counts summed over questions (contains gold: one per answerable
question; citations supported: the verified citations over all citations of a question's answer). Each
run's figure gets a Wilson 95% interval; the difference (new - base) gets a 95% interval from a paired
bootstrap over questions (the same resampled questions in both runs), which is what "no worse beyond
the interval" is judged on: a figure is worse only when that whole interval lies below zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence

from eval.errors import DatasetError

Record = Mapping[str, object]
Counter = Callable[[Record], tuple[float, float]]
BOOTSTRAP_ROUNDS = 2000


def _citations(record: Record) -> list[Mapping[str, object]]:
    value = record.get("citations")
    return [c for c in value if isinstance(c, Mapping)] if isinstance(value, list) else []


def _contains_gold(record: Record) -> tuple[float, float]:
    if not record["answerable"]:
        return 0.0, 0.0
    return float(record["contains_gold"]), 1.0  # type: ignore[arg-type]


def _supported(record: Record) -> tuple[float, float]:
    cited = _citations(record)
    return float(sum(bool(c["verified"]) for c in cited)), float(len(cited))


def _valid(record: Record) -> tuple[float, float]:
    cited = _citations(record)
    return float(sum(bool(c["valid"]) for c in cited)), float(len(cited))


FIGURES: dict[str, Counter] = {
    "answerable: gold answer in the answer": _contains_gold,
    "citations supported by their passage": _supported,
    "citations pointing at a shown passage": _valid,
}


def wilson_interval(hits: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (0, 1 when there is no observation)."""
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(counts: Sequence[tuple[float, float]]) -> float:
    total = sum(n for _, n in counts)
    return sum(h for h, _ in counts) / total if total else 0.0


def paired_difference(
    base: Sequence[tuple[float, float]],
    new: Sequence[tuple[float, float]],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> tuple[float, float, float]:
    """new - base of the pooled ratio, with a 95% percentile interval over questions resampled in pairs."""
    rng = random.Random(seed)
    n = len(base)
    draws = []
    for _ in range(rounds):
        picked = [rng.randrange(n) for _ in range(n)]
        draws.append(_ratio([new[i] for i in picked]) - _ratio([base[i] for i in picked]))
    draws.sort()
    return _ratio(new) - _ratio(base), draws[int(0.025 * rounds)], draws[int(0.975 * rounds) - 1]


def _side(counts: Sequence[tuple[float, float]]) -> dict[str, object]:
    hits, n = sum(h for h, _ in counts), sum(c for _, c in counts)
    lo, hi = wilson_interval(hits, n)
    return {"value": round(_ratio(counts), 4), "interval": [round(lo, 4), round(hi, 4)], "n": int(n)}


def compare_runs(base: Sequence[Record], new: Sequence[Record]) -> dict[str, object]:
    """Every figure of both runs with intervals, and the paired difference; raises `DatasetError` unless
    both runs asked the same questions."""
    by_id = {str(r["id"]): r for r in new}
    ids = [str(r["id"]) for r in base]
    if sorted(ids) != sorted(by_id):
        raise DatasetError("the two runs did not ask the same questions: compare runs of one --limit/--seed")
    base_of = {str(r["id"]): r for r in base}
    figures: dict[str, object] = {}
    for name, count in FIGURES.items():
        a = [count(base_of[i]) for i in ids]
        b = [count(by_id[i]) for i in ids]
        diff, lo, hi = paired_difference(a, b)
        figures[name] = {
            "base": _side(a),
            "new": _side(b),
            "difference": {"value": round(diff, 4), "interval": [round(lo, 4), round(hi, 4)]},
            "worse_beyond_interval": hi < 0,
        }
    return {"questions": len(ids), "figures": figures}


def markdown_table(comparison: Mapping[str, object], base: str, new: str) -> str:
    """The comparison as a Markdown table."""
    lines = [
        f"| {comparison['questions']} questions | {base} | {new} | difference (paired 95% interval) |",
        "|---|---|---|---|",
    ]
    figures = comparison["figures"]
    assert isinstance(figures, Mapping)
    for name, f in figures.items():
        a, b, d = f["base"], f["new"], f["difference"]
        lines.append(
            f"| {name} | {a['value']:.2f} ({a['interval'][0]:.2f}-{a['interval'][1]:.2f}), n={a['n']} "
            f"| {b['value']:.2f} ({b['interval'][0]:.2f}-{b['interval'][1]:.2f}), n={b['n']} "
            f"| {d['value']:+.3f} ({d['interval'][0]:+.3f} to {d['interval'][1]:+.3f}) |"
        )
    return "\n".join(lines) + "\n"
