"""Photos: an upload becomes stored JPEGs that carry nothing but pixels (see pipeline)."""

from gusp.photos.decode import sniff
from gusp.photos.pipeline import ProcessedPhoto, Rendition, process

__all__ = ["ProcessedPhoto", "Rendition", "process", "sniff"]
