"""Map prints (POST /carte/impression/): a PDF page or a PNG image of catalogue layers, drawn by
the WMS renderer under the access policy (params: request checks; render: the map; compose:
the page; views: the endpoint)."""
