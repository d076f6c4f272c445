"""Regenerates the upload test images in this directory with the vips CLI
(libvips-tools) and a little byte surgery; run it from anywhere:

    python3 tests/blackbox/images/make_images.py

photo_exif_gps.jpg  1200 x 900 JPEG whose EXIF carries a GPS position, a
                    camera make and a comment (all must be gone after upload)
wide.webp           1000 x 500 WebP with the same EXIF (shrinks to 800 x 400)
small_text.png      300 x 200 PNG with a tEXt chunk (never enlarged)
tiny.gif            a 1 x 1 GIF (refused: not JPEG, PNG or WebP)
truncated.jpg       the first half of photo_exif_gps.jpg (refused: damaged)
"""

import os
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
GPS_MARK = b"OSHXONA-GPS-41.2995N-69.2401E"


def ppm(w, h, seed):
    """A smooth, cheap-to-compress colour pattern as a binary PPM."""
    rows = bytearray()
    for y in range(h):
        for x in range(w):
            rows += bytes(((x * 255 // w + seed) & 255, (y * 255 // h) & 255,
                           ((x + y) * 127 // (w + h) + 64) & 255))
    return b"P6\n%d %d\n255\n" % (w, h) + bytes(rows)


def vips(*args):
    subprocess.run(["vips", *args], check=True)


def exif_app1():
    """A big-endian TIFF/EXIF block: IFD0 (Make, Orientation=1, GPS IFD
    pointer, ImageDescription) and a GPS IFD with latitude and longitude."""
    entries0 = []
    data0 = bytearray()
    make = b"OshxonaCam\x00"
    desc = GPS_MARK + b"\x00"
    # offsets are from the TIFF header start
    ifd0_count = 4
    ifd0_size = 2 + ifd0_count * 12 + 4
    base = 8 + ifd0_size
    make_off = base
    desc_off = make_off + len(make)
    gps_off = desc_off + len(desc)
    gps_count = 4
    gps_size = 2 + gps_count * 12 + 4
    rat_off = gps_off + gps_size
    entries0.append(struct.pack(">HHII", 0x010F, 2, len(make), make_off))   # Make
    entries0.append(struct.pack(">HHII", 0x010E, 2, len(desc), desc_off))   # ImageDescription
    entries0.append(struct.pack(">HHIHH", 0x0112, 3, 1, 1, 0))             # Orientation
    entries0.append(struct.pack(">HHII", 0x8825, 4, 1, gps_off))            # GPSInfo
    entries0.sort(key=lambda e: struct.unpack(">H", e[:2])[0])
    ifd0 = struct.pack(">H", ifd0_count) + b"".join(entries0) + struct.pack(">I", 0)
    lat = struct.pack(">IIIIII", 41, 1, 17, 1, 5820, 100)
    lon = struct.pack(">IIIIII", 69, 1, 14, 1, 2436, 100)
    gps = struct.pack(">H", gps_count)
    gps += struct.pack(">HHI4s", 0x0001, 2, 2, b"N\x00\x00\x00")          # GPSLatitudeRef
    gps += struct.pack(">HHII", 0x0002, 5, 3, rat_off)                      # GPSLatitude
    gps += struct.pack(">HHI4s", 0x0003, 2, 2, b"E\x00\x00\x00")          # GPSLongitudeRef
    gps += struct.pack(">HHII", 0x0004, 5, 3, rat_off + len(lat))           # GPSLongitude
    gps += struct.pack(">I", 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + make + desc + gps + lat + lon
    data0 += b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(data0) + 2) + bytes(data0)


def with_exif(jpeg):
    assert jpeg[:2] == b"\xff\xd8"
    # Drop an APP1 vips may have written, put ours right after SOI.
    rest = jpeg[2:]
    if rest[:2] == b"\xff\xe0":  # keep JFIF APP0 first
        n = struct.unpack(">H", rest[2:4])[0]
        app0, rest = rest[: 2 + n], rest[2 + n:]
    else:
        app0 = b""
    while rest[:2] == b"\xff\xe1":
        n = struct.unpack(">H", rest[2:4])[0]
        rest = rest[2 + n:]
    return b"\xff\xd8" + app0 + exif_app1() + rest


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def small_png(w, h):
    raw = bytearray()
    for y in range(h):
        raw.append(0)
        for x in range(w):
            raw += bytes(((x // 30) * 25, (y // 25) * 30, 128))
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + png_chunk(b"tEXt", b"Comment\x00" + GPS_MARK)
            + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + png_chunk(b"IEND", b""))


TINY_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01"
            b"\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "photo.ppm").write_bytes(ppm(1200, 900, 0))
        vips("copy", str(t / "photo.ppm"), str(t / "photo.jpg[Q=40,strip]"))
        photo = with_exif((t / "photo.jpg").read_bytes())
        (HERE / "photo_exif_gps.jpg").write_bytes(photo)
        (HERE / "truncated.jpg").write_bytes(photo[: len(photo) // 2])
        (t / "wide.ppm").write_bytes(ppm(1000, 500, 90))
        vips("copy", str(t / "wide.ppm"), str(t / "wide.jpg[Q=90,strip]"))
        (t / "wide_exif.jpg").write_bytes(with_exif((t / "wide.jpg").read_bytes()))
        # webpsave keeps the EXIF it finds on the image
        vips("copy", str(t / "wide_exif.jpg"), str(HERE / "wide.webp[Q=40]"))
    (HERE / "small_text.png").write_bytes(small_png(300, 200))
    (HERE / "tiny.gif").write_bytes(TINY_GIF)
    for f in sorted(HERE.iterdir()):
        if f.suffix != ".py":
            print(f"{f.name}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
