"""Every read that depends on who is asking goes through this package (ownership in every query)."""
