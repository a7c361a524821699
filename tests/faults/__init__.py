"""The fault ledger: a thousand jobs through the worker while faults are injected at random."""
