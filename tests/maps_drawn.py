"""What a map shows, for the tests that compare protocols: which town halls an OGC API – Maps
image draws as a red disc (layers.testing.red_disc_style)."""
import io


def halls_on_ogcapi_map(client, name, places):
    """The INSEE codes of `places` ({insee: (x, y)} in Lambert-93) drawn as a red disc on the
    layer's OGC API – Maps image; None when the collection is unknown to the client."""
    from PIL import Image

    xs, ys = [p[0] for p in places.values()], [p[1] for p in places.values()]
    box, size = (min(xs) - 2000, min(ys) - 2000, max(xs) + 2000, max(ys) + 2000), 300
    response = client.get(f"/ogc/collections/{name}/map", {
        "bbox": ",".join(map(str, box)), "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/2154",
        "width": size, "height": size})
    if response.status_code == 404:
        assert b"Mairie" not in response.content
        return None
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGBA")
    drawn = set()
    for insee, (x, y) in places.items():
        pixel = image.getpixel((int((x - box[0]) / (box[2] - box[0]) * size),
                                int((box[3] - y) / (box[3] - box[1]) * size)))
        if pixel[3] > 200 and pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60:
            drawn.add(insee)
    return drawn
