"""dataverse."""
