"""Small helpers shared by every stage: safe file writes and safe names."""
