"""Follow-up retrieval on conversations over SQuAD paragraphs: is the gold paragraph found when the
follow-up is searched as the system rewrites it, as it was typed, and as its standalone original?

The follow-ups file has one conversation per line: `{"id", "turns": [{"question", "standalone",
"paragraph_index": [article, paragraph], "answers": [...], "is_impossible": bool}]}` (indices into the
SQuAD file's `data` and `paragraphs`). Each conversation is replayed turn by turn; the assistant's earlier
replies in the history are the gold answers (or "Not in your documents." for unanswerable turns), so the
measure is of the rewriting, not of earlier answers. A follow-up is every turn after the first; recall
counts the answerable ones, and the unanswerable ones are judged by the abstainer on the rewritten
question over the passages retrieved for the search query.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DatasetError
from eval.gate import headline_entry
from eval.metrics import mean
from eval.qa import load_squad, read_records
from eval.retrieval import EVAL_TENANT, Progress, index_corpus
from generation.abstention import Abstainer
from generation.engines.protocol import Engine
from generation.history import Turn
from generation.prompts import NOT_IN_DOCUMENTS
from generation.rewrite import QueryRewriter
from retrieval.embedders import Embedder
from retrieval.index import StoreBackend
from retrieval.search import HybridSearcher
from retrieval.types import Scope

QUERIES = ("rewritten", "raw", "standalone")


@dataclass(frozen=True)
class FollowupTurn:
    """One turn: as typed, its standalone original, where its answer is, the answers, answerability."""

    question: str
    standalone: str
    paragraph: tuple[int, int]
    answers: tuple[str, ...]
    is_impossible: bool


@dataclass(frozen=True)
class FollowupConversation:
    """A conversation of turns, the first one standalone."""

    id: str
    turns: tuple[FollowupTurn, ...]


def load_followups(path: Path) -> list[FollowupConversation]:
    """Read a follow-ups JSONL file; DatasetError names the line of a malformed row."""
    conversations: list[FollowupConversation] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = tuple(_turn(t) for t in row["turns"])
            conversations.append(FollowupConversation(str(row["id"]), turns))
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: not a follow-ups row ({exc})") from exc
    return conversations


def _turn(raw: dict[str, object]) -> FollowupTurn:
    where = raw["paragraph_index"]
    answers = raw.get("answers") or []
    if not isinstance(where, list) or len(where) != 2 or not isinstance(answers, list):
        raise ValueError("paragraph_index is [article, paragraph] and answers a list")
    return FollowupTurn(
        str(raw["question"]),
        str(raw["standalone"]),
        (int(where[0]), int(where[1])),
        tuple(str(a) for a in answers),
        bool(raw.get("is_impossible", False)),
    )


def paragraph_ids(squad: Path) -> list[list[str]]:
    """The paragraph ids `load_squad` gives, by [article][paragraph]."""
    articles = json.loads(squad.read_text(encoding="utf-8"))["data"]
    return [[f"{a['title']}__p{n:03d}" for n in range(len(a["paragraphs"]))] for a in articles]


def evaluate_conversations(
    squad: Path,
    followups: Path,
    embedder: Embedder,
    engine: Engine,
    backend: StoreBackend,
    top_k: int = 5,
    abstainer: Abstainer | None = None,
    progress: Progress | None = None,
    cache: Path | None = None,
) -> dict[str, object]:
    """Replay every conversation; recall@`top_k` of the gold paragraph per query kind, and abstention.

    With `cache`, each turn's record is appended to that JSONL file when done (and again when its
    abstention is judged, after every rewrite); a rerun with the same file reuses them."""
    report = progress or (lambda stage, done, total: None)
    paragraphs, _ = load_squad(squad)
    ids = paragraph_ids(squad)
    conversations = load_followups(followups)
    rewriter = QueryRewriter(engine)
    records: list[dict[str, object]] = []
    total = sum(len(c.turns) for c in conversations)
    with tempfile.TemporaryDirectory(prefix="verity-conversations-") as tmp:
        index, _ = index_corpus(paragraphs, "squad", embedder, backend, Path(tmp), report)
        searcher = HybridSearcher(index, embedder)
        replay = Replay(searcher, rewriter, abstainer, ids, top_k, cache)
        for conversation in conversations:
            records += replay.conversation(conversation)
            report("replaying conversations", len(records), total)
        judged = [r for r in records if r["is_impossible"] and int(str(r["turn"])) > 0]
        for done, record in enumerate(judged, start=1):
            replay.judge(record)
            report("judging unanswerable follow-ups", done, len(judged))
        index.catalog.close()
    return {
        "file": str(squad),
        "followups_file": str(followups),
        "top_k": top_k,
        "history": "gold answers",
        **summarize(records),
        "per_turn": records,
    }


class Replay:
    """Replays conversations turn by turn against one index."""

    def __init__(
        self,
        searcher: HybridSearcher,
        rewriter: QueryRewriter,
        abstainer: Abstainer | None,
        ids: Sequence[Sequence[str]],
        top_k: int,
        cache: Path | None = None,
    ) -> None:
        self._searcher, self._rewriter = searcher, rewriter
        self._abstainer, self._ids, self._top_k = abstainer, ids, top_k
        self._scope = Scope(EVAL_TENANT, "squad")
        self._cache = cache
        self._cached = {_key(r): r for r in read_records(cache)} if cache is not None else {}

    def conversation(self, conversation: FollowupConversation) -> list[dict[str, object]]:
        """One record per turn."""
        history: list[Turn] = []
        records = []
        for number, turn in enumerate(conversation.turns):
            record = self._cached.get(f"{conversation.id}:{number}")
            if record is None:
                record = self.turn(conversation.id, number, turn, history)
                self._keep(record)
            standalone = str(record["standalone_question"])
            records.append(record)
            reply = turn.answers[0] if turn.answers and not turn.is_impossible else NOT_IN_DOCUMENTS
            history.append(Turn(turn.question, reply, standalone))
        return records

    def turn(self, cid: str, number: int, turn: FollowupTurn, history: Sequence[Turn]) -> dict[str, object]:
        """Rewrite and search three ways."""
        start = time.perf_counter()
        query = self._rewriter.standalone(turn.question, history)
        seconds = time.perf_counter() - start
        gold = self._ids[turn.paragraph[0]][turn.paragraph[1]]
        texts = {"rewritten": query.searched, "raw": turn.question, "standalone": turn.standalone}
        hits = {kind: self._hit(text, gold) for kind, text in texts.items()}
        record: dict[str, object] = {
            "conversation": cid,
            "turn": number,
            "question": turn.question,
            "standalone": turn.standalone,
            "search_query": query.searched,
            "standalone_question": query.text,
            "rewrite": query.method,
            "rewrite_seconds": round(seconds, 3),
            "paragraph": gold,
            "is_impossible": turn.is_impossible,
            "hit@5": hits,
        }
        return record

    def judge(self, record: dict[str, object]) -> None:
        """Ask the abstainer about an unanswerable follow-up (once: a cached judgement is kept)."""
        if "abstained" in record:
            return
        record["abstained"] = self._abstained(str(record["search_query"]), str(record["standalone_question"]))
        self._keep(record)

    def _keep(self, record: dict[str, object]) -> None:
        if self._cache is not None:
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            with self._cache.open("a", encoding="utf-8") as file:
                file.write(json.dumps(record) + "\n")

    def _hit(self, query: str, gold: str) -> bool:
        found = self._searcher.search(query, self._scope, self._top_k)
        return any(p.chunk.document_id == gold for p in found.passages[: self._top_k])

    def _abstained(self, searched: str, question: str) -> bool | None:
        """Whether the system abstains on `question` over the passages found for `searched`."""
        if self._abstainer is None:
            return None
        passages = self._searcher.search(searched, self._scope, self._top_k).passages
        return not passages or not self._abstainer.decide(question, passages).answer


def _key(record: dict[str, object]) -> str:
    return f"{record['conversation']}:{record['turn']}"


def summarize(records: Sequence[dict[str, object]]) -> dict[str, object]:
    """Recall@5 over answerable follow-ups per query kind; abstention over unanswerable follow-ups."""
    followups = [r for r in records if int(r["turn"]) > 0]  # type: ignore[call-overload]
    answerable = [r for r in followups if not r["is_impossible"]]
    impossible = [r for r in followups if r["is_impossible"]]
    recall = {
        kind: round(mean([float(r["hit@5"][kind]) for r in answerable]), 4)  # type: ignore[index]
        for kind in QUERIES
    }
    judged = [r["abstained"] for r in impossible if r.get("abstained") is not None]
    methods: dict[str, int] = {}
    for r in followups:
        methods[str(r["rewrite"])] = methods.get(str(r["rewrite"]), 0) + 1
    return {
        "followups": {"n": len(answerable), "recall@5": recall, "rewrite_methods": methods},
        "unanswerable": {
            "n": len(impossible),
            "abstained": round(mean([float(bool(a)) for a in judged]), 4) if judged else None,
        },
    }


def conversations_headline(result: dict[str, object]) -> dict[str, dict[str, object]]:
    """The gate's headline metrics of a conversations run: follow-up recall@5 as rewritten and as
    typed, and how often unanswerable follow-ups were declined (absent when none was judged)."""
    followups = result["followups"]
    unanswerable = result["unanswerable"]
    assert isinstance(followups, dict) and isinstance(unanswerable, dict)
    recall = followups["recall@5"]
    headline: dict[str, dict[str, object]] = {
        f"conversations.recall_{kind}": headline_entry(recall[kind]) for kind in ("rewritten", "raw")
    }
    if unanswerable.get("abstained") is not None:
        headline["conversations.unanswerable_abstained"] = headline_entry(unanswerable["abstained"])
    return headline
