"""What each request came to (its outcome and log line), and what is counted from it: usage, daily
quotas, Prometheus metrics."""
