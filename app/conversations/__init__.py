"""Server-side conversations: records per tenant, their store, and answering the next turn."""
