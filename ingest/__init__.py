"""Reading transcripts and notes into speaker-true, timed chunks."""
