"""The serving layer: one module per use case, between HTTP (or any other surface) and the packages.

Each use case takes the caller and a typed request, admits it (rate limits, a credit hold, the engine's
predicted wait), runs its pipeline with only the engine's work inside the fair turn, settles it in the
ledger however it ends, and returns a typed result or one typed event stream. Routes parse, call, render.

- `answers.py`: grounded answers (`/v1/answers`, `verity` chat models, conversations)
- `chat.py`: plain chat with the engine (its own model name on `/v1/chat/completions`)
- `admission.py`: admission, the fair turn and settlement, shared by the two
- `fold.py`: `Answer`, the one fold of an answer's event stream into its final object
"""
