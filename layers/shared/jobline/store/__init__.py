"""Job stores: one interface (`base.JobStore`), DynamoDB, Redis and in-memory adapters."""
