"""SQL text for the two dialects: identifier naming and each dialect's spellings."""
