"""Who the client is and whether it may come in: host names, trusted proxies, sign-in, and the
groups that decide which presets and deployments it may use."""
