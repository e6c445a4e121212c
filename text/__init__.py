"""Text helpers shared by ingest and search: sentences, sentence windows, clocks, sentence roles."""
