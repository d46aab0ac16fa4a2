"""`python -m app` runs the `verity` command (useful from a git worktree, where the console script
imports the installed checkout)."""

from app.cli import main

main()
