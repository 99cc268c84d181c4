"""Taking in a user's images: crafted bad inputs each get their own error, and the good files survive."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from metaviz.data import uploads
from metaviz.data.uploads import Limits, Preprocessing, UploadError

OMNI = Preprocessing(28, 1, ink=True)
GREY = Preprocessing(16, 1, ink=False, source="a folder")
RGB = Preprocessing(16, 3, ink=False, source="a folder")


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def glyph(seed: int, size: int = 60, dark_on_light: bool = True) -> np.ndarray:
    """A random stroke figure, black on white (or white on black)."""
    rng = np.random.default_rng(seed)
    a = np.zeros((size, size), np.uint8)
    for _ in range(3):
        r, c = rng.integers(8, size - 8, 2)
        a[r - 2:r + 2, 8:size - 8] = 255
        a[8:size - 8, c - 2:c + 2] = 255
    return 255 - a if dark_on_light else a


def make_zip(entries: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compress)
    return buffer.getvalue()


def reasons(result) -> dict[str, str]:
    return {r.file: r.reason for r in result.rejected}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, bit_depth: int, colour: int, rows: bytes) -> bytes:
    """A PNG written by hand (to declare any size, or use 16-bit samples)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


# ---- preprocessing ---------------------------------------------------------------------------------

def test_dark_strokes_on_light_paper_are_inverted_and_light_on_dark_kept():
    light = uploads.example_from_bytes("a.png", png(glyph(0)), OMNI).image
    dark = uploads.example_from_bytes("b.png", png(glyph(0, dark_on_light=False)), OMNI).image
    assert light.shape == (1, 28, 28) and light.dtype == np.float32
    np.testing.assert_allclose(light, dark, atol=1e-6)   # same figure, same model input
    assert light.max() == pytest.approx(1.0, abs=0.02)   # strokes are ink = 1
    assert light[0, :2].max() < 0.05 and light[0, :, :2].max() < 0.05  # the paper around is 0 (up to Lanczos)
    assert 0.05 < light.mean() < 0.5


def test_grey_paper_and_grey_ink_are_stretched_to_zero_and_one():
    a = glyph(1).astype(np.float32)
    greyish = (90 + a * (200 - 90) / 255).astype(np.uint8)   # ink 90, paper 200
    out = uploads.example_from_bytes("g.png", png(greyish), OMNI).image
    ref = uploads.example_from_bytes("r.png", png(glyph(1)), OMNI).image
    np.testing.assert_allclose(out, ref, atol=0.02)


def test_official_omniglot_drawings_get_exactly_the_training_preprocessing():
    from metaviz.data.omniglot import Archive, preprocess
    from metaviz.data.oneshot import find_runs

    try:
        path = find_runs()
    except FileNotFoundError as error:
        pytest.skip(f"Omniglot's all_runs.zip is not available: {error}")
    with Archive(path) as archive:
        names = [n for n in archive.files if n.endswith(".png")][:12]
        for name in names:
            data = archive.read(name)
            mine = uploads.example_from_bytes(name, data, OMNI).image[0]
            np.testing.assert_array_equal(mine, preprocess(data, 28))


def test_an_uploaded_folder_is_read_exactly_as_the_image_folder_task_reads_it(tmp_path):
    from helpers import make_image_folder

    from metaviz.data.images import load_folder

    root = make_image_folder(tmp_path / "f", n_classes=3, per_class=4, size=20)
    support = uploads.ingest_folder(root, GREY)
    reference = load_folder(root, size=16, rgb=False)
    x, y = support.arrays()
    assert support.names == reference.names and not support.rejected
    np.testing.assert_array_equal(x, reference.images.numpy())
    np.testing.assert_array_equal(y, reference.labels.numpy())


def test_cmyk_becomes_rgb_and_sixteen_bit_is_scaled_not_clipped():
    buffer = io.BytesIO()
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(buffer, format="JPEG", quality=95)  # pure red
    red = uploads.example_from_bytes("red.jpg", buffer.getvalue(), RGB).image
    np.testing.assert_allclose(red.mean((1, 2)), [1.0, 0.0, 0.0], atol=0.03)

    grey16 = np.full((20, 20), 32768, np.uint16)    # mid-grey in 16 bits; clipping would make it white
    half = uploads.example_from_bytes("g16.png", png(grey16), GREY).image
    np.testing.assert_allclose(half, 128 / 255, atol=1e-6)

    # 16-bit RGB, written by hand: red = 65535, green = 16384, blue = 0 in every pixel
    row = b"\x00" + struct.pack(">HHH", 65535, 16384, 0) * 8
    rgb16 = uploads.example_from_bytes("rgb16.png", raw_png(8, 8, 16, 2, row * 8), RGB).image
    np.testing.assert_allclose(rgb16.mean((1, 2)), [1.0, 64 / 255, 0.0], atol=1 / 255)


def test_transparency_and_palettes_land_on_white_paper():
    rgba = np.zeros((30, 30, 4), np.uint8)          # transparent black everywhere ...
    rgba[10:20, 5:25] = (0, 0, 0, 255)              # ... but an opaque black bar
    drawn = uploads.example_from_bytes("t.png", png(rgba, "RGBA"), OMNI).image
    opaque = np.full((30, 30), 255, np.uint8)
    opaque[10:20, 5:25] = 0
    np.testing.assert_allclose(drawn, uploads.example_from_bytes("o.png", png(opaque), OMNI).image, atol=1e-6)

    palette = Image.fromarray(opaque).convert("P")
    palette.info["transparency"] = 0                 # palette index 0 (black) transparent: all white
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", transparency=0)
    white = uploads.example_from_bytes("p.png", buffer.getvalue(), GREY).image
    np.testing.assert_allclose(white, 1.0)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), "white")      # wide as stored
    exif = image.getexif()
    exif[0x0112] = 6                                  # "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    example = uploads.example_from_bytes("phone.jpg", buffer.getvalue(), RGB)
    h, w, _ = example.preview.shape
    assert h > w                                      # shown upright: tall


def test_blank_drawings_are_rejected_and_drawings_match_files():
    canvas = np.zeros((200, 200, 4), np.uint8)       # the canvas's transparent background
    with pytest.raises(ValueError, match="blank"):
        uploads.example_from_drawing("empty", canvas, OMNI)
    canvas[90:110, 40:160] = (0, 0, 0, 255)
    drawn = uploads.example_from_drawing("bar", canvas, OMNI).image
    assert drawn.shape == (1, 28, 28) and drawn.max() > 0.9 and drawn[0, 0, 0] == 0
    with pytest.raises(ValueError, match="drawing must be"):
        uploads.example_from_drawing("bad", np.zeros((5, 5)), OMNI)


def test_digits_are_eight_by_eight_ink_and_flat():
    spec = Preprocessing(8, 1, ink=True, flat=True)
    example = uploads.example_from_bytes("d.png", png(glyph(3)), spec)
    assert example.image.shape == (1, 8, 8) and spec.input_shape == (64,)


def test_preprocessing_follows_the_models_task():
    from metaviz.tasks.image_folder import ImageFolderConfig
    from metaviz.tasks.omniglot import OmniglotConfig
    from metaviz.train import RunConfig

    omni = uploads.preprocessing_for(RunConfig("omniglot", "protonet", OmniglotConfig(size=20)))
    assert (omni.size, omni.channels, omni.ink, omni.flat) == (20, 1, True, False)
    folder = uploads.preprocessing_for(RunConfig("image-folder", "protonet", ImageFolderConfig(path="x", rgb=True,
                                                                                               size=32)))
    assert (folder.size, folder.channels, folder.ink) == (32, 3, False)
    assert uploads.preprocessing_for(RunConfig("digits", "protonet")).flat
    with pytest.raises(ValueError, match="regression"):
        uploads.preprocessing_for(RunConfig("sinusoid", "maml"))
    with pytest.raises(ValueError, match="not images"):
        uploads.preprocessing_for(RunConfig("blobs", "protonet"))


# ---- bad files ---------------------------------------------------------------------------------------

def test_each_bad_file_gets_its_own_reason_and_the_good_ones_survive():
    good = png(glyph(4))
    jpeg = io.BytesIO()
    Image.fromarray(glyph(5)).save(jpeg, format="JPEG")
    huge = raw_png(100_000, 100_000, 8, 0, b"\x00" * 10)             # 10^10 pixels declared, 60 bytes sent
    big = raw_png(5_000, 5_000, 8, 0, b"\x00" * 10)                 # over our 20 megapixels, under Pillow's
    support = uploads.ingest_classes({
        "alpha": [("a1.png", good), ("huge.png", huge), ("big.png", big)],
        "beta": [("b1.jpg", jpeg.getvalue()), ("cut.jpg", jpeg.getvalue()[:len(jpeg.getvalue()) // 2]),
                 ("text.png", b"hello, I am not a picture"), ("notes.txt", b"text")],
        "empty": [],
        "  ": [("x.png", good)],
    }, OMNI)
    why = reasons(support)
    assert support.counts() == {"alpha": 1, "beta": 1}
    assert "too many pixels" in why["huge.png"]
    assert "5000x5000 pixels is over the limit of 20,000,000" in why["big.png"]
    assert "truncated" in why["cut.jpg"]
    assert "not a readable image" in why["text.png"] and "cannot identify" in why["text.png"]
    assert "not a PNG, JPEG" in why["notes.txt"]
    assert "no usable images (no files were given)" in why["class 'empty'"]
    assert "give the class a name" in why["1 file(s) without a class name"]


def test_a_class_whose_files_all_fail_is_reported_not_kept_empty():
    support = uploads.ingest_classes({"ok": [("a.png", png(glyph(0)))], "bad": [("b.png", b"junk")]}, OMNI)
    assert support.names == ("ok",)
    assert "no usable images (its 1 file(s) were rejected)" in reasons(support)["class 'bad'"]
    assert "not a readable image" in reasons(support)["b.png"]


def test_too_many_files_and_classes_are_refused_past_the_limit():
    files = {f"c{i}": [(f"{i}-{j}.png", png(glyph(i * 10 + j))) for j in range(2)] for i in range(4)}
    support = uploads.ingest_classes(files, OMNI, Limits(max_files=5, max_classes=3))
    assert len(support) == 5 and support.names == ("c0", "c1", "c2")
    why = reasons(support)
    assert "over the limit of 5 images per upload" in why["2-1.png"]
    assert "over the limit of 3 classes" in why["class 'c3'"]
    pixels = uploads.ingest_classes(files, OMNI, Limits(max_total_pixels=3 * 60 * 60))
    assert len(pixels) == 3 and any("pixels per upload" in r.reason for r in pixels.rejected)


def test_big_files_are_refused_before_decoding():
    noise = np.random.default_rng(0).integers(0, 256, (100, 100), dtype=np.uint8)   # does not compress
    support = uploads.ingest_classes({"a": [("big.png", png(noise)), ("ok.png", png(glyph(1)))]},
                                     OMNI, Limits(max_file_bytes=2_000))
    assert len(support) == 1 and "over the limit of 2,000 per file" in reasons(support)["big.png"]


# ---- zips and folders --------------------------------------------------------------------------------

def test_zip_of_class_folders_in_one_enclosing_folder():
    data = make_zip({"animals/": b"", "animals/cat/1.png": png(glyph(0)), "animals/cat/2.png": png(glyph(1)),
                     "animals/dog/1.png": png(glyph(2)), "animals/dog/readme.txt": b"hi",
                     "__MACOSX/animals/._1.png": b"junk", "animals/bird/notes.md": b"no images here",
                     "loose.png": png(glyph(3))})
    support = uploads.ingest_zip(data, OMNI, label="pets.zip")
    # "loose.png" sits outside "animals": there is no single enclosing folder, so animals is the class
    assert "not inside a class folder" in reasons(support)["pets.zip:loose.png"]
    assert support.counts() == {"animals": 3}
    data = make_zip({k: v for k, v in {"animals/cat/1.png": png(glyph(0)), "animals/cat/2.png": png(glyph(1)),
                                       "animals/dog/1.png": png(glyph(2)), "animals/dog/readme.txt": b"hi",
                                       "animals/bird/notes.md": b"none"}.items()})
    support = uploads.ingest_zip(data, OMNI, label="pets.zip")
    assert support.counts() == {"cat": 2, "dog": 1}
    assert [e.name for e in support.classes["cat"]] == ["pets.zip:animals/cat/1.png", "pets.zip:animals/cat/2.png"]
    assert "has no images" in reasons(support)["class 'bird'"]
    assert any("ignored 2 file(s)" in n and "readme.txt" in n for n in support.notes)


def test_zip_paths_that_climb_out_or_are_absolute_are_refused_and_the_rest_kept():
    data = make_zip({"cat/1.png": png(glyph(0)), "../evil.png": png(glyph(1)), "/etc/abs.png": png(glyph(2)),
                     "dog/../../up.png": png(glyph(3)), "dog\\..\\..\\win.png": png(glyph(4)),
                     "C:/drive.png": png(glyph(5)), "dog/1.png": png(glyph(6))})
    support = uploads.ingest_zip(data, OMNI, label="evil.zip")
    assert support.counts() == {"cat": 1, "dog": 1}
    why = reasons(support)
    for name in ("../evil.png", "/etc/abs.png", "dog/../../up.png", "dog\\..\\..\\win.png", "C:/drive.png"):
        assert "unsafe path" in why[f"evil.zip:{name}"], name


def test_zip_bomb_declared_sizes_are_refused_without_decompressing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cat/1.png", png(glyph(0)))
        z.writestr("dog/1.png", png(glyph(1)))
        with z.open("dog/bomb.png", "w") as f:           # 20 MB of zeros, about 20 KB compressed
            for _ in range(20):
                f.write(bytes(1_000_000))
    data = buffer.getvalue()
    assert len(data) < 100_000
    support = uploads.ingest_zip(data, OMNI, Limits(max_file_bytes=1_000_000), label="bomb.zip")
    assert support.counts() == {"cat": 1, "dog": 1}
    assert "declares 20,000,000 bytes uncompressed" in reasons(support)["bomb.zip:dog/bomb.png"]


def test_zip_total_uncompressed_size_is_capped():
    entries = {f"c{i % 2}/{i}.png": png(glyph(i)) for i in range(6)}
    sizes = [len(v) for v in entries.values()]
    limit = sum(sizes[:3]) + 1                          # room for three images
    support = uploads.ingest_zip(make_zip(entries), OMNI, Limits(max_zip_bytes=limit), label="z.zip")
    assert len(support) == 3
    assert sum("add up to more than" in r.reason for r in support.rejected) == 3


def lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with ``name``'s uncompressed size rewritten to ``size`` in its local header and its
    central directory record (what a zip bomb does to get past declared-size checks)."""
    out, key = bytearray(data), name.encode()
    local = out.index(b"PK\x03\x04")
    while out[local + 30:local + 30 + len(key)] != key:
        local = out.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", out, local + 22, size)
    central = out.index(b"PK\x01\x02")
    while out[central + 46:central + 46 + len(key)] != key:
        central = out.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def test_a_zip_that_lies_about_its_sizes_is_cut_off_while_reading():
    data = lie_about_size(make_zip({"cat/1.png": png(glyph(0)), "dog/1.png": png(glyph(1)),
                                    "dog/liar.png": bytes(2_000_000)}), "dog/liar.png", 100)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.getinfo("dog/liar.png").file_size == 100   # passes every declared-size check
    support = uploads.ingest_zip(data, OMNI, Limits(max_file_bytes=1_000), label="liar.zip")
    assert support.counts() == {"cat": 1, "dog": 1}
    assert "corrupt zip entry" in reasons(support)["liar.zip:dog/liar.png"]  # zipfile stops at 100 bytes

    # zipfile stops at the declared size; our own count stops at the cap, whatever is declared
    archive = zipfile.ZipFile(io.BytesIO(make_zip({"x/big.png": bytes(2_000_000)})))
    with pytest.raises(ValueError, match="decompresses to more than 1,000 bytes although it declares 2,000,000"):
        uploads._read_capped(archive, archive.getinfo("x/big.png"), 1_000)


def test_zips_refused_as_a_whole_say_why():
    with pytest.raises(UploadError, match="not a readable zip"):
        uploads.ingest_zip(b"PK but not really", OMNI, label="fake.zip")
    many = make_zip({f"c/{i}.png": b"" for i in range(6)})
    with pytest.raises(UploadError, match="6 entries is over the limit of 5"):
        uploads.ingest_zip(many, OMNI, Limits(max_zip_entries=5), label="many.zip")
    with pytest.raises(UploadError, match="per zip file"):
        uploads.ingest_zip(many, OMNI, Limits(max_archive_bytes=10), label="many.zip")


def test_support_from_folder_or_zip_path_and_queries_from_anywhere(tmp_path):
    for c in ("x", "y"):
        (tmp_path / "support" / c).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(glyph(ord(c) + i)).save(tmp_path / "support" / c / f"{i}.png")
    (tmp_path / "q" / "more").mkdir(parents=True)
    Image.fromarray(glyph(7)).save(tmp_path / "q" / "b.png")
    Image.fromarray(glyph(8)).save(tmp_path / "q" / "more" / "a.png")
    (tmp_path / "q" / "broken.png").write_bytes(b"nope")
    folder = uploads.ingest_support(tmp_path / "support", OMNI)
    zipped = tmp_path / "support.zip"
    zipped.write_bytes(make_zip({f"{c}/{i}.png": (tmp_path / "support" / c / f"{i}.png").read_bytes()
                                 for c in "xy" for i in range(2)}))
    from_zip = uploads.ingest_support(zipped, OMNI)
    np.testing.assert_array_equal(folder.arrays()[0], from_zip.arrays()[0])
    assert folder.names == from_zip.names == ("x", "y")

    queries = uploads.ingest_queries(tmp_path / "q", OMNI)
    assert [e.name for e in queries.examples] == ["b.png", "more/a.png"]
    assert "not a readable image" in reasons(queries)["broken.png"]
    single = uploads.ingest_queries(tmp_path / "q" / "b.png", OMNI)
    np.testing.assert_array_equal(single.arrays()[0], queries.arrays()[0])
    uploaded = uploads.ingest_queries([("b.png", (tmp_path / "q" / "b.png").read_bytes()), ("z.zip", make_zip(
        {"../x.png": b"", "in/1.png": png(glyph(9))})), ("t.txt", b"")], OMNI)
    assert [e.name for e in uploaded.examples] == ["b.png", "z.zip:in/1.png"]
    assert "unsafe path" in reasons(uploaded)["z.zip:../x.png"] and "t.txt" in reasons(uploaded)
    with pytest.raises(UploadError, match="does not exist"):
        uploads.ingest_support(tmp_path / "nowhere", OMNI)


def test_sets_merge_remove_and_respect_the_limits():
    a = uploads.ingest_classes({"a": [("1.png", png(glyph(1))), ("2.png", png(glyph(2)))]}, OMNI)
    b = uploads.ingest_classes({"a": [("3.png", png(glyph(3)))], "b": [("4.png", png(glyph(4)))],
                                "c": [("5.png", png(glyph(5)))]}, OMNI)
    both = a.merged(b, Limits(max_classes=2))
    assert both.counts() == {"a": 3, "b": 1} and "over the limit of 2 classes" in reasons(both)["class 'c'"]
    x, y = both.arrays()
    assert x.shape == (4, 1, 28, 28) and y.tolist() == [0, 0, 0, 1]
    smaller = both.without("a", 1)
    assert [e.name for e in smaller.classes["a"]] == ["1.png", "3.png"]
    assert smaller.without("b", 0).names == ("a",)
    with pytest.raises(ValueError, match="empty"):
        uploads.SupportSet({}).arrays()


def test_limits_are_stated_in_words():
    text = " ".join(Limits().lines())
    for piece in ("10 MB per image file", "400 images", "20 classes", "2,000 entries", "'..'"):
        assert piece in text
