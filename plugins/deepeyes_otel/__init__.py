"""deepeyes plugins for OpenTelemetry: OTLP/JSON trace exports with the GenAI semantic conventions."""
