"""The engine: enqueue and the one dispatch (write the record, then send the message), admin
operations, recurring schedules, the worker (batch reading, the attempt, the one outcome writer),
jobs run inside a request, lifecycle events and signed callbacks."""
