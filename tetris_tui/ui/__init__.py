"""The Textual front end. Imports nothing heavy: training runs in a worker process."""
