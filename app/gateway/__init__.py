"""The gateway: tenants and API keys, rate limits, prepaid credits, the usage ledger, fair scheduling."""
