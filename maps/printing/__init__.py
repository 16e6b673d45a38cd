"""Prints of maps: the map drawn by the engine under the access policy (render), the PDF page
or PNG image around it (compose), ground measures for the scale bar and north arrow (ground)."""
