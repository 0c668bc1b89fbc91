//! QR codes of share links, as SVG, so pupils can join from a phone. Pure.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Renders `text` as a standalone SVG QR code, or `None` if it is too long to encode.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_links_and_refuses_huge_input() {
        let svg = super::svg("http://127.0.0.1:8080/p/maths-5b").expect("encodes");
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
        assert!(super::svg(&"x".repeat(10_000)).is_none());
    }
}
