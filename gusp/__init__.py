"""GUSP: field reports of the living environment for the Politique de la Ville."""
