"""Map prints (POST /carte/impression/): the endpoint (views) and its request checks (params);
the map, the page and the legend are drawn by the map engine (maps.printing)."""
