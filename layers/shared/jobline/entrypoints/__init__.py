"""Lambda entry points shared by the functions: the SQS worker handler and the cleanup schedules."""
