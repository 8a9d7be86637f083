"""The read path: a query IR (``ir``), built from JSON filters (``build``) or by hand,
and written as one SQL statement per query (``statements``) for one reader."""
