"""Token-id input to `/v1/embeddings`: decoded only when the ids are the embedding model's own.

OpenAI's schema lets a client send token ids instead of text, and some clients do so unasked: LangChain's
`OpenAIEmbeddings` tokenizes with tiktoken by default. Those ids mean other words in this model's
vocabulary, so embedding them would silently return vectors of different text. What can be told from
the ids alone, and is refused here:

- an id outside the vocabulary (MiniLM has 30,522; tiktoken's ids reach 100,000 and beyond);
- an id of a reserved token no text ever tokenizes to: BERT's `[unusedN]` (ids 1-99 and 104-998 of
  MiniLM, where tiktoken puts its commonest words), padding and the mask.

A sequence of ordinary wordpieces that happens to come from another tokenizer cannot be told apart from
a real one, and is embedded as the text it decodes to. `[CLS]`, `[SEP]` and `[UNK]` are accepted: the
model's own tokenizer produces them (the first two with its default settings).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from retrieval.embedders import Embedder

# Tokens of a vocabulary that no text tokenizes to: BERT's reserved slots, padding and the mask.
_NEVER_FROM_TEXT = re.compile(r"\[unused\d+\]|\[PAD\]|\[MASK\]|<pad>|<mask>")


class TokenIdsNotInVocabulary(ValueError):
    """Token ids that are not of the embedding model's vocabulary (e.g. tiktoken ids)."""


def foreign_token_id(token_ids: Sequence[int], embedder: Embedder) -> tuple[int, str | None] | None:
    """The first id (with its token, None when outside the vocabulary) that text never tokenizes to."""
    for token_id, token in zip(token_ids, embedder.token_strings(token_ids), strict=True):
        if token is None or _NEVER_FROM_TEXT.fullmatch(token):
            return token_id, token
    return None


def decode_token_ids(token_ids: Sequence[int], embedder: Embedder) -> str:
    """The text of token ids of the embedder's own vocabulary; raises TokenIdsNotInVocabulary otherwise."""
    foreign = foreign_token_id(token_ids, embedder)
    if foreign is None:
        return embedder.decode(token_ids)
    token_id, token = foreign
    name = embedder.name
    where = (
        f"is not in the vocabulary of {name}"
        if token is None
        else f"is {name}'s reserved token {token!r}, which no text tokenizes to"
    )
    raise TokenIdsNotInVocabulary(
        f"input holds token id {token_id}, which {where}: token ids must come from this model's own "
        "tokenizer. These look like another tokenizer's ids (tiktoken's, as LangChain's OpenAIEmbeddings "
        "sends by default); send the text instead (OpenAIEmbeddings: check_embedding_ctx_length=False)."
    )
