"""Draw netdesk's icons: the application's and one per tool.

Run from the repository root after changing a drawing; the outputs are
committed, so neither users nor CI need Pillow:

    pip install pillow && python icons/make_icons.py

Each icon is drawn once at 1024 px and scaled down, giving PNGs at
16/32/48/64/128/256 px plus a multi-size .ico (Windows) and .icns (macOS).
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 48, 64, 128, 256)
S = 1024  # drawing size

COLOURS = {
    "netdesk": ((36, 99, 235), (14, 165, 233)),
    "echo": ((5, 150, 105), (52, 211, 153)),
    "chat": ((124, 58, 237), (167, 139, 250)),
    "scanner": ((217, 119, 6), (251, 191, 36)),
    "server": ((71, 85, 105), (148, 163, 184)),
}
WHITE = (255, 255, 255, 255)


def tile(name: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A rounded square with a vertical gradient."""
    top, bottom = COLOURS[name]
    grad = Image.new("RGBA", (S, S))
    px = grad.load()
    for y in range(S):
        t = y / (S - 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)) + (255,)
        for x in range(S):
            px[x, y] = colour
    mask = Image.new("L", (S, S), 0)
    ImageDraw.Draw(mask).rounded_rectangle((40, 40, S - 40, S - 40), radius=200, fill=255)
    img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    img.paste(grad, (0, 0), mask)
    return img, ImageDraw.Draw(img)


def draw_netdesk(d: ImageDraw.ImageDraw) -> None:
    """Three linked nodes: a network."""
    nodes = [(512, 270), (290, 690), (734, 690)]
    for a in nodes:
        for b in nodes:
            if a < b:
                d.line([a, b], fill=WHITE, width=56)
    for x, y in nodes:
        d.ellipse((x - 120, y - 120, x + 120, y + 120), fill=WHITE)


def draw_echo(d: ImageDraw.ImageDraw) -> None:
    """Out and back: two opposite arrows."""
    d.line([(230, 400), (730, 400)], fill=WHITE, width=70)
    d.polygon([(730, 290), (860, 400), (730, 510)], fill=WHITE)
    d.line([(300, 640), (800, 640)], fill=WHITE, width=70)
    d.polygon([(300, 530), (170, 640), (300, 750)], fill=WHITE)


def draw_chat(d: ImageDraw.ImageDraw) -> None:
    """A speech bubble with three dots."""
    d.rounded_rectangle((190, 230, 834, 700), radius=150, fill=WHITE)
    d.polygon([(330, 660), (280, 860), (500, 690)], fill=WHITE)
    colour = COLOURS["chat"][0] + (255,)
    for x in (360, 512, 664):
        d.ellipse((x - 52, 465 - 52, x + 52, 465 + 52), fill=colour)


def draw_scanner(d: ImageDraw.ImageDraw) -> None:
    """A radar: rings, a sweep and a blip."""
    c = 512
    for r in (340, 220, 100):
        d.ellipse((c - r, c - r, c + r, c + r), outline=WHITE, width=44)
    d.pieslice((c - 340, c - 340, c + 340, c + 340), -90, -30, fill=(255, 255, 255, 150))
    angle = math.radians(-60)
    d.line([(c, c), (c + 340 * math.cos(angle), c + 340 * math.sin(angle))], fill=WHITE,
           width=44)
    d.ellipse((640 - 50, 330 - 50, 640 + 50, 330 + 50), fill=WHITE)


def draw_server(d: ImageDraw.ImageDraw) -> None:
    """Three stacked server units with status lights."""
    colour = COLOURS["server"][0] + (255,)
    for i in range(3):
        y = 230 + i * 200
        d.rounded_rectangle((220, y, 804, y + 160), radius=40, fill=WHITE)
        d.ellipse((300, y + 50, 360, y + 110), fill=(34, 197, 94, 255))
        d.rounded_rectangle((430, y + 65, 720, y + 95), radius=15, fill=colour)


def main() -> None:
    for name, draw in (("netdesk", draw_netdesk), ("echo", draw_echo), ("chat", draw_chat),
                       ("scanner", draw_scanner), ("server", draw_server)):
        img, d = tile(name)
        draw(d)
        scaled = {size: img.resize((size, size), Image.LANCZOS) for size in (*SIZES, 512)}
        for size in SIZES:
            scaled[size].save(HERE / f"{name}-{size}.png", optimize=True)
        scaled[256].save(HERE / f"{name}.ico", sizes=[(s, s) for s in SIZES])
        scaled[512].save(HERE / f"{name}.icns")
        print(f"{name}: {len(SIZES)} PNGs, .ico, .icns")


if __name__ == "__main__":
    main()
