"""Training of Verity's own models (the safety heads): code that the runtime packages never import.

`safety_sets` reads the shared safety data sets, `heads` fits the linear heads and the escalation stage,
`context_head` fits the context head on planted attacks, and `train_all` runs them all for
`verity safety train`.
"""
