"""Log lines a machine can parse and nobody can bend."""
