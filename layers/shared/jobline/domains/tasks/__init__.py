"""Generic tasks: named task functions and service methods run by the `run-task` job on `generic-task`."""
