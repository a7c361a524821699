"""The HTTP API under /api/v1: one Powertools resolver, routers split by concept."""
