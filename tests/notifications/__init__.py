"""Integration tests of the e-mail and SMS jobs."""
