"""QR codes as SVG or PNG: a customer's printed card holds the bare customer code, so any scanner reads the
same thing; a merchant's join poster holds the address of its join page."""

import io

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text, box_size=10, border=2).save(buffer, format="PNG")
    return buffer.getvalue()
