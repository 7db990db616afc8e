"""deepeyes plugins for Anthropic formats: Claude Messages API transcripts and more."""
