"""Integration tests of the generic-task registry and its built-in tasks."""
