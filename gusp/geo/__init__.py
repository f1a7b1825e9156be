"""Perimeters (quartiers) and where a point falls: GeoJSON <-> Shapely <-> PostGIS."""
