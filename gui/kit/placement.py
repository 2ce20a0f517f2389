"""Where a new window goes: whole on the screen, cascaded from the last one.

Left to itself the window manager puts a new window under the pointer or
below the last one, and a tall window (the panel at 641 px, a chat window
at 192 dpi) then opens with its status bar below the screen's edge. The
window asks for a place instead: its size cut to what the screen can show
(leaving room for the title bar and a panel or taskbar), centred, each
further window a step down and right, and never past an edge.

Pure arithmetic on numbers, so it is tested without a display.
"""

from __future__ import annotations

from dataclasses import dataclass

CASCADE = 6  # windows stepped before the steps start again at the centre


@dataclass(frozen=True)
class Screen:
    width: int
    height: int
    scale: float = 1.0  # pixels per 96-dpi pixel

    def px(self, pixels: float) -> int:
        return round(pixels * self.scale)


def fitted_size(screen: Screen, width: int, height: int) -> tuple[int, int]:
    """``width`` x ``height`` cut to the part of the screen a window can use."""
    margin, chrome = screen.px(8), screen.px(48)  # edges; title bar and a taskbar
    return (max(1, min(width, screen.width - 2 * margin)),
            max(1, min(height, screen.height - chrome - 2 * margin)))


def placed(screen: Screen, width: int, height: int, others: int = 0) -> tuple[int, int, int, int]:
    """(width, height, x, y) for a new window of that size when ``others``
    tool windows are open already: all of it on the screen."""
    width, height = fitted_size(screen, width, height)
    margin, chrome, step = screen.px(8), screen.px(48), screen.px(28)
    shift = (others % CASCADE) * step
    x = (screen.width - width) // 2 + shift
    y = (screen.height - chrome - height) // 3 + shift
    x = max(margin, min(x, screen.width - width - margin))
    y = max(margin, min(y, screen.height - chrome - height - margin))
    return width, height, x, y
