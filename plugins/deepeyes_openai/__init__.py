"""deepeyes plugins for OpenAI formats: Chat Completions transcripts."""
