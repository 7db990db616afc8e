"""deepeyes plugins for Langfuse: traces exported from Langfuse's public API."""
