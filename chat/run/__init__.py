"""Running the server as a process: the command line, gunicorn workers, the process-wide tuning."""
