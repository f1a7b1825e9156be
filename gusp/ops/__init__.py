"""Running GUSP: health and readiness, metrics, logs, the `gusp check` report, deployment files."""
