//! Asset URLs for the pages' unit tests. Tests only.

use super::layout::AssetUrls;

/// Versioned asset URLs at the root (no base path).
pub(super) fn assets() -> AssetUrls {
    AssetUrls {
        css: "/assets/app.css?v=1".into(),
        pad_js: "/assets/pad.js?v=1".into(),
        admin_js: "/assets/admin.js?v=1".into(),
        calc_js: "/assets/calc.js?v=1".into(),
        calc_wasm: "/assets/ironcalc.wasm?v=1".into(),
        icon: "/assets/favicon.svg?v=1".into(),
        base: String::new(),
    }
}
