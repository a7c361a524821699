"""What the cleanup function does on its schedules: each minute, release due delayed jobs,
reconcile dead letters and start due recurring runs; each night, apply retention."""
