"""Printed documents: meeting packs and walking-diagnostic restitutions, drawn with reportlab."""
