"""What the server is told: the settings (from the environment, a `.env` file and code), and the
endpoints and presets files they may name."""
