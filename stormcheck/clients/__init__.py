"""Thin, typed clients of the backends the harness talks to; foreign errors become BackendError."""
